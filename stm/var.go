package stm

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// varBase is the untyped part of a Var: everything the commit protocol needs.
// The typed Var[T] only adds the conversion of the published value to T.
//
// It is three words, whatever T is: a Var that grows makes every large read
// set slower (a 1024-Var audit walks 1024 of them). A value is published in
// one of two ways, chosen by T:
//
//   - boxed: val points to an immutable box holding the value (a *T), or is
//     nil for a zero Var. Boxes are replaced, never mutated, so a reader that
//     loads the pointer can copy the value without a data race, whatever
//     T's size.
//   - unboxed, for pointer-free types of at most 8 bytes (integers, floats,
//     bools and small named types of them): bits holds the value and val is
//     scalarMark. A write then allocates nothing. Readers load bits between
//     two loads of meta, like any read, so they never see a torn pair.
//
// Waiters blocked in Retry are not kept in the Var (that would take a
// fourth word) but in a table keyed by the Var, and meta's waitBit tells a
// committer to look there; see wait.go.
type varBase struct {
	// meta is version<<verShift | scalarBit | histBit | waitBit | locked. It never
	// holds a pointer, so the garbage collector needs no help; the owner of
	// a lock is found in its write log.
	meta atomic.Uint64
	val  unsafe.Pointer
	bits atomic.Uint64
}

// The bits of a Var's meta word.
const (
	locked   = 1 // a commit is writing the Var back
	waitBit  = 2 // a transaction may be blocked in Retry on the Var
	verShift = 4 // the version sits above the four flags (histBit, scalarBit: history.go)
)

// scalarMarker's address marks an unboxed Var (see varBase). No heap box
// can have the same address.
var scalarMarker byte

// scalarMark is the val of an unboxed Var.
var scalarMark = unsafe.Pointer(&scalarMarker)

// Var is a transactional variable holding a value of type T.
//
// Read and write it inside a transaction with Get, Set, Modify and Swap;
// outside one, Load and Store are single-Var transactions. The zero Var is
// usable and holds the zero T. A Var must not be copied after first use.
//
// A Var is three machine words. Values of pointer-free types of at most 8
// bytes (int, uint64, float64, bool, time.Duration, ...) are stored in the
// Var itself, so writing them allocates nothing; values of other types are
// published as an immutable copy (one allocation per written Var per
// transaction).
type Var[T any] struct {
	_    noCopy
	base varBase
}

// NewVar returns a new Var holding v.
func NewVar[T any](v T) *Var[T] {
	x := &Var[T]{}
	if unboxedType(reflect.TypeFor[T]()) {
		x.base.val = scalarMark
		x.base.bits.Store(toBits(v))
		return x
	}
	box := new(T)
	*box = v
	x.base.val = unsafe.Pointer(box)
	return x
}

// Get returns the value of v in the transaction tx: the value tx wrote last,
// or else the committed value in tx's snapshot.
func (v *Var[T]) Get(tx *Tx) T {
	// v.core, not &v.base: read reports a nil v by name, where taking the
	// field's address would fault first.
	return *(*T)(tx.read(v.core(), (*T)(nil)))
}

// core returns v's untyped part, which is at offset 0, without the nil
// check that &v.base makes.
func (v *Var[T]) core() *varBase {
	return (*varBase)(unsafe.Pointer(v))
}

// Set writes x to v in the transaction tx. The write is buffered: other
// goroutines see it only after tx commits, and never if it aborts.
func (v *Var[T]) Set(tx *Tx, x T) {
	if unsafe.Sizeof(x) <= 8 && tx.setBits(v.core(), toBits(x), (*T)(nil)) {
		return
	}
	v.setBoxed(tx, x)
}

// setBoxed is Set for a Var whose values are boxed.
func (v *Var[T]) setBoxed(tx *Tx, x T) {
	if v == nil {
		panicNilVar("Set")
	}
	tx.checkWritable()
	tx.sets++
	if o := hook.Current(); o != nil {
		o.Write(tx, unsafe.Pointer(&v.base), x)
	}
	i := tx.findWrite(&v.base)
	if i >= 0 && tx.ownsBox(i) && !tx.writes[i].pending && tx.writes[i].box != scalarMark {
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
	if f == nil {
		panic("stm: Modify called with a nil function")
	}
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
		panicNilVar("Load")
	}
	p, bits, _ := v.base.load()
	return fromWord[T](p, bits)
}

// Store sets v to x in a transaction of its own: the write gets a new
// version and wakes transactions blocked in Retry on v. Store must not be
// called inside a transaction body (use Set): it would commit on its own,
// outside the transaction, and can deadlock against an irrevocable
// transaction.
func (v *Var[T]) Store(x T) {
	if v == nil {
		panicNilVar("Store")
	}
	if v.isUnboxed() {
		store(&v.base, scalarMark, toBits(x))
		return
	}
	box := new(T)
	*box = x
	store(&v.base, unsafe.Pointer(box), 0)
}

// isUnboxed reports whether v stores its value in its bits word. A Var
// written before knows from its val; only a zero Var never written asks
// the type.
func (v *Var[T]) isUnboxed() bool {
	switch atomic.LoadPointer(&v.base.val) {
	case scalarMark:
		return true
	case nil:
		return unboxedType(reflect.TypeFor[T]())
	}
	return v.base.unboxedNow(reflect.TypeFor[T]())
}

func panicNilVar(op string) {
	panic("stm: " + op + " called on a nil *Var")
}

// load returns the committed value of b (as fromWord takes it) and its
// version, waiting out a commit that holds b's lock so that the value read
// is never ahead of a commit still writing back other Vars.
func (b *varBase) load() (unsafe.Pointer, uint64, uint64) {
	p, bits, m := b.loadWord()
	p, bits = current(m, p, bits)
	return p, bits, m >> verShift
}

// loadWord returns a consistent triple of b's val, bits and unlocked meta
// word, waiting out a commit that holds b's lock.
func (b *varBase) loadWord() (unsafe.Pointer, uint64, uint64) {
	for spins := 0; ; spins++ {
		m1 := b.meta.Load()
		if m1&locked == 0 {
			p := atomic.LoadPointer(&b.val)
			bits := b.bits.Load()
			if b.meta.Load() == m1 {
				return p, bits, m1
			}
		}
		pause(spins)
	}
}

// unboxedNow reports whether b, whose val was neither scalarMark nor nil
// when last loaded (a box, or a node while it keeps history), holds
// unboxed values. It decides on a consistent reading of val and meta: a
// commit switching the Var into or out of keeping history changes val
// before meta, and a guess from val alone, or from meta alone, could take
// an unboxed Var for a boxed one. typ is the Var's T, for a Var never
// written.
func (b *varBase) unboxedNow(typ reflect.Type) bool {
	p, _, m := b.loadWord()
	switch {
	case p == scalarMark:
		return true
	case m&histBit != 0:
		return m&scalarBit != 0
	case p == nil:
		return unboxedType(typ)
	}
	return false
}

// noCopy makes go vet's copylocks check flag copies of a Var.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
