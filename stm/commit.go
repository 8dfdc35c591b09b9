package stm

import (
	"cmp"
	"runtime"
	"slices"
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// commit makes the writes of a successful attempt visible, or reports a
// conflict. It never blocks: a lock it cannot take after a short spin
// aborts the attempt instead, because the holder may be a preempted
// goroutine and waiting while holding our own locks could deadlock.
func (tx *Tx) commit() (ok bool, cause abortCause) {
	if len(tx.writes) == 0 {
		// Every read was valid at rv, which is the serialization point.
		return true, 0
	}
	if hook.On(hook.PublishBeforeLock) {
		return tx.commitPublishingEarly()
	}
	var slab nodeSlab
	if historyLikely(tx.rv) {
		slab = tx.slabFor()
	}
	if len(tx.commutes) == 0 {
		for i := range tx.writes {
			if !tx.lock(i) {
				tx.unlock(i)
				return false, causeLockBusy
			}
		}
	} else if !tx.lockWithCommutes() {
		return false, causeLockBusy
	}
	c := clock.v.Add(2)
	if c&1 != 0 && !tx.irrevocable {
		// An irrevocable transaction started after our snapshot: let it
		// run alone and try again after it.
		tx.unlock(len(tx.writes))
		return false, causeSerial
	}
	wv := c >> 1
	if wv != tx.rv+1 && !tx.irrevocable && !hook.On(hook.SkipReadValidation) && !tx.readsValidAtCommit() {
		tx.unlock(len(tx.writes))
		return false, causeValidate
	}
	if len(tx.commutes) > 0 {
		tx.applyCommutes()
	}
	var keep *nodeSlab
	if keepingHistory(wv) {
		if slab == nil {
			slab = tx.slabFor()
		}
		keep = &slab
	}
	if keep == nil {
		for i := range tx.writes {
			w := &tx.writes[i]
			w.v.publish(w.box, w.bits)
			w.v.meta.Store(wv << verShift)
		}
	} else {
		for i := range tx.writes {
			w := &tx.writes[i]
			w.v.writeBackKeeping(w.box, w.bits, w.old, wv, keep)
		}
	}
	for i := range tx.writes {
		if w := &tx.writes[i]; w.old&waitBit != 0 {
			wake(w.v)
		}
	}
	tx.wv = wv
	return true, 0
}

// publish writes a committed value back to b, whose lock the caller holds.
func (b *varBase) publish(box unsafe.Pointer, bits uint64) {
	if box == scalarMark {
		b.bits.Store(bits)
		if atomic.LoadPointer(&b.val) == scalarMark {
			return // the common case: only a zero Var's first write sets the mark
		}
	}
	atomic.StorePointer(&b.val, box)
}

// commitLockSpins bounds the wait for a Var locked by another commit.
const commitLockSpins = 64

// lock takes the commit lock of write entry i.
func (tx *Tx) lock(i int) bool { return tx.lockWaiting(i, tx.irrevocable) }

// lockWaiting takes the commit lock of write entry i, waiting for it
// however long it takes if wait is set.
func (tx *Tx) lockWaiting(i int, wait bool) bool {
	w := &tx.writes[i]
	for spins := 0; ; spins++ {
		m := w.v.meta.Load()
		if m&locked == 0 {
			if w.v.meta.CompareAndSwap(m, m|locked) {
				w.old, w.held = m, true
				return true
			}
			continue
		}
		if spins >= commitLockSpins && (!wait || (!tx.irrevocable && clock.v.Load()&1 != 0)) {
			// An irrevocable transaction, which waits for locks without
			// bound in an order of its own, may be waiting for one we
			// hold: give way to it.
			return false
		}
		pause(spins)
	}
}

// lockWithCommutes locks the write set of a transaction with commutes:
// every Var it writes, in address order, waiting for each as long as it
// takes. Blind updates of a hot Var then never abort each other on its
// lock. Waiting cannot deadlock: the commits that wait without bound are
// these, which take all their locks in one global order (the holder of the
// highest lock in any chain of them waits for nothing), commits without
// commutes, which give up after a bounded spin, and an irrevocable one,
// which takes its locks in its own order but runs alone: while it does, a
// wait here gives up instead. On failure it holds no lock.
func (tx *Tx) lockWithCommutes() bool {
	order := make([]int, len(tx.writes))
	for i := range order {
		order[i] = i
	}
	if len(order) > 1 {
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Compare(uintptr(unsafe.Pointer(tx.writes[a].v)), uintptr(unsafe.Pointer(tx.writes[b].v)))
		})
	}
	for _, i := range order {
		if !tx.lockWaiting(i, true) {
			tx.unlock(len(tx.writes))
			return false
		}
		if w := &tx.writes[i]; w.pending {
			// The commutes apply to the value the lock now guards.
			w.box, w.bits = current(w.old, atomic.LoadPointer(&w.v.val), w.v.bits.Load())
		}
	}
	return true
}

// unlock releases the locks of the first n write entries unchanged (of
// those lockWithCommutes holds, when the transaction has commutes).
func (tx *Tx) unlock(n int) {
	withCommutes := len(tx.commutes) > 0
	for i := range n {
		w := &tx.writes[i]
		if withCommutes && !w.held {
			continue
		}
		w.v.meta.Store(w.old)
		w.held = false
	}
}

// readsValidAtCommit reports whether every read still holds the version it
// read: unlocked, or locked by this commit itself.
func (tx *Tx) readsValidAtCommit() bool {
	for i := range tx.reads {
		r := &tx.reads[i]
		m := r.v.meta.Load()
		if m>>verShift != r.ver {
			return false
		}
		if m&locked != 0 && tx.findWrite(r.v) < 0 {
			return false
		}
	}
	return true
}

// commitPublishingEarly is the PublishBeforeLock mutation: the commit
// protocol with write-back moved before locking and validation, so that a
// commit that then aborts has exposed its writes. Tests only.
func (tx *Tx) commitPublishingEarly() (bool, abortCause) {
	type word struct {
		box  unsafe.Pointer
		bits uint64
	}
	old := make([]word, len(tx.writes))
	for i := range tx.writes {
		if w := &tx.writes[i]; w.pending {
			// Unlocked: this mutation publishes before locking anyway.
			var m uint64
			w.box, w.bits, m = w.v.loadWord()
			w.box, w.bits = current(m, w.box, w.bits)
			w.old = m
		}
	}
	if len(tx.commutes) > 0 {
		tx.applyCommutesLocked()
	}
	// A Var keeping history (from before the mutation was switched on:
	// keepingHistory is off under it) is written back after locking, as
	// usual: its val is a node that a bare box must not replace.
	early := make([]bool, len(tx.writes))
	for i := range tx.writes {
		w := &tx.writes[i]
		if w.v.meta.Load()&histBit != 0 {
			continue
		}
		early[i] = true
		old[i] = word{atomic.LoadPointer(&w.v.val), w.v.bits.Load()}
		w.v.publish(w.box, w.bits)
	}
	runtime.Gosched() // hold the window open, so tests see the dirty values reliably
	restore := func() {
		for i := range tx.writes {
			if !early[i] {
				continue
			}
			b := tx.writes[i].v
			b.bits.Store(old[i].bits)
			atomic.StorePointer(&b.val, old[i].box)
		}
	}
	for i := range tx.writes {
		if !tx.lock(i) {
			tx.unlock(i)
			restore()
			return false, causeLockBusy
		}
	}
	c := clock.v.Add(2)
	if (c&1 != 0 && !tx.irrevocable) || !tx.readsValidAtCommit() {
		tx.unlock(len(tx.writes))
		restore()
		return false, causeValidate
	}
	wv := c >> 1
	for i := range tx.writes {
		w := &tx.writes[i]
		if early[i] {
			w.v.meta.Store(wv << verShift)
		} else {
			w.v.writeBack(w.box, w.bits, w.old, wv, nil)
		}
	}
	for i := range tx.writes {
		if w := &tx.writes[i]; w.old&waitBit != 0 {
			wake(w.v)
		}
	}
	tx.wv = wv
	return true, 0
}
