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
// propagates with its original value. A body that calls runtime.Goexit
// (t.FailNow in a test helper) rolls back and the goroutine exits.
//
// # Blocking
//
// tx.Retry (or tx.Check(false)) abandons the attempt and parks the
// goroutine until a Var the attempt read is changed by a commit. A body of
// Atomically may return ErrRetry instead, to the same effect and without
// unwinding a panic: the cheaper form for a hot wait loop.
//
// # Long readers and hot counters
//
// [View] runs a read-only transaction on one snapshot that writers cannot
// invalidate: while a View runs, each commit keeps the versions it
// replaces, and the View reads the version of its snapshot. An audit over
// every account, a Range over a large map or a metrics snapshot commits in
// one attempt and never stalls the writers. A read-only Atomically or Eval
// body gets the same snapshot reads once it has met a conflict (see View).
//
// [Var.Commute] and [Add] update a Var blindly: the function is applied at
// commit, to the latest committed value, so transactions that only commute
// a counter never conflict on it. Reading the Var afterwards in the same
// transaction makes it an ordinary read and write.
//
// # Values are immutable
//
// Set publishes a copy of its argument. Mutating something reachable from a
// Var's value (the elements of a slice, the entries of a map, the fields
// behind a pointer) is a side effect the engine cannot see: no conflict is
// detected and no rollback undoes it. Store copies, or put Vars inside the
// structure.
//
// Values of pointer-free types of at most 8 bytes (integers, floats, bools,
// time.Duration, small structs and arrays of them) live in the Var itself:
// transactions that write them allocate nothing. Other values are copied
// into a new immutable box per write.
//
// # Algorithm
//
// The engine is TL2 with LSA timestamp extension: a global version clock,
// a version/lock word per Var, values published in the Var or as immutable
// boxes through atomic pointers, invisible reads validated on every access
// (that is what makes it opaque), a redo log and commit-time locking. Read-only
// transactions commit without writing shared memory. While snapshot readers
// need them, Vars keep short chains of old versions (multi-version reads,
// as in JVSTM or Clojure's refs, but serializable). Retry parks the
// goroutine on the Vars it read and only commits to those Vars wake it.
// Under contention an attempt backs off, and after [SerialAfter] aborts the
// transaction runs irrevocably: update commits of other transactions wait
// until it has finished, so it cannot be aborted again.
//
// # Misuse
//
// Misuse panics with a message naming the mistake, in every build: a nil
// *Var, a nil *Tx, a nil function (Atomically, Eval, View, Modify,
// Commute, OrElse, AfterCommit), Retry with nothing read (it could never
// wake), a write or Retry inside View, a Tx used
// after its transaction ended while it has not been reused (AfterCommit
// hooks run after the end: a hook that uses its transaction's Tx always
// panics), and a body running irrevocably that starts another
// transaction or calls Store (it would wait for itself forever).
//
// Two checks need the goroutine's identity, which Go does not expose
// cheaply, so they are on only when the race detector is, or the
// environment variable GOSTMDEBUG=1 is set at program start: a nested
// Atomically, Eval or Store inside any body (it would commit on its own,
// breaking atomicity), and, with GOSTMDEBUG=1 only, a Tx used from
// another goroutine. Without them, a Tx kept after its transaction and
// used once Atomically has handed it to a later transaction acts on that
// transaction; GOSTMDEBUG=1 never reuses a Tx, so that every such use
// panics. It costs microseconds per operation. Under the race detector, a
// Tx used by two goroutines at once shows up as a data race.
//
// A body that cannot finish while it runs irrevocably (after SerialAfter
// aborts), such as one that busy-waits for another goroutine to change a
// Var, stops every other update transaction: wait with Retry instead.
//
// GOSTMDEBUG=reexec runs every body once more before it commits, so that
// a side effect a body must not have (a counter, a message, a log line)
// happens twice and shows up in tests; GOSTMDEBUG=1,reexec turns on both.
package stm
