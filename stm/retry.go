package stm

import (
	"context"
	"errors"
	"runtime"

	"gostm.dev/stm/internal/hook"
)

// ErrRetry is the error a body returns to retry: returning it from the body
// of Atomically or AtomicallyContext (or an error wrapping it) has the
// effect of calling tx.Retry, without unwinding a panic, which makes a
// blocking wait several times cheaper. Atomically never returns it.
//
// Inside an OrElse alternative, which returns a value rather than an
// error, call tx.Retry.
var ErrRetry = errors.New("stm: retry (return ErrRetry only from a transaction body)")

// Retry abandons this attempt and blocks the goroutine until a Var that the
// transaction has read so far is changed by another commit; then the body
// runs again. Inside OrElse it moves on to the next alternative instead.
// Retry unwinds the body with a panic that the engine recovers; a body of
// Atomically can return ErrRetry instead, which is cheaper.
//
// Retry with nothing read could never wake, so it panics saying so.
// AtomicallyContext stops waiting when its context ends.
func (tx *Tx) Retry() {
	tx.checkWritable()
	if tx.view {
		panic(viewRetry)
	}
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

// viewRetry is the panic of Retry inside View.
const viewRetry = "stm: Retry or Check called inside View: a View reads one snapshot that never changes, so it " +
	"cannot wait for a change; use Atomically to block until a condition holds"

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
		w = newWaiter()
		tx.waiter = w
	}
	w.state.Store(waitIdle)
	if hook.On(hook.SkipRetryRevalidation) {
		runtime.Gosched() // hold the window open, so tests see the lost wake-up even on one CPU
	}
	tx.register(w)
	// A commit between our validation and our registration would have
	// found no waiter; validating again after registering closes that
	// window, because the committer publishes its version before it looks
	// for waiters and we register before we look at versions.
	if !hook.On(hook.SkipRetryRevalidation) && !tx.readsCurrent() {
		w.unregister()
		return nil
	}
	block := stats.blocks.Add(1)
	blocked := stats.blocked.Add(1)
	err := w.park(ctx, shouldSpin(block, blocked))
	stats.blocked.Add(-1)
	w.unregister()
	return err
}

// register puts w in the list of every distinct Var read.
func (tx *Tx) register(w *waiter) {
	if cap(w.nodes) < len(tx.reads) {
		w.nodes = make([]waitNode, 0, len(tx.reads))
	}
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
		// Appending within the capacity reserved above never moves the
		// nodes already linked.
		w.nodes = append(w.nodes, waitNode{b: b, w: w})
		w.nodes[len(w.nodes)-1].link()
	}
}

// unregister takes w out of every list it is in. Wakers signal only while
// holding a list's shard lock, so once this returns no wake-up from this
// wait can come (one from the context's AfterFunc still can: a spurious
// wake-up of a later wait only runs that body once more).
func (w *waiter) unregister() {
	for i := range w.nodes {
		w.nodes[i].unlink()
	}
	w.nodes = w.nodes[:0]
}
