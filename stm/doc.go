// Package stm is a software transactional memory for Go: typed transactional
// variables and atomic, composable transactions with blocking Retry and OrElse.
//
// A transaction is a function that reads and writes Vars through a *Tx:
//
//	err := stm.Atomically(func(tx *stm.Tx) error {
//		bal := from.Get(tx)
//		tx.Check(bal >= amount) // block until the balance suffices
//		from.Set(tx, bal-amount)
//		to.Set(tx, to.Get(tx)+amount)
//		return nil
//	})
//
// # Guarantees
//
// Transactions are serializable and opaque: every attempt, including one
// that is about to abort, sees a single consistent snapshot of all the Vars
// it reads, so a body that checks an invariant over several Vars never sees
// it broken, and a torn snapshot can never make a body loop forever or panic.
//
// A body may run more than once: the engine re-runs it when a concurrent
// commit invalidated what it read. Keep side effects out of bodies and put
// them in AfterCommit hooks, which run exactly once per commit.
//
// A body that returns a non-nil error rolls back every write and Atomically
// returns that error unchanged. A body that panics rolls back and the panic
// propagates with its original value.
//
// # Values are immutable
//
// Set publishes a copy of its argument. Mutating something reachable from a
// Var's value (the elements of a slice, the entries of a map, the fields
// behind a pointer) is a side effect the engine cannot see: no conflict is
// detected and no rollback undoes it. Store copies, or put Vars inside the
// structure.
//
// # Algorithm
//
// The engine is TL2 with LSA timestamp extension: a global version clock,
// a version/lock word per Var, values published as immutable boxes through
// atomic pointers, invisible reads validated on every access (that is what
// makes it opaque), a redo log and commit-time locking. Read-only
// transactions commit without writing shared memory. Retry parks the
// goroutine on the Vars it read and only commits to those Vars wake it.
// Under contention an attempt backs off, and after [SerialAfter] aborts the
// transaction runs irrevocably: update commits of other transactions wait
// until it has finished, so it cannot be aborted again.
//
// # Misuse
//
// Misuse panics with a message naming the mistake: a nil *Var, a nil *Tx,
// a Tx used after its transaction ended, and Retry with nothing read (it
// could never wake). A nested Atomically call (or a Store) on the
// goroutine running a body is detected when the race detector is on or the
// environment variable GOSTMDEBUG=1 is set at program start. GOSTMDEBUG=1
// also detects a Tx used from another goroutine, and never reuses a Tx, so
// that one kept after its transaction is always recognised; it costs
// microseconds per operation. Under the race detector, a Tx used by two
// goroutines at once shows up as a data race.
package stm
