package stm

import "gostm.dev/stm/internal/hook"

// View runs fn as a read-only transaction and returns its result. fn sees
// one consistent snapshot of every Var, taken when View starts, and View
// never aborts or waits because of writers: a Var committed since the
// snapshot is read at its version in the snapshot, which the Var keeps
// for as long as a View may need it. So a long scan (an audit of every
// account, a Range over a large tvar.Map, a metrics snapshot) commits in
// one attempt however busy the writers are, and never makes them wait.
//
// Use View for reads that must be consistent across Vars but need not be
// the very latest state: the snapshot is the state when View began. Use
// Atomically (or Eval) when the transaction writes, waits in Retry, or
// must read the latest values.
//
// Inside fn, Get, OrElse and AfterCommit work as in any transaction; Set,
// Modify, Swap, Commute and Add panic, and so do Retry and Check (a
// snapshot never changes, so waiting for it to change would wait forever).
// A View keeps no read log.
//
// While a View runs, every commit keeps the versions it replaces (one
// allocation per commit); 65,536 commits after the last View they stop.
// A Var keeps every version a running View may need, up to 4096: a Var
// written more often than that during one View makes the View start again
// on a newer snapshot, and after SerialAfter such restarts it runs
// irrevocably. With no View running, chains are cut to a few versions (8
// at first, doubling up to 1024 each time a read-only body misses one).
//
// A read-only Atomically or Eval body gets the same snapshot reads, with
// two differences. Its first attempt is not registered, so it reads old
// versions only when Vars happen to keep them (while some View or
// registered transaction runs, or shortly after); otherwise, finding a Var
// changed since its snapshot, it moves the snapshot forward if everything
// it read is unchanged, and aborts if not. An attempt that aborts that way
// before writing anything runs the next one registered, as a View does,
// so a body that writes nothing commits in at most two attempts. And a
// body that writes after reading an old version aborts at that write, and
// its next attempts read only current versions.
func View[T any](fn func(tx *Tx) T) T {
	if fn == nil {
		panic("stm: View called with a nil function")
	}
	var r T
	view(func(tx *Tx) error {
		r = fn(tx)
		return nil
	})
	return r
}

// view is View, untyped.
func view(fn func(tx *Tx) error) {
	tx := getTx()
	if debug {
		debugEnter(tx)
	}
	tx.reexecuted, tx.noPast = false, false
	tx.view = true
	tx.registerSnapshot() // before the snapshot's clock load: see history.go
	aborts := 0
	for {
		if aborts >= serialAfter {
			tx.begin(aborts)
		} else {
			// The snapshot, taken where trimming cannot lose it; a View
			// need not wait for an irrevocable transaction.
			tx.recordSnapshot(true)
			tx.state = txRunning
		}
		out, cause, _ := tx.attempt(fn)
		switch out {
		case outCommitted:
			if o := hook.Current(); o != nil {
				tx.observeCommit(o)
			}
			tx.finish()
			return
		case outAborted:
			aborts = tx.endAborted(cause, aborts)
			tx.reset()
		case outNilPanic:
			panic(nil) //nolint:govet // the body's own nil panic, under GODEBUG=panicnil=1
		default:
			// fn returns nil, and Retry panics inside a View.
			panic("stm: internal error: a View ended in Retry or with an error")
		}
	}
}
