package stm

import (
	"reflect"
	"slices"
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// Tx is a transaction in progress. A *Tx is valid only inside the body it
// was passed to, on the goroutine running that body: keep it out of other
// goroutines and do not keep it after the body returns.
type Tx struct {
	rv       uint64       // read version: the snapshot every read is consistent with
	wv       uint64       // write version of the last commit, for observers
	reads    []readEntry  // duplicates allowed: checking for them costs more than it saves
	writes   []writeEntry // at most one entry per Var
	bloom    uint64       // one bit per written Var: a cheap "not written" answer
	index    writeIndex   // finds a Var's write entry once the write set is large
	undo     []undoEntry  // values replaced inside an OrElse branch, to restore if it retries
	hooks    []func()
	commutes []commuteOp // pending Commutes, in call order

	sets     int          // Set calls in this attempt, so observers can follow OrElse rollbacks
	branches []checkpoint // the open OrElse branches' checkpoints, innermost last
	epoch    uint32       // the innermost open branch's number: boxes of this epoch are private to it
	epochs   uint32       // branches numbered so far in this attempt

	state       txState
	cause       abortCause // why the attempt aborted, when state is txAborted
	irrevocable bool
	reexecuted  bool   // GOSTMDEBUG=reexec ran the body once already
	nilPanic    bool   // an OrElse alternative panicked with nil (or called Goexit)
	view        bool   // a View: reads only, from its snapshot, and keeps no read log
	registered  bool   // a registered snapshot reader (history.go)
	past        bool   // this attempt has read a version older than the newest
	noPast      bool   // this transaction writes after reading: its attempts read no past versions
	recorded    bool   // a registered reader whose snapshot is in snapshots (history.go)
	until0      uint64 // history.until, loaded before rv (history.go)
	waiter      *waiter
	goid        int64  // the goroutine running the body; set only in debug modes
	ops         uint32 // operations in this attempt; counted only with owner checks on
	rng         uint64
	slot        uint32 // the slot owning this Tx, or fromPool
	big         bool   // a slot's Tx counted in bigKept
	scratch     uint64 // the unboxed value read returns a pointer to
}

type txState uint8

const (
	txIdle     txState = iota // between transactions, in the pool
	txRunning                 // a body is running
	txAborted                 // this attempt hit a conflict; it is being unwound
	txRetrying                // the body called Retry; it is being unwound
)

type readEntry struct {
	v   *varBase
	ver uint64
}

// writeEntry is one Var's buffered write: box and bits as the Var will
// publish them (box is a *T nobody else sees until commit, or scalarMark
// with the value in bits).
type writeEntry struct {
	v       *varBase
	box     unsafe.Pointer
	bits    uint64
	old     uint64 // meta before this commit locked it
	epoch   uint32 // the branch that allocated box (or last wrote bits)
	pending bool   // box and bits are computed at commit by the Var's commutes (commute.go)
	held    bool   // locked by lockWithCommutes
}

type undoEntry struct {
	idx     int32
	epoch   uint32
	box     unsafe.Pointer
	bits    uint64
	pending bool
}

// reset clears the logs for a new attempt, dropping the pointers they hold
// so that a pooled Tx does not keep Vars or values alive.
func (tx *Tx) reset() {
	// Plain loops rather than clear(): for the few entries of a typical
	// transaction they beat memclrHasPointers and its bulk write barrier.
	for i := range tx.reads {
		tx.reads[i].v = nil
	}
	tx.reads = tx.reads[:0]
	for i := range tx.writes {
		tx.writes[i].v, tx.writes[i].box = nil, nil
	}
	tx.writes = tx.writes[:0]
	if len(tx.undo) > 0 {
		clear(tx.undo)
		tx.undo = tx.undo[:0]
	}
	if len(tx.hooks) > 0 {
		clear(tx.hooks)
		tx.hooks = tx.hooks[:0]
	}
	if len(tx.commutes) > 0 {
		clear(tx.commutes)
		tx.commutes = tx.commutes[:0]
	}
	tx.bloom = 0
	tx.nilPanic = false
	tx.past = false
	tx.index.reset()
	tx.ops = 0
	tx.branches = tx.branches[:0]
	tx.epoch, tx.epochs = 0, 0
	tx.sets = 0
}

// checkUsable panics unless tx may be used for a read or write now. The
// common case is one comparison, so that it inlines.
func (tx *Tx) checkUsable() {
	if tx == nil || tx.state != txRunning || debugOwner {
		tx.checkUsableSlow()
	}
}

func (tx *Tx) checkUsableSlow() {
	if tx == nil {
		panic("stm: nil *Tx: Get and Set need the transaction passed to the body (outside a transaction use Load and Store)")
	}
	switch tx.state {
	case txRunning:
	case txAborted, txRetrying:
		// The body recovered our control-flow panic and carried on: keep
		// unwinding rather than let it act on a dead attempt.
		panic(tx.state.signal())
	default:
		panic("stm: Tx used after its transaction ended: a *Tx is valid only inside the body it was passed to")
	}
	if debugOwner {
		tx.ops++
		if tx.ops == 1 || tx.ops%64 == 0 {
			debugCheckOwner(tx)
		}
	}
}

// checkWritable is checkUsable for operations that change the log: with
// owner checks on they always check the goroutine.
func (tx *Tx) checkWritable() {
	if tx == nil || tx.state != txRunning || debugOwner {
		tx.checkWritableSlow()
	}
}

func (tx *Tx) checkWritableSlow() {
	tx.checkUsableSlow()
	if debugOwner && tx.ops != 1 && tx.ops%64 != 0 {
		debugCheckOwner(tx)
	}
}

// read is Var.Get, untyped: it returns a pointer to the value of b as seen
// by tx, and logs the read. It does all of Get's work, so that Get itself
// (a call and a copy) is small enough to inline into the body. typ is a
// nil *T: it names T, for an observer (stmtest's recorder) and for a zero
// Var never written, at the cost of two words.
//
// The pointer is valid until tx's next operation: it may point into the
// write log, or to tx.scratch for an unboxed value.
func (tx *Tx) read(b *varBase, typ any) unsafe.Pointer {
	if b == nil {
		panicNilVar("Get")
	}
	tx.checkUsable()
	if tx.bloom != 0 {
		if i := tx.findWrite(b); i >= 0 {
			if tx.writes[i].pending {
				tx.resolveCommutes(i, b, typ)
			}
			w := &tx.writes[i]
			if o := hook.Current(); o != nil {
				o.Read(tx, unsafe.Pointer(b), 0, true, anyOf(typ, w.box, w.bits))
			}
			if w.box == scalarMark {
				return unsafe.Pointer(&w.bits)
			}
			return w.box
		}
	}
	for spins := 0; ; spins++ {
		m1 := b.meta.Load()
		if m1&locked != 0 {
			// A commit is writing b back; it is short and never blocks,
			// so wait a little rather than abort at once. A transaction
			// that has written nothing waits it out however long it takes
			// (it holds no lock, so nothing waits for it): it can read the
			// version of its snapshot afterwards, where an abort would
			// throw away everything it has read.
			if spins < lockWaitSpins || tx.irrevocable || len(tx.writes) == 0 {
				pause(spins)
				continue
			}
			tx.abort(causeLockedRead)
		}
		p := atomic.LoadPointer(&b.val)
		bits := b.bits.Load()
		if b.meta.Load() != m1 {
			continue
		}
		ver := m1 >> verShift
		if ver > tx.rv || m1&histBit != 0 {
			if ver <= tx.rv && m1&scalarBit != 0 {
				p = scalarMark // the newest value is in bits: no node to load
			} else {
				var again bool
				if p, bits, ver, again = tx.readPast(m1, p, bits); again {
					continue
				}
			}
		}
		if !tx.view {
			n := len(tx.reads)
			if n == cap(tx.reads) {
				tx.reads = slices.Grow(tx.reads, 1)
			}
			tx.reads = tx.reads[:n+1]
			tx.reads[n].v, tx.reads[n].ver = b, ver // field by field, as appendWrite does
			if n == extendFirstReads && len(tx.writes) == 0 {
				tx.registerIfCovered()
			}
		}
		if o := hook.Current(); o != nil {
			o.Read(tx, unsafe.Pointer(b), ver, false, anyOf(typ, p, bits))
		}
		switch p {
		case scalarMark:
			tx.scratch = bits
			return unsafe.Pointer(&tx.scratch)
		case nil:
			return zeroOf(typ)
		}
		return p
	}
}

// readPast is read's slow path, for a Var that keeps history (m, p and
// bits are a consistent reading of it), one changed after tx's snapshot,
// or a read of a View. It returns the value to read and its version, or
// again if read must load the Var anew (tx's snapshot moved forward).
//
// A Var changed after the snapshot is handled in this order: a transaction
// that has written nothing and already reads in the past, runs as a
// registered snapshot reader, or has read more than extendFirstReads Vars,
// reads the version of its snapshot from the Var's history; any other
// extends its snapshot if every read so far is still current (cheap for a
// short transaction, and its reads then stay current for the writes it may
// make); failing that, a transaction that has written nothing reads from
// the history; failing that, it aborts.
func (tx *Tx) readPast(m uint64, p unsafe.Pointer, bits uint64) (unsafe.Pointer, uint64, uint64, bool) {
	ver := m >> verShift
	if ver <= tx.rv || hook.On(hook.AcceptNewerReads) {
		p, bits = current(m, p, bits)
		return p, bits, ver, false
	}
	pastOK := len(tx.writes) == 0 && !tx.noPast
	long := len(tx.reads) > extendFirstReads
	if pastOK && long && !tx.registered {
		// A long reader meets a writer: keep history (on), so that this
		// reader's next attempt, or the next such reader, finds the
		// versions it needs.
		extendHistory()
	}
	preferPast := tx.past || tx.registered || (m&histBit != 0 && long)
	if !(pastOK && preferPast) && tx.extend() {
		return nil, 0, 0, true
	}
	if pastOK && m&histBit != 0 {
		if n := versionAt(node(p), tx.rv); n != nil {
			if !tx.past {
				tx.past = true
				if !tx.registered {
					// Keep history on from now, and keep what this
					// snapshot needs.
					tx.registerSnapshot()
					tx.recordSnapshot(false)
				}
			}
			return n.box, n.bits, n.ver, false
		}
		historyMiss()
	}
	if tx.view || tx.past {
		tx.abort(causeHistoryGone)
	}
	tx.abort(causeExtend)
	panic("unreachable")
}

// extendFirstReads is the size of read set up to which a transaction that
// has written nothing tries to extend its snapshot before reading an old
// version: validating a few reads is cheap, and reads that stay current
// let the transaction write later. Past it, each extension would cost a
// walk over the reads, and a long reader would be stuck at that.
const extendFirstReads = 32

// lockWaitSpins bounds how long a read of a transaction that has written
// waits for a Var locked by a commit, yielding after the first few spins:
// a commit may be held up by its goroutine's preemption (common when
// goroutines outnumber cores), and an abort would find the same lock on
// the next attempt. Waiting cannot deadlock, since a body holds no lock.
const lockWaitSpins = 1024

// extend re-validates the read set against the current clock and, if every
// read is still current, moves the snapshot there (LSA's timestamp
// extension). Reads stay consistent: they are all valid at the new rv.
func (tx *Tx) extend() bool {
	now := clock.v.Load() >> 1
	if !tx.readsCurrent() {
		return false
	}
	tx.rv = now
	return true
}

// readsCurrent reports whether every logged read still holds the version
// it read and is not locked by a commit. A waiter's flag does not matter.
func (tx *Tx) readsCurrent() bool {
	for i := range tx.reads {
		r := &tx.reads[i]
		if r.v.meta.Load()&^(waitBit|histBit|scalarBit) != r.ver<<verShift {
			return false
		}
	}
	return true
}

// findWrite returns the index of b's entry in the write log, or -1.
func (tx *Tx) findWrite(b *varBase) int {
	if tx.bloom&bloomBit(b) == 0 {
		return -1
	}
	if tx.index.on {
		return tx.index.find(b, tx.writes)
	}
	for i := len(tx.writes) - 1; i >= 0; i-- {
		if tx.writes[i].v == b {
			return i
		}
	}
	return -1
}

// bloomBit hashes the Var's address. Go's heap objects do not move, and a
// Var used in a transaction is always on the heap: the logs keep pointers
// to it, so escape analysis cannot leave it on a stack.
func bloomBit(b *varBase) uint64 {
	return 1 << (uint64(uintptr(unsafe.Pointer(b))) * 0x9E3779B97F4A7C15 >> 58)
}

// ownsBox reports whether the box of write entry i was allocated inside the
// innermost open OrElse branch (or outside any), so that it may be
// overwritten in place without breaking that branch's rollback.
func (tx *Tx) ownsBox(i int) bool {
	return len(tx.branches) == 0 || tx.writes[i].epoch == tx.epoch
}

// write records box as the new value of b, whose write-log index is i (-1
// if b is not written yet).
func (tx *Tx) write(i int, b *varBase, box unsafe.Pointer) {
	if i >= 0 {
		// Written before the innermost open OrElse branch: keep the old box
		// so the branch can be rolled back.
		tx.saveUndo(i)
		w := &tx.writes[i]
		w.box, w.epoch, w.pending = box, tx.epoch, false
		return
	}
	tx.appendWrite(b, box, 0)
}

// setBits is Var.Set for a Var whose values are unboxed, untyped (typ is
// a nil *T): one call from Set for the whole write. It reports false,
// having done nothing, if the Var's values are boxed.
func (tx *Tx) setBits(b *varBase, bits uint64, typ any) bool {
	if b == nil {
		panicNilVar("Set")
	}
	switch atomic.LoadPointer(&b.val) {
	case scalarMark:
	case nil:
		if !unboxedType(reflect.TypeOf(typ).Elem()) {
			return false
		}
	default:
		if !b.unboxedNow(reflect.TypeOf(typ).Elem()) {
			return false
		}
	}
	tx.checkWritable()
	tx.sets++
	if o := hook.Current(); o != nil {
		o.Write(tx, unsafe.Pointer(b), anyOf(typ, scalarMark, bits))
	}
	tx.writeBits(b, bits)
	return true
}

// writeBits records bits as the new value of the unboxed Var b.
func (tx *Tx) writeBits(b *varBase, bits uint64) {
	i := -1
	if tx.bloom&bloomBit(b) != 0 {
		i = tx.findWrite(b)
	}
	if i < 0 {
		tx.appendWrite(b, scalarMark, bits)
		return
	}
	if !tx.ownsBox(i) {
		tx.saveUndo(i)
	}
	w := &tx.writes[i]
	w.box, w.bits, w.epoch, w.pending = scalarMark, bits, tx.epoch, false
}

// saveUndo keeps the value of write entry i, written before the innermost
// open OrElse branch, so that the branch can be rolled back.
func (tx *Tx) saveUndo(i int) {
	w := &tx.writes[i]
	tx.undo = append(tx.undo, undoEntry{idx: int32(i), epoch: w.epoch, box: w.box, bits: w.bits, pending: w.pending})
}

// appendWrite adds b's entry to the write log. It fills the new entry field
// by field: an entry passed by value went through the stack, and the copy
// read it back before the stores had landed (a store-forwarding stall that
// cost more than the rest of the append).
func (tx *Tx) appendWrite(b *varBase, box unsafe.Pointer, bits uint64) {
	n := len(tx.writes)
	if n == 0 && (tx.past || tx.view) {
		tx.firstWriteInPast()
	}
	if n == cap(tx.writes) {
		tx.writes = slices.Grow(tx.writes, 1)
	}
	tx.writes = tx.writes[:n+1]
	w := &tx.writes[n]
	w.v, w.box, w.bits, w.old, w.epoch, w.pending, w.held = b, box, bits, 0, tx.epoch, false, false
	tx.bloom |= bloomBit(b)
	if tx.index.on {
		tx.index.add(b, n, tx.writes)
	} else if n+1 > indexAbove {
		tx.index.build(tx.writes)
	}
}

// firstWriteInPast stops the first write of a View, or of an attempt that
// has read versions older than the newest: such an attempt cannot commit
// (its reads are not current), so it aborts now, and the transaction's
// next attempts read no past versions.
func (tx *Tx) firstWriteInPast() {
	if tx.view {
		panic(viewWrite)
	}
	tx.noPast = true
	tx.abort(causePastWrite)
}

// viewWrite is the panic of a write inside View.
const viewWrite = "stm: Set, Modify, Swap or Commute called inside View: a View only reads; use Atomically to write"

// AfterCommit registers f to run after tx commits, on the committing
// goroutine, once. Hooks run in registration order and never for an
// attempt that aborts, retries or returns an error (nor for an OrElse
// branch that retried). They are the place for I/O and other side effects.
// A hook may start new transactions. If a hook panics, the panic
// propagates from Atomically (the transaction has committed) and later
// hooks do not run.
func (tx *Tx) AfterCommit(f func()) {
	if f == nil {
		panic("stm: AfterCommit called with a nil function")
	}
	tx.checkWritable()
	tx.hooks = append(tx.hooks, f)
}
