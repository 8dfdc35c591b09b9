package stm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// clock is the global version clock. Bit 0 is the serial flag, set while an
// irrevocable transaction runs; the version is clock>>1. An update commit
// takes its version with one Add(2), which also tells it, in the same
// instruction, whether serial mode is on. It sits alone on its cache line
// because every update commit writes it.
var clock struct {
	_ [64]byte
	v atomic.Uint64
	_ [56]byte
}

// serialMu is held by the one irrevocable transaction for as long as it
// runs. Others wait for serial mode to end by locking and unlocking it.
var serialMu sync.Mutex

// serialHolder is the goroutine id of the irrevocable transaction, so that
// a body that would wait for itself (a nested Atomically, a Store) is told
// so instead of hanging the process. Reading an id costs a microsecond,
// paid only on entering serial mode and by a transaction that has waited
// for it a while.
var serialHolder atomic.Int64

// serialSelfWait is the panic of a body that would wait for itself.
const serialSelfWait = "stm: Atomically, Eval or Store called inside a transaction body that runs irrevocably: " +
	"it would wait forever for that same body to finish; pass the *Tx to the inner code so it joins the " +
	"transaction, and use Set instead of Store"

// beginSnapshot returns a read version for a new attempt, first waiting for
// an irrevocable transaction to finish, since an update attempt started
// now could not commit before then anyway.
func beginSnapshot() uint64 {
	if c := clock.v.Load(); c&1 == 0 {
		return c >> 1
	}
	return beginSnapshotSerial()
}

// beginSnapshotSerial is beginSnapshot while serial mode is on.
func beginSnapshotSerial() uint64 {
	for {
		waitSerial()
		if c := clock.v.Load(); c&1 == 0 {
			return c >> 1
		}
	}
}

// waitSerial blocks until the irrevocable transaction running now, if any,
// has finished.
func waitSerial() {
	lockSerial()
	serialMu.Unlock()
}

// lockSerial locks serialMu, panicking if the goroutine holding it is the
// caller: a body running irrevocably that starts another transaction or
// Stores would otherwise wait for itself forever.
func lockSerial() {
	for range serialYields {
		if serialMu.TryLock() {
			return
		}
		runtime.Gosched()
	}
	if serialHolder.Load() == goid() {
		panic(serialSelfWait)
	}
	serialMu.Lock()
}

// serialYields is how often waitSerial yields, hoping serial mode ends,
// before it pays for the goroutine id to rule out waiting for itself.
const serialYields = 32

// enterSerial makes the caller the irrevocable transaction and returns its
// read version. From the moment the flag is set no other update can commit,
// and those that took a version before it carry versions <= the one
// returned, so nothing can invalidate the caller's reads.
func enterSerial() uint64 {
	lockSerial()
	serialHolder.Store(goid())
	return clock.v.Or(1) >> 1
}

// leaveSerial ends serial mode.
func leaveSerial() {
	serialHolder.Store(0)
	clock.v.And(^uint64(1))
	serialMu.Unlock()
}

// pause is the wait inside a bounded spin: a few busy iterations, then a
// yield so that the goroutine we wait for (perhaps descheduled on this P)
// can run.
func pause(spins int) {
	if spins >= 8 {
		runtime.Gosched()
	}
}

// store commits a single write to b (box and bits as a write entry holds
// them): the one-Var transaction behind Var.Store.
func store(b *varBase, box unsafe.Pointer, bits uint64) {
	debugCheckNotInBody("Store")
	var slab nodeSlab
	if historyLikely(clock.v.Load() >> 1) {
		slab = newSlab(2)
	}
	for spins := 0; ; spins++ {
		m := b.meta.Load()
		if m&locked != 0 || !b.meta.CompareAndSwap(m, m|locked) {
			pause(spins)
			continue
		}
		c := clock.v.Add(2)
		if c&1 != 0 {
			b.meta.Store(m)
			waitSerial()
			continue
		}
		wv := c >> 1
		var keep *nodeSlab
		if keepingHistory(wv) {
			if slab == nil {
				slab = newSlab(2)
			}
			keep = &slab
		}
		b.writeBack(box, bits, m, wv, keep)
		if m&waitBit != 0 {
			wake(b)
		}
		return
	}
}
