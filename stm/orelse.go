package stm

import (
	"slices"

	"gostm.dev/stm/internal/hook"
)

// OrElse runs first; if it calls Retry, OrElse discards first's writes
// (and AfterCommit hooks) and runs the next alternative, and so on. The
// result of the first alternative that does not retry is returned. If
// every alternative retries, the whole transaction retries and wakes when
// a Var read by any of them changes: the reads of a discarded alternative
// are kept, since the choice depended on them.
//
// Errors and panics are not caught: they end the transaction as usual.
// Entering an alternative costs a few integer saves and no allocation.
func OrElse[T any](tx *Tx, first func(*Tx) T, others ...func(*Tx) T) T {
	if first == nil {
		panic("stm: OrElse called with a nil first alternative")
	}
	for _, alt := range others {
		if alt == nil {
			panic("stm: OrElse called with a nil alternative")
		}
	}
	tx.checkWritable()
	if len(others) == 0 {
		return first(tx)
	}
	if r, ok := tryAlternative(tx, first); ok {
		return r
	}
	tx.passNilPanic()
	last := len(others) - 1
	for _, alt := range others[:last] {
		if r, ok := tryAlternative(tx, alt); ok {
			return r
		}
		tx.passNilPanic()
	}
	// The last alternative needs no checkpoint: if it retries, so does the
	// enclosing transaction (or branch).
	return others[last](tx)
}

// checkpoint is what an OrElse branch rolls back to. The Tx keeps a stack
// of them (one per open branch) and a branch refers to its own by
// position: a checkpoint copied by value went through the stack in 8-byte
// stores and was read back in 16-byte loads, a store-forwarding stall on
// every OrElse.
type checkpoint struct {
	writes, undo, hooks, sets, commutes int
	epoch                               uint32
}

// tryAlternative runs alt as an OrElse branch. ok is false if alt retried,
// in which case its writes and hooks are gone and its reads remain, or if
// it panicked with nil (tx.nilPanic says so).
func tryAlternative[T any](tx *Tx, alt func(*Tx) T) (r T, ok bool) {
	cp := tx.enterBranch()
	returned := false
	defer func() {
		if returned {
			return
		}
		x := recover()
		switch {
		case x == nil:
			// runtime.Goexit, which goes on unwinding past this frame, or
			// panic(nil) under GODEBUG=panicnil=1, which recover just
			// stopped: only then does OrElse see the mark and panic again.
			// Panicking here would turn a Goexit into a panic.
			tx.nilPanic = true
		case x == retrySignal && tx.state == txRetrying:
			tx.rollback(cp)
		default:
			panic(x) // conflicts, errors and user panics end the transaction
		}
	}()
	r = alt(tx)
	returned = true
	if tx.state == txRetrying {
		// alt recovered our Retry panic and returned anyway: it still retried.
		tx.rollback(cp)
		var zero T
		return zero, false
	}
	tx.leaveBranch(cp)
	return r, true
}

// passNilPanic panics with nil again if the alternative just tried did
// (see tryAlternative).
func (tx *Tx) passNilPanic() {
	if tx.nilPanic {
		tx.nilPanic = false
		panic(nil) //nolint:govet // the alternative's own nil panic, under GODEBUG=panicnil=1
	}
}

// enterBranch opens a branch and returns the position of its checkpoint.
func (tx *Tx) enterBranch() int {
	n := len(tx.branches)
	if n == cap(tx.branches) {
		tx.branches = slices.Grow(tx.branches, 1)
	}
	tx.branches = tx.branches[:n+1]
	cp := &tx.branches[n]
	cp.writes, cp.undo, cp.hooks, cp.sets, cp.commutes, cp.epoch = len(tx.writes), len(tx.undo), len(tx.hooks), tx.sets, len(tx.commutes), tx.epoch
	tx.epochs++
	tx.epoch = tx.epochs
	return n
}

// leaveBranch closes the branch whose checkpoint is at position n (and any
// inner one a panic left open) that did not retry. Its boxes keep their
// epoch, which stays current: they were allocated after every checkpoint
// still open, so the enclosing code may overwrite them in place.
func (tx *Tx) leaveBranch(n int) {
	tx.branches = tx.branches[:n]
	if n == 0 {
		clear(tx.undo)
		tx.undo = tx.undo[:0]
	}
}

// rollback undoes the branch whose checkpoint is at position n, which
// retried: every box it replaced is put back, every entry it added is
// dropped. Its reads stay in the read set.
func (tx *Tx) rollback(n int) {
	cp := &tx.branches[n]
	for i := len(tx.undo) - 1; i >= cp.undo; i-- {
		u := tx.undo[i]
		if int(u.idx) < cp.writes {
			w := &tx.writes[u.idx]
			w.box, w.bits, w.epoch, w.pending = u.box, u.bits, u.epoch, u.pending
		}
	}
	clear(tx.undo[cp.undo:])
	tx.undo = tx.undo[:cp.undo]
	dropped := len(tx.writes) > cp.writes
	clear(tx.writes[cp.writes:])
	tx.writes = tx.writes[:cp.writes]
	if dropped && tx.index.on {
		// The index cannot delete: build it again without the dropped entries.
		tx.index.reset()
		if len(tx.writes) > indexAbove {
			tx.index.build(tx.writes)
		}
	}
	clear(tx.hooks[cp.hooks:])
	tx.hooks = tx.hooks[:cp.hooks]
	clear(tx.commutes[cp.commutes:])
	tx.commutes = tx.commutes[:cp.commutes]
	tx.epoch = cp.epoch
	sets := cp.sets
	tx.branches = tx.branches[:n]
	tx.state = txRunning
	if o := hook.Current(); o != nil {
		o.Rollback(tx, sets)
	}
}
