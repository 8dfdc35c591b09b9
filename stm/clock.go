package stm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// locked is the lock bit of a Var's meta word.
const locked = 1

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

// beginSnapshot returns a read version for a new attempt, first waiting for
// an irrevocable transaction to finish, since an update attempt started
// now could not commit before then anyway.
func beginSnapshot() uint64 {
	for {
		c := clock.v.Load()
		if c&1 == 0 {
			return c >> 1
		}
		waitSerial()
	}
}

// waitSerial blocks until the irrevocable transaction running now, if any,
// has finished.
func waitSerial() {
	serialMu.Lock()
	//lint:ignore SA2001 an empty critical section: we only wait for the holder to leave
	serialMu.Unlock()
}

// enterSerial makes the caller the irrevocable transaction and returns its
// read version. From the moment the flag is set no other update can commit,
// and those that took a version before it carry versions <= the one
// returned, so nothing can invalidate the caller's reads.
func enterSerial() uint64 {
	serialMu.Lock()
	return clock.v.Or(1) >> 1
}

// leaveSerial ends serial mode.
func leaveSerial() {
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

// storeBox commits a single write of box to b: the one-Var transaction
// behind Var.Store.
func storeBox(b *varBase, box unsafe.Pointer) {
	debugCheckNotInBody("Store")
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
		atomic.StorePointer(&b.val, box)
		b.meta.Store(c >> 1 << 1)
		b.wake()
		return
	}
}
