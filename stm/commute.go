package stm

import (
	"reflect"
	"slices"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// Commute updates v in tx with f without reading it: at commit, under v's
// lock, f is applied to v's latest committed value, whatever it is by
// then. So two transactions that only commute v never conflict on it, and
// a hot counter or statistic updated by many transactions stops being the
// place they all abort. Use it when the update commutes, that is when its
// result does not depend on the order in which concurrent updates apply
// (adding to a counter, inserting into a set held by value, taking a
// maximum).
//
// The transaction stays serializable: every Var it read is validated at
// commit as usual, and v is updated as if the whole transaction ran at
// its commit. In tx:
//
//   - Several Commutes of v apply in order.
//   - A later Get (or Modify, Swap) of v turns the pending commutes into an
//     ordinary read of v in tx's snapshot, with f applied to it, so the
//     transaction never sees a value that is not in its snapshot; v then
//     conflicts like any Var read and written.
//   - If tx has already written v (Set), f is applied to that value at once.
//   - A Set of v replaces the pending commutes.
//   - An OrElse alternative that retries drops its commutes; transactions
//     blocked in Retry on v wake when the commit writes it.
//
// f runs while the commit holds its locks: it must be short, must not use
// tx or any Var, and must be a pure function of its argument. If it
// panics, the transaction aborts with nothing written and the panic
// propagates from Atomically. With a func literal that captures nothing
// (or stm.Add for integers), Commute allocates nothing for unboxed T.
func (v *Var[T]) Commute(tx *Tx, f func(T) T) {
	if f == nil {
		panic("stm: Commute called with a nil function")
	}
	if v == nil {
		panicNilVar("Commute")
	}
	tx.commute(v.core(), f, 0, funcApplier[T]{}, (*T)(nil))
}

// Integer is the constraint of Add: the integer types and the types whose
// underlying type is one.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Add adds delta to v in tx, as v.Commute(tx, func(x T) T { return x +
// delta }) would, but without a closure: it allocates nothing. Overflow
// wraps, as Go's + does.
func Add[T Integer](tx *Tx, v *Var[T], delta T) {
	if v == nil {
		panicNilVar("Add")
	}
	tx.commute(v.core(), nil, toBits(delta), adder[T]{}, (*T)(nil))
}

// commuteOp is one pending Commute: its applier computes the new value of
// the Var from its committed value (both as a write entry holds them).
type commuteOp struct {
	idx int32  // the Var's write entry
	arg uint64 // Add's delta
	fn  any    // Commute's func(T) T
	typ any    // a nil *T, for observers
	how applier
}

// applier applies a commute. Its implementations are empty structs: a
// func value of a generic function instantiated inside another generic
// function would be a closure over its dictionary, allocated on each call.
type applier interface {
	apply(op *commuteOp, box unsafe.Pointer, bits uint64) (unsafe.Pointer, uint64)
}

type funcApplier[T any] struct{}

func (funcApplier[T]) apply(op *commuteOp, box unsafe.Pointer, bits uint64) (unsafe.Pointer, uint64) {
	return encode(box, op.fn.(func(T) T)(fromWord[T](box, bits)))
}

type adder[T Integer] struct{}

func (adder[T]) apply(op *commuteOp, box unsafe.Pointer, bits uint64) (unsafe.Pointer, uint64) {
	return encode(box, fromWord[T](box, bits)+fromWord[T](scalarMark, op.arg))
}

// encode returns x as a write entry of a Var whose committed value is box
// holds it.
func encode[T any](box unsafe.Pointer, x T) (unsafe.Pointer, uint64) {
	if box == scalarMark || (box == nil && unboxedType(reflect.TypeFor[T]())) {
		return scalarMark, toBits(x)
	}
	p := new(T)
	*p = x
	return unsafe.Pointer(p), 0
}

// commute records a Commute (or Add) of b.
func (tx *Tx) commute(b *varBase, fn any, arg uint64, how applier, typ any) {
	tx.checkWritable()
	i := tx.findWrite(b)
	if i >= 0 && !tx.writes[i].pending {
		// tx wrote b itself: its value is known, so apply now.
		w := &tx.writes[i]
		op := commuteOp{arg: arg, fn: fn, how: how}
		box, bits := how.apply(&op, w.box, w.bits)
		tx.sets++
		if o := hook.Current(); o != nil {
			o.Write(tx, unsafe.Pointer(b), anyOf(typ, box, bits))
		}
		if box == scalarMark {
			tx.writeBits(b, bits)
		} else {
			tx.write(i, b, box)
		}
		return
	}
	if i < 0 {
		tx.appendWrite(b, nil, 0)
		i = len(tx.writes) - 1
		tx.writes[i].pending = true
	}
	n := len(tx.commutes)
	if n == cap(tx.commutes) {
		tx.commutes = slices.Grow(tx.commutes, 1)
	}
	tx.commutes = tx.commutes[:n+1]
	op := &tx.commutes[n]
	op.idx, op.arg, op.fn, op.typ, op.how = int32(i), arg, fn, typ, how
}

// resolveCommutes turns the pending commutes of write entry i (Var b) into
// an ordinary read of b and write of the result: the transaction is about
// to read b.
func (tx *Tx) resolveCommutes(i int, b *varBase, typ any) {
	// Read b as if tx had not written it: hide its entry from findWrite
	// (an abort in read resets the log anyway). read logs the read and
	// reports it to an observer.
	tx.writes[i].v = nil
	p := tx.read(b, typ)
	tx.writes[i].v = b
	box, bits := p, uint64(0) // a boxed value
	switch p {
	case unsafe.Pointer(&tx.scratch):
		box, bits = scalarMark, tx.scratch
	case unsafe.Pointer(&zeroes):
		box = nil // a zero Var never written
	}
	for k := range tx.commutes {
		if op := &tx.commutes[k]; int(op.idx) == i {
			box, bits = op.how.apply(op, box, bits)
		}
	}
	if !tx.ownsBox(i) {
		tx.saveUndo(i)
	}
	w := &tx.writes[i]
	w.box, w.bits, w.epoch, w.pending = box, bits, tx.epoch, false
	tx.sets++
	if o := hook.Current(); o != nil {
		o.Write(tx, unsafe.Pointer(b), anyOf(typ, box, bits))
	}
}

// applyCommutes computes the value of every write entry with pending
// commutes from its Var's committed value. The caller holds every write
// lock; if a commute function panics, they are released (unchanged) and
// the panic goes on.
func (tx *Tx) applyCommutes() {
	done := false
	defer func() {
		if !done {
			tx.unlock(len(tx.writes))
		}
	}()
	tx.applyCommutesLocked()
	done = true
}

// applyCommutesLocked applies the pending commutes to the values
// lockWithCommutes loaded into their write entries.
func (tx *Tx) applyCommutesLocked() {
	o := hook.Current()
	var olds []writeEntry
	if o != nil {
		for i := range tx.writes {
			if tx.writes[i].pending {
				olds = append(olds, tx.writes[i])
			}
		}
	}
	for k := range tx.commutes {
		op := &tx.commutes[k]
		if w := &tx.writes[op.idx]; w.pending {
			w.box, w.bits = op.how.apply(op, w.box, w.bits)
		}
	}
	if o != nil {
		typs := make(map[*varBase]any)
		for k := range tx.commutes {
			typs[tx.writes[tx.commutes[k].idx].v] = tx.commutes[k].typ
		}
		for _, old := range olds {
			w := &tx.writes[tx.findWrite(old.v)]
			typ := typs[old.v]
			o.Commuted(tx, unsafe.Pointer(old.v), old.old>>verShift, anyOf(typ, old.box, old.bits), anyOf(typ, w.box, w.bits))
		}
	}
}
