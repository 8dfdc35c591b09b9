package stm

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"gostm.dev/stm/internal/hook"
)

// Retry abandons this attempt and blocks the goroutine until a Var that the
// transaction has read so far is changed by another commit; then the body
// runs again. Inside OrElse it moves on to the next alternative instead.
//
// Retry with nothing read could never wake, so it panics saying so.
// AtomicallyContext stops waiting when its context ends.
func (tx *Tx) Retry() {
	tx.checkWritable()
	tx.state = txRetrying
	panic(retrySignal)
}

// Check calls Retry unless ok: it blocks the transaction until the
// condition it computed from the Vars read so far may have become true.
func (tx *Tx) Check(ok bool) {
	if !ok {
		tx.Retry()
	}
}

// waitQueue holds the transactions blocked in Retry on one Var.
type waitQueue struct {
	n  atomic.Int32 // len(ws), readable without the lock
	mu sync.Mutex
	ws []*waiter
}

// waiter is how a blocked transaction is woken. It belongs to a Tx and is
// reused by it; it is in no queue once block returns.
type waiter struct {
	// ch is made afresh for each wait (the goroutine is about to park, so
	// the allocation is noise). A channel made by the waiting goroutine
	// also makes Retry durably blocking inside a testing/synctest bubble.
	ch     chan struct{} // capacity 1: a wake-up is never lost and never blocks the waker
	queues []*waitQueue  // the queues it is in
}

// wake wakes every transaction blocked on b. Called after a commit wrote b.
func (b *varBase) wake() {
	q := b.waiters.Load()
	if q == nil || q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	for i, w := range q.ws {
		select {
		case w.ch <- struct{}{}:
		default:
		}
		q.ws[i] = nil
	}
	q.ws = q.ws[:0]
	q.n.Store(0)
	q.mu.Unlock()
	stats.wakeups.Add(1)
}

func (b *varBase) queue() *waitQueue {
	if q := b.waiters.Load(); q != nil {
		return q
	}
	b.waiters.CompareAndSwap(nil, new(waitQueue))
	return b.waiters.Load()
}

func (q *waitQueue) add(w *waiter) {
	q.mu.Lock()
	q.ws = append(q.ws, w)
	q.n.Store(int32(len(q.ws)))
	q.mu.Unlock()
}

func (q *waitQueue) remove(w *waiter) {
	q.mu.Lock()
	for i, x := range q.ws {
		if x == w {
			last := len(q.ws) - 1
			q.ws[i] = q.ws[last]
			q.ws[last] = nil
			q.ws = q.ws[:last]
			break
		}
	}
	q.n.Store(int32(len(q.ws)))
	q.mu.Unlock()
}

// retryNothingRead is the message of the panic for a Retry that could never wake.
const retryNothingRead = "stm: Retry called with nothing read: no commit could ever wake this transaction " +
	"(read the Vars whose change should wake it before calling Retry or Check)"

// block parks the goroutine after a Retry until a Var in the read set
// changes. It returns nil to run the body again, or ctx's error.
func (tx *Tx) block(ctx context.Context) error {
	if !tx.readsCurrent() {
		return nil // already changed: run again at once
	}
	w := tx.waiter
	if w == nil {
		w = new(waiter)
		tx.waiter = w
	}
	w.ch = make(chan struct{}, 1)
	if hook.On(hook.SkipRetryRevalidation) {
		runtime.Gosched() // hold the window open, so tests see the lost wake-up even on one CPU
	}
	tx.register(w)
	// A commit between our validation and our registration would have
	// found no waiter; validating again after registering closes that
	// window, because the committer publishes its version before it looks
	// for waiters and we register before we look at versions.
	if !hook.On(hook.SkipRetryRevalidation) && !tx.readsCurrent() {
		tx.unregister(w)
		return nil
	}
	stats.blocks.Add(1)
	stats.blocked.Add(1)
	defer stats.blocked.Add(-1)
	var err error
	if woken(w, parkSpins) {
		// The wake-up came while we yielded: no park and unpark.
	} else if ctx == nil {
		<-w.ch
	} else {
		select {
		case <-w.ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	tx.unregister(w)
	return err
}

// register puts w in the queue of every distinct Var read.
func (tx *Tx) register(w *waiter) {
	var seen map[*varBase]struct{}
	if len(tx.reads) > 16 {
		seen = make(map[*varBase]struct{}, len(tx.reads))
	}
next:
	for i := range tx.reads {
		b := tx.reads[i].v
		if seen != nil {
			if _, dup := seen[b]; dup {
				continue
			}
			seen[b] = struct{}{}
		} else {
			for j := range i {
				if tx.reads[j].v == b {
					continue next
				}
			}
		}
		q := b.queue()
		q.add(w)
		w.queues = append(w.queues, q)
	}
}

// unregister takes w out of every queue it is in. Wakers send only while
// holding a queue's lock, so once this returns no send to w.ch can come.
func (tx *Tx) unregister(w *waiter) {
	for i, q := range w.queues {
		q.remove(w)
		w.queues[i] = nil
	}
	w.queues = w.queues[:0]
	w.ch = nil
}

// parkSpins is how many times block yields, looking for its wake-up,
// before it parks. A partner that commits within a few hundred
// nanoseconds (a ping-pong, a producer feeding a consumer) then costs no
// park and unpark; a long wait costs a few yields more than a bare park.
const parkSpins = 4

// woken yields up to spins times and reports whether w was woken meanwhile.
func woken(w *waiter, spins int) bool {
	for range spins {
		select {
		case <-w.ch:
			return true
		default:
		}
		runtime.Gosched()
	}
	return false
}
