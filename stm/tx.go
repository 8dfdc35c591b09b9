package stm

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// Tx is a transaction in progress. A *Tx is valid only inside the body it
// was passed to, on the goroutine running that body: keep it out of other
// goroutines and do not keep it after the body returns.
type Tx struct {
	rv     uint64       // read version: the snapshot every read is consistent with
	wv     uint64       // write version of the last commit, for observers
	reads  []readEntry  // duplicates allowed: checking for them costs more than it saves
	writes []writeEntry // at most one entry per Var
	bloom  uint64       // one bit per written Var: a cheap "not written" answer
	index  map[*varBase]int32
	undo   []undoEntry // boxes replaced inside an OrElse branch, to restore if it retries
	hooks  []func()

	sets    int    // Set calls in this attempt, so observers can follow OrElse rollbacks
	orDepth int    // OrElse branches entered and not yet left
	epoch   uint32 // the innermost open branch's number: boxes of this epoch are private to it
	epochs  uint32 // branches numbered so far in this attempt

	state       txState
	cause       abortCause // why the attempt aborted, when state is txAborted
	irrevocable bool
	waiter      *waiter
	goid        int64  // the goroutine running the body; set only in debug modes
	ops         uint32 // operations in this attempt; counted only with owner checks on
	rng         uint64
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

type writeEntry struct {
	v     *varBase
	box   unsafe.Pointer // a *T nobody else sees until commit
	old   uint64         // meta before this commit locked it
	epoch uint32         // the branch that allocated box
}

type undoEntry struct {
	idx   int32
	epoch uint32
	box   unsafe.Pointer
}

// indexAbove is the write-set size beyond which lookups use a map instead
// of a Bloom-filtered linear scan.
const indexAbove = 32

var txPool = sync.Pool{New: func() any { return &Tx{rng: seedRand()} }}

var seedCounter atomic.Uint64

func seedRand() uint64 { return seedCounter.Add(0x9E3779B97F4A7C15) | 1 }

func getTx() *Tx {
	if debugOwner {
		// Never reuse a Tx in debug mode, so a Tx kept past its transaction
		// is always recognised as ended.
		return &Tx{rng: seedRand()}
	}
	return txPool.Get().(*Tx)
}

func putTx(tx *Tx) {
	tx.reset()
	tx.state = txIdle
	if debugOwner {
		return
	}
	// Do not let the pool pin huge logs from a rare giant transaction.
	if cap(tx.reads) > 1<<12 {
		tx.reads = nil
	}
	if cap(tx.writes) > 1<<10 {
		tx.writes, tx.undo = nil, nil
	}
	txPool.Put(tx)
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
	tx.bloom = 0
	tx.index = nil
	tx.ops = 0
	tx.orDepth, tx.epoch, tx.epochs = 0, 0, 0
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
	tx.checkUsable()
	if debugOwner && tx.ops != 1 && tx.ops%64 != 0 {
		debugCheckOwner(tx)
	}
}

// read returns the box of b as seen by tx, logging the read.
func (tx *Tx) read(b *varBase) unsafe.Pointer {
	tx.checkUsable()
	if len(tx.writes) > 0 {
		if i := tx.findWrite(b); i >= 0 {
			return tx.writes[i].box
		}
	}
	for spins := 0; ; spins++ {
		m1 := b.meta.Load()
		if m1&locked != 0 {
			// A commit is writing b back; it is short and never blocks,
			// so wait a little rather than abort at once.
			if spins < lockWaitSpins || tx.irrevocable {
				pause(spins)
				continue
			}
			tx.abort(causeLockedRead)
		}
		p := atomic.LoadPointer(&b.val)
		if b.meta.Load() != m1 {
			continue
		}
		if ver := m1 >> 1; ver > tx.rv && !hook.On(hook.AcceptNewerReads) {
			// b changed after our snapshot: move the snapshot forward if
			// nothing read so far has changed, then read b again.
			if !tx.extend() {
				tx.abort(causeExtend)
			}
			continue
		}
		tx.reads = append(tx.reads, readEntry{b, m1 >> 1})
		return p
	}
}

// lockWaitSpins bounds how long a read waits for a Var locked by a commit.
const lockWaitSpins = 32

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
// it read and is not locked by a commit.
func (tx *Tx) readsCurrent() bool {
	for i := range tx.reads {
		r := &tx.reads[i]
		if r.v.meta.Load() != r.ver<<1 {
			return false
		}
	}
	return true
}

// findWrite returns the index of b's entry in the write log, or -1.
func (tx *Tx) findWrite(b *varBase) int {
	if tx.index != nil {
		if i, ok := tx.index[b]; ok {
			return int(i)
		}
		return -1
	}
	if tx.bloom&bloomBit(b) == 0 {
		return -1
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
	return tx.orDepth == 0 || tx.writes[i].epoch == tx.epoch
}

// write records box as the new value of b, whose write-log index is i (-1
// if b is not written yet).
func (tx *Tx) write(i int, b *varBase, box unsafe.Pointer) {
	if i >= 0 {
		// Written before the innermost open OrElse branch: keep the old box
		// so the branch can be rolled back.
		w := &tx.writes[i]
		tx.undo = append(tx.undo, undoEntry{idx: int32(i), epoch: w.epoch, box: w.box})
		w.box, w.epoch = box, tx.epoch
		return
	}
	tx.writes = append(tx.writes, writeEntry{v: b, box: box, epoch: tx.epoch})
	tx.bloom |= bloomBit(b)
	if tx.index != nil {
		tx.index[b] = int32(len(tx.writes) - 1)
	} else if len(tx.writes) > indexAbove {
		tx.index = make(map[*varBase]int32, 2*len(tx.writes))
		for i := range tx.writes {
			tx.index[tx.writes[i].v] = int32(i)
		}
	}
}

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

// observeRead reports the read of b just made to the observer.
func (tx *Tx) observeRead(o hook.Observer, b *varBase, value any) {
	if i := tx.findWrite(b); i >= 0 {
		o.Read(tx, unsafe.Pointer(b), 0, true, value)
		return
	}
	// The read was logged last (duplicates are logged too).
	o.Read(tx, unsafe.Pointer(b), tx.reads[len(tx.reads)-1].ver, false, value)
}
