package stm

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Transactions blocked in Retry wait in a table keyed by Var, not in the
// Vars themselves: a Var has no word to spare for a queue (see varBase).
// The table is split into shards, each a mutex and a map from a Var to
// the head of a doubly linked list of waitNodes, one per transaction
// blocked on that Var. A Var with waiters has waitBit set in its meta
// word, so a commit to a Var nobody waits on never touches the table: it
// finds the bit clear in the meta word it locked.
//
// The bit is set only on an unlocked meta word, after the node is in the
// list; a commit clears it (its write-back stores a fresh meta word) and
// then, if the word it locked had the bit, wakes the whole list. A waiter
// that registered too late for that wake-up set the bit on the new word
// and re-validates its reads after registering, so it sees the new
// version and runs again instead of sleeping through the commit.

// waitNode is one waiter's place in one Var's list.
type waitNode struct {
	b          *varBase
	w          *waiter
	prev, next *waitNode
	linked     bool // in a list; guarded by the shard's mutex
}

type waitShard struct {
	mu sync.Mutex
	m  map[*varBase]*waitNode
	_  [48]byte // a shard per cache line: commits to unrelated Vars do not share one
}

var waitTable [64]waitShard

func shardOf(b *varBase) *waitShard {
	return &waitTable[indexHash(b)>>58]
}

// setWaitBit marks b as having a waiter, on an unlocked meta word so that
// no commit in progress can overwrite the mark without having seen it.
func (b *varBase) setWaitBit() {
	for spins := 0; ; spins++ {
		m := b.meta.Load()
		switch {
		case m&waitBit != 0:
			// Set on an unlocked word, so any commit since locked it with the bit.
			return
		case m&locked != 0:
			pause(spins)
		case b.meta.CompareAndSwap(m, m|waitBit):
			return
		}
	}
}

// wake wakes every transaction blocked in Retry on b. Committers call it
// after writing b back, when the meta word they locked had waitBit.
func wake(b *varBase) {
	sh := shardOf(b)
	sh.mu.Lock()
	head := sh.m[b]
	if head == nil {
		sh.mu.Unlock()
		return
	}
	delete(sh.m, b)
	for n := head; n != nil; {
		next := n.next
		n.prev, n.next, n.linked = nil, nil, false
		n.w.signal()
		n = next
	}
	sh.mu.Unlock()
	stats.wakeups.Add(1)
}

// link puts n at the head of its Var's list.
func (n *waitNode) link() {
	sh := shardOf(n.b)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[*varBase]*waitNode)
	}
	head := sh.m[n.b]
	n.prev, n.next = nil, head
	if head != nil {
		head.prev = n
	}
	sh.m[n.b] = n
	n.linked = true
	sh.mu.Unlock()
	n.b.setWaitBit()
}

// unlink takes n out of its Var's list, if a wake-up has not already.
func (n *waitNode) unlink() {
	sh := shardOf(n.b)
	sh.mu.Lock()
	if n.linked {
		switch {
		case n.prev != nil:
			n.prev.next = n.next
		case n.next != nil:
			sh.m[n.b] = n.next
		default:
			delete(sh.m, n.b)
		}
		if n.next != nil {
			n.next.prev = n.prev
		}
		n.prev, n.next, n.linked = nil, nil, false
	}
	sh.mu.Unlock()
	n.b, n.w = nil, nil
}

// waitersOn counts the transactions blocked on b (tests only).
func waitersOn(b *varBase) int {
	sh := shardOf(b)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := 0
	for n := sh.m[b]; n != nil; n = n.next {
		k++
	}
	return k
}

// waiter is how a blocked transaction is woken. It belongs to a Tx and is
// reused for every wait, channel-free: a sync.Cond is durably blocking in
// a testing/synctest bubble wherever it was made, where a reused channel
// made outside the bubble would not be.
type waiter struct {
	state atomic.Uint32 // waitIdle, waitWoken or waitParked
	mu    sync.Mutex
	cond  sync.Cond
	nodes []waitNode // one per distinct Var read; stable while linked
}

const (
	waitIdle   = iota // registered, not yet parked: a wake-up is one CAS
	waitWoken         // woken (by a commit or the context)
	waitParked        // asleep on cond: a wake-up takes mu and signals
)

func newWaiter() *waiter {
	w := new(waiter)
	w.cond.L = &w.mu
	return w
}

// signal wakes w. It never blocks for long: mu is held only around the
// state change and the Cond.
func (w *waiter) signal() {
	if w.state.CompareAndSwap(waitIdle, waitWoken) {
		return
	}
	w.mu.Lock()
	if w.state.Load() == waitParked {
		w.state.Store(waitWoken)
		w.cond.Signal()
	}
	w.mu.Unlock()
}

// spinLoads is how many times a waiter looks for its wake-up before it
// parks, about a microsecond: a partner that commits within that time (a
// ping-pong, a producer feeding a consumer) then costs no park and unpark.
// Spinning does not yield (a yield goes to the back of the run queue, which
// with a thousand runnable goroutines takes milliseconds), and a waiter
// spins only while at most spinBelow transactions are blocked and there is
// more than one P: when many are blocked, the partner that would wake it
// is more likely waiting for the P the spinner holds.
const (
	spinLoads = 2000
	spinBelow = 3
)

// spinProcs caches GOMAXPROCS (reading it takes the scheduler's lock),
// re-read every procsEvery blocks.
var spinProcs atomic.Int32

const procsEvery = 256

// shouldSpin reports whether a waiter should spin before parking; block is
// the running count of blocks, blocked the transactions blocked now.
func shouldSpin(block uint64, blocked int64) bool {
	if block%procsEvery == 1 || spinProcs.Load() == 0 {
		spinProcs.Store(int32(runtime.GOMAXPROCS(0)))
	}
	return spinProcs.Load() > 1 && blocked < spinBelow
}

// park blocks until w is signalled or ctx (if not nil) ends, and returns
// ctx's error in that case. It spins first if spin is set.
func (w *waiter) park(ctx context.Context, spin bool) error {
	if spin {
		// The partner we just woke is most likely queued to run next on
		// this very P: let it run first, then spin in case it runs on
		// another.
		runtime.Gosched()
		for range spinLoads {
			if w.state.Load() == waitWoken {
				return nil
			}
		}
	}
	var stop func() bool
	if ctx != nil {
		stop = context.AfterFunc(ctx, w.signal)
	}
	w.mu.Lock()
	if w.state.CompareAndSwap(waitIdle, waitParked) {
		for w.state.Load() != waitWoken {
			w.cond.Wait()
		}
	}
	w.mu.Unlock()
	if stop != nil && !stop() {
		// The context ended while we waited (and may be what woke us).
		return ctx.Err()
	}
	return nil
}
