package stm

import (
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// varBase is the untyped part of a Var: everything the commit protocol needs.
// The typed Var[T] only adds the conversion of the published box to T.
type varBase struct {
	// meta is version<<1 | locked. It never holds a pointer, so the garbage
	// collector needs no help; the owner of a lock is found in its write log.
	meta atomic.Uint64
	// val points to an immutable box holding the committed value (a *T), or
	// is nil for a zero Var. Boxes are replaced, never mutated, so a reader
	// that loads the pointer can copy the value without a data race.
	val unsafe.Pointer
	// waiters is nil until a transaction first blocks in Retry on this Var,
	// so a commit where nobody ever waited pays one atomic load.
	waiters atomic.Pointer[waitQueue]
}

// Var is a transactional variable holding a value of type T.
//
// Read and write it inside a transaction with Get, Set, Modify and Swap;
// outside one, Load and Store are single-Var transactions. The zero Var is
// usable and holds the zero T. A Var must not be copied after first use.
type Var[T any] struct {
	_    noCopy
	base varBase
}

// NewVar returns a new Var holding v.
func NewVar[T any](v T) *Var[T] {
	x := &Var[T]{}
	box := new(T)
	*box = v
	x.base.val = unsafe.Pointer(box)
	return x
}

// Get returns the value of v in the transaction tx: the value tx wrote last,
// or else the committed value in tx's snapshot.
func (v *Var[T]) Get(tx *Tx) T {
	if v == nil {
		panic("stm: Get called on a nil *Var")
	}
	var x T
	if p := tx.read(&v.base); p != nil {
		x = *(*T)(p)
	}
	if o := hook.Current(); o != nil {
		tx.observeRead(o, &v.base, x)
	}
	return x
}

// Set writes x to v in the transaction tx. The write is buffered: other
// goroutines see it only after tx commits, and never if it aborts.
func (v *Var[T]) Set(tx *Tx, x T) {
	if v == nil {
		panic("stm: Set called on a nil *Var")
	}
	tx.checkWritable()
	tx.sets++
	if o := hook.Current(); o != nil {
		o.Write(tx, unsafe.Pointer(&v.base), x)
	}
	i := tx.findWrite(&v.base)
	if i >= 0 && tx.ownsBox(i) {
		// This attempt allocated the box and nobody else can see it yet:
		// overwrite it in place instead of allocating again.
		*(*T)(tx.writes[i].box) = x
		return
	}
	box := new(T)
	*box = x
	tx.write(i, &v.base, unsafe.Pointer(box))
}

// Modify replaces the value of v in tx with f applied to it.
func (v *Var[T]) Modify(tx *Tx, f func(T) T) {
	v.Set(tx, f(v.Get(tx)))
}

// Swap writes x to v in tx and returns the value it replaced.
func (v *Var[T]) Swap(tx *Tx, x T) T {
	old := v.Get(tx)
	v.Set(tx, x)
	return old
}

// Load returns the committed value of v without a transaction. It is a
// consistent, linearizable read of this one Var; reading several Vars with
// Load does not give a consistent snapshot of them (use a transaction).
func (v *Var[T]) Load() T {
	if v == nil {
		panic("stm: Load called on a nil *Var")
	}
	p, _ := v.base.load()
	if p == nil {
		var zero T
		return zero
	}
	return *(*T)(p)
}

// Store sets v to x in a transaction of its own: the write gets a new
// version and wakes transactions blocked in Retry on v. Store must not be
// called inside a transaction body (use Set): it would commit on its own,
// outside the transaction, and can deadlock against an irrevocable
// transaction.
func (v *Var[T]) Store(x T) {
	if v == nil {
		panic("stm: Store called on a nil *Var")
	}
	box := new(T)
	*box = x
	storeBox(&v.base, unsafe.Pointer(box))
}

// load returns the committed box of b and its version, waiting out a commit
// that holds b's lock so that the value read is never ahead of a commit
// still writing back other Vars.
func (b *varBase) load() (unsafe.Pointer, uint64) {
	for spins := 0; ; spins++ {
		m1 := b.meta.Load()
		if m1&locked == 0 {
			p := atomic.LoadPointer(&b.val)
			if b.meta.Load() == m1 {
				return p, m1 >> 1
			}
		}
		pause(spins)
	}
}

// noCopy makes go vet's copylocks check flag copies of a Var.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
