// Command stmvet checks gostm transaction bodies for side effects that
// the engine cannot undo or make atomic.
//
// A transaction body is any function with a *stm.Tx parameter. It may run
// several times (after conflicts and Retry), so it must do nothing but read
// and write Vars: stmvet reports goroutines started and *stm.Tx values that
// escape, nested transactions (stm.Atomically, AtomicallyContext, Eval,
// View, Var.Load, Var.Store, also through calls), channel operations,
// locks, time.Sleep and I/O in bodies, writes into slices, maps and
// pointers read from Vars, and ignored errors of stm.Atomically. Code in
// tx.AfterCommit callbacks is exempt: that is where side effects belong.
//
// A function passed to Var.Commute runs at commit, under the Var's lock
// (or not then at all, if a later Get of the Var turns the commute into an
// ordinary read), so it must be a short, pure function of its argument:
// stmvet reports one that uses a *stm.Tx, calls stm, does what a body must
// not, assigns to variables outside it or changes its argument in place.
// And since stm.View is read-only, it reports what panics in a function
// literal passed to View: Var.Set, Modify, Swap and Commute, stm.Add,
// tx.Retry, tx.Check, and stm.ErrRetry returned from a Catch function.
//
// Usage:
//
//	go run gostm.dev/cmd/stmvet ./...
//	go vet -vettool=$(which stmvet) ./...
//
// Flags:
//
//	-deny=PATTERNS   more functions to report in bodies, comma-separated:
//	                 a package path (all its functions and methods),
//	                 PKG.Func or PKG.Type.Method; * matches any run of
//	                 characters, as in -deny=example.com/mail.Send*
//	-allow=PATTERNS  functions never to report, same syntax; they win
//	                 over the deny-list, as in -allow=time.Sleep
//
// A //stmvet:ignore comment on a line, or on the line above it, silences
// reports on that line; give the reason after it. stmvet exits with status
// 3 when it reports anything (as go vet does with 1), so CI can fail on it.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"gostm.dev/cmd/stmvet/txcheck"
)

func main() { singlechecker.Main(txcheck.Analyzer) }
