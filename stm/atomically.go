package stm

import (
	"context"
	"errors"
	"runtime"

	"gostm.dev/stm/internal/hook"
)

// SerialAfter is the number of consecutive conflict aborts after which a
// transaction runs its next attempt irrevocably: it waits for the
// irrevocable transaction running now, if any, then runs while update
// commits of every other transaction wait, so that attempt cannot abort.
// A transaction therefore commits (or returns, panics or blocks in Retry)
// within SerialAfter+1 attempts, whatever the contention; that is the
// engine's progress guarantee. Attempts that end in Retry do not count.
const SerialAfter = 12

// serialAfter is SerialAfter, lowered by tests that need an irrevocable run.
var serialAfter = SerialAfter

// Atomically runs fn as one atomic transaction and returns its error.
//
// If fn returns nil, its writes commit together, then its AfterCommit
// hooks run. If fn returns an error, every write is discarded and that
// error is returned unchanged. If fn panics, every write is discarded and
// the panic propagates with its original value (a nil one too, under
// GODEBUG=panicnil=1); if it calls runtime.Goexit, every write is
// discarded and the goroutine exits. If fn calls Retry or returns
// ErrRetry, the goroutine blocks until a Var fn read changes, then runs fn
// again.
//
// fn may run several times (after conflicts and Retry); only the last run
// takes effect. It must not call Atomically itself: pass tx to helpers
// instead, so they become part of the same transaction.
//
// Until it writes, fn may read versions older than the newest (still
// those of one consistent snapshot), which spares a long read-only body
// from aborting under writers; View describes when, and is the surer way
// to run a long read-only transaction.
func Atomically(fn func(tx *Tx) error) error {
	//lint:ignore SA1012 nil means no context: a plain Atomically parks without a select
	return atomically(nil, fn)
}

// AtomicallyContext is Atomically with a context that bounds how long the
// transaction may stay blocked in Retry. When ctx ends while the
// transaction is blocked, AtomicallyContext returns ctx.Err() with nothing
// committed and nothing left registered. If ctx has already ended, fn does
// not run.
func AtomicallyContext(ctx context.Context, fn func(tx *Tx) error) error {
	if ctx == nil {
		panic("stm: AtomicallyContext called with a nil Context (use context.Background())")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return atomically(ctx, fn)
}

// Eval runs fn as one atomic transaction, like Atomically, and returns the
// value of its committed run.
func Eval[T any](fn func(tx *Tx) T) T {
	if fn == nil {
		panic("stm: Eval called with a nil function")
	}
	var r T
	//lint:ignore SA1012 nil means no context: a plain Atomically parks without a select
	atomically(nil, func(tx *Tx) error {
		r = fn(tx)
		return nil
	})
	return r
}

// outcome is how one attempt ended.
type outcome uint8

const (
	outCommitted outcome = iota
	outFailed            // the body returned an error
	outAborted           // a conflict: run again
	outRetry             // the body called Retry: block, then run again
	outNilPanic          // the body panicked with nil (GODEBUG=panicnil=1)
)

func atomically(ctx context.Context, fn func(tx *Tx) error) error {
	if fn == nil {
		panic("stm: Atomically called with a nil function")
	}
	tx := getTx()
	if debug {
		debugEnter(tx)
	}
	tx.reexecuted, tx.noPast = false, false
	aborts := 0
	for {
		tx.until0 = history.until.Load() // before the snapshot: see registerIfCovered
		if c := clock.v.Load(); aborts == 0 && serialAfter > 0 && c&1 == 0 {
			tx.rv = c >> 1
			tx.state = txRunning
		} else {
			tx.begin(aborts)
		}
		out, cause, err := tx.attempt(fn)
		switch out {
		case outCommitted:
			if o := hook.Current(); o != nil {
				tx.observeCommit(o)
			}
			if tx.past {
				extendHistory() // for the read-only transactions that may follow
			}
			tx.finish()
			return nil
		case outFailed:
			observeEnd(tx, "error")
			tx.release()
			return err
		case outAborted:
			aborts = tx.endAborted(cause, aborts)
			tx.registerAfter(cause)
			tx.reset()
		case outRetry:
			observeEnd(tx, "retry")
			if len(tx.reads) == 0 {
				tx.release()
				panic(retryNothingRead)
			}
			tx.endAttempt()
			if tx.past {
				// Its condition was computed on old versions: run it again
				// on current ones (block returns at once, the reads being
				// stale), and wait on those, not on a history that keeps
				// moving while writers run.
				tx.noPast = true
				tx.registerAfter(causeReexec)
			}
			if err := tx.block(ctx); err != nil {
				tx.release()
				return err
			}
			tx.reset()
			aborts = 0
		case outNilPanic:
			// attempt recovered a nil panic and released the Tx (it cannot
			// tell one from runtime.Goexit): pass the panic on as it came.
			panic(nil) //nolint:govet // the body's own nil panic, under GODEBUG=panicnil=1
		}
	}
}

// observeCommit tells observer o that the attempt committed. Callers
// check for an observer themselves, so that the common case costs no call.
func (tx *Tx) observeCommit(o hook.Observer) {
	wv := tx.wv
	if len(tx.writes) == 0 {
		wv = 0
	}
	o.Commit(tx, tx.rv, wv)
}

// endAborted ends an attempt that aborted: it tells an observer, counts
// the abort unless it was GOSTMDEBUG=reexec's rerun (not a conflict), and
// returns the transaction's count of conflict aborts so far.
func (tx *Tx) endAborted(cause abortCause, aborts int) int {
	observeEnd(tx, "abort")
	if cause != causeReexec {
		aborts++
		stats.abort(cause)
	}
	tx.endAttempt()
	return aborts
}

func observeEnd(tx *Tx, how string) {
	if o := hook.Current(); o != nil {
		o.End(tx, how)
	}
}

// registerAfter makes a transaction whose attempt aborted on a conflict
// before writing anything a registered snapshot reader (see history.go),
// so that its next attempt, if it writes nothing, cannot abort because of
// writers; and ends the registration of one that turned out to write.
func (tx *Tx) registerAfter(cause abortCause) {
	switch {
	case tx.noPast:
		if tx.registered {
			tx.unregisterSnapshot()
		}
	case tx.registered || len(tx.writes) != 0:
	case cause == causeExtend || cause == causeHistoryGone || cause == causeLockedRead:
		tx.registerSnapshot()
	}
}

// begin prepares an attempt after an abort (atomically inlines the first
// attempt's): contention management, then a snapshot.
func (tx *Tx) begin(aborts int) {
	defer func() {
		// Waiting for serial mode panics when the body waiting is the
		// irrevocable one's own nested transaction: give the Tx back first.
		if r := recover(); r != nil {
			tx.release()
			panic(r)
		}
	}()
	switch {
	case aborts >= serialAfter:
		tx.rv = enterSerial()
		tx.irrevocable = true
		stats.irrevocable.Add(1)
	case aborts >= 2:
		tx.backoff(aborts)
		fallthrough
	default:
		tx.rv = beginSnapshot()
	}
	if tx.registered {
		tx.recordSnapshot(true) // a fresh snapshot, protected from trimming
	}
	tx.state = txRunning
}

// attempt runs the body once and commits it if it succeeded.
func (tx *Tx) attempt(fn func(tx *Tx) error) (out outcome, cause abortCause, err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		r := recover()
		switch {
		case r == nil:
			// runtime.Goexit (t.FailNow, say), or panic(nil) under
			// GODEBUG=panicnil=1: recover cannot tell them apart. End the
			// transaction here, once, either way: after a Goexit nothing
			// runs on, and after a nil panic atomically (reached only then)
			// passes the panic on without touching the Tx.
			observeEnd(tx, "panic")
			tx.release()
			out = outNilPanic
		case r == abortSignal && tx.state == txAborted:
			out, cause = outAborted, tx.cause
		case r == retrySignal && tx.state == txRetrying:
			out = outRetry
		case !tx.irrevocable && !tx.readsCurrent():
			// The panic came from a snapshot that is no longer current:
			// run again on a fresh one, as GHC does, so that the panic
			// that escapes reflects the latest state.
			out, cause = outAborted, causePanicStale
		default:
			observeEnd(tx, "panic")
			tx.release()
			panic(r) // from inside the deferred call, so the traceback keeps the original frames
		}
	}()
	err = fn(tx)
	returned = true
	switch tx.state {
	case txAborted:
		return outAborted, tx.cause, nil // the body recovered our abort and returned anyway
	case txRetrying:
		return outRetry, 0, nil
	}
	if err != nil {
		if errors.Is(err, ErrRetry) {
			tx.state = txRetrying
			return outRetry, 0, nil
		}
		return outFailed, 0, err
	}
	if debugReexec && !tx.reexecuted {
		// GOSTMDEBUG=reexec: every body runs again before it commits, so
		// that side effects it should not have show up twice in tests.
		tx.reexecuted = true
		return outAborted, causeReexec, nil
	}
	if ok, cause := tx.commit(); !ok {
		return outAborted, cause, nil
	}
	return outCommitted, 0, nil
}

// abort ends this attempt because of a conflict.
func (tx *Tx) abort(cause abortCause) {
	tx.state = txAborted
	tx.cause = cause
	panic(abortSignal)
}

// endAttempt clears what one attempt left behind, keeping the Tx.
func (tx *Tx) endAttempt() {
	if tx.irrevocable {
		tx.irrevocable = false
		leaveSerial()
	}
	// block needs the read set; begin clears the rest.
	tx.state = txIdle
}

// finish ends a committed transaction: it lets go of serial mode, then
// runs the hooks, then pools the Tx. The Tx is marked ended while the
// hooks run, so a hook that uses it panics instead of writing into some
// later transaction that got the Tx from the pool; a hook may start
// transactions of its own. If a hook panics, the Tx is pooled all the same
// (a cache slot left taken would be lost for good).
func (tx *Tx) finish() {
	if len(tx.hooks) == 0 {
		tx.release()
		return
	}
	tx.runHooks()
}

func (tx *Tx) runHooks() {
	tx.letGo()
	tx.state = txIdle
	defer putTx(tx)
	for _, f := range tx.hooks {
		f()
	}
}

// release ends the transaction and returns the Tx to the pool.
func (tx *Tx) release() {
	tx.letGo()
	putTx(tx)
}

// letGo gives up what the transaction holds besides its Tx: serial mode
// and, in debug mode, the goroutine's mark of being inside a body.
func (tx *Tx) letGo() {
	if tx.irrevocable || debug || tx.registered {
		tx.letGoSlow()
	}
}

func (tx *Tx) letGoSlow() {
	if tx.registered {
		tx.unregisterSnapshot()
		tx.view = false
	}
	if tx.irrevocable {
		tx.irrevocable = false
		leaveSerial()
	}
	if debug {
		debugExit(tx)
	}
}

// backoff waits a random, exponentially growing time before attempt
// number aborts+1. It yields rather than spins: on a machine with few
// cores, the transaction we conflict with may be waiting for this P.
func (tx *Tx) backoff(aborts int) {
	n := uint64(1) << min(aborts-1, 7)
	for k := tx.rand()%n + 1; k > 0; k-- {
		runtime.Gosched()
	}
}

// rand is xorshift64: cheap, per-Tx, and good enough for backoff.
func (tx *Tx) rand() uint64 {
	x := tx.rng
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	tx.rng = x
	return x
}

// signal is the panic value the engine unwinds a body with.
type signal struct{ what string }

var (
	abortSignal = &signal{"stm: transaction aborted (conflict)"}
	retrySignal = &signal{"stm: Retry"}
)

func (s *signal) String() string { return s.what }

func (s txState) signal() *signal {
	if s == txRetrying {
		return retrySignal
	}
	return abortSignal
}
