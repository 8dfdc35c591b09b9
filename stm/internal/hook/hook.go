// Package hook lets gostm's own test tooling (package stmtest) observe the
// engine and switch on deliberate bugs. Nothing outside gostm.dev/stm can
// import it; with no observer installed and no mutation on, the engine pays
// one atomic load per transactional operation.
package hook

import (
	"sync/atomic"
	"unsafe"
)

// Observer receives the engine's events. Tx is the *stm.Tx of the attempt
// (as any, since this package cannot name the type); Var is the address of
// the Var's untyped core, stable for the Var's lifetime. Calls come from
// the goroutine running the transaction, synchronously.
type Observer interface {
	// Read reports a Get: the value returned and, unless own is true (the
	// transaction read its own write), the committed version it came from.
	Read(tx any, v unsafe.Pointer, version uint64, own bool, value any)
	// Write reports a Set. Writes are numbered per attempt from 0 in the
	// order they happen, rolled-back ones included; see Rollback.
	Write(tx any, v unsafe.Pointer, value any)
	// Commuted reports, during a commit and before Commit, that the
	// pending commutes of a Var (Var.Commute, stm.Add) were applied: old is
	// the latest committed value they applied to, at the given version,
	// and new the value the commit writes. It is a blind read-modify-write
	// at the commit's point in the serial order.
	Commuted(tx any, v unsafe.Pointer, version uint64, old, new any)
	// Rollback reports that an OrElse branch retried: the writes numbered
	// keep and above are undone. Numbering is not reset by a rollback, so
	// after one, writes numbered below keep may themselves have been undone
	// by an earlier Rollback.
	Rollback(tx any, keep int)
	// Commit reports a committed attempt: rv is its snapshot version, wv
	// the version its writes got (0 for a read-only commit).
	Commit(tx any, rv, wv uint64)
	// End reports how a non-committed attempt ended: "abort", "retry",
	// "error" or "panic".
	End(tx any, how string)
}

type holder struct{ o Observer }

var current atomic.Pointer[holder]

// SetObserver installs o (nil removes the observer) and returns the one it
// replaced.
func SetObserver(o Observer) Observer {
	var old *holder
	if o == nil {
		old = current.Swap(nil)
	} else {
		old = current.Swap(&holder{o})
	}
	if old == nil {
		return nil
	}
	return old.o
}

// Current returns the installed observer, or nil.
func Current() Observer {
	if h := current.Load(); h != nil {
		return h.o
	}
	return nil
}

// Mutation is a deliberate engine bug, for proving that checkers catch bugs.
type Mutation uint32

const (
	// SkipReadValidation commits without re-validating the read set: lost
	// updates, write skew (not serializable).
	SkipReadValidation Mutation = 1 << iota
	// AcceptNewerReads reads versions newer than the snapshot without
	// extending it: running attempts see torn snapshots (not opaque).
	// Update commits are still validated; read-only commits, which the
	// engine never validates, can commit a torn snapshot.
	AcceptNewerReads
	// PublishBeforeLock writes values back before taking the commit locks
	// and validating: other transactions can read writes of a commit that
	// then aborts (dirty reads).
	PublishBeforeLock
	// SkipRetryRevalidation parks after a Retry without re-validating once
	// registered: a commit in between is a lost wake-up.
	SkipRetryRevalidation
)

var mutations atomic.Uint32

// SetMutations switches exactly the given mutations on (0: all off) and
// returns the previous set.
func SetMutations(m Mutation) Mutation { return Mutation(mutations.Swap(uint32(m))) }

// On reports whether mutation m is on.
func On(m Mutation) bool { return Mutation(mutations.Load())&m != 0 }
