package stm

import (
	"os"
	"runtime"
	"sync"
)

// Go does not expose the current goroutine's identity cheaply (reading it
// costs microseconds), so the checks that need it are opt-in.
//
// debug catches a nested Atomically and a Store inside a body, at one
// identity read per transaction. It is on under the race detector (where
// test suites run) and with GOSTMDEBUG=1.
//
// debugOwner also checks, on every operation that changes the log other
// than reads (Set, Retry, OrElse, AfterCommit), on the first read of an
// attempt and on every 64th operation, that the Tx is used by the goroutine
// running its body, and stops reusing Tx objects so that a Tx kept after
// its transaction is always recognised. It costs an identity read per
// operation, so only GOSTMDEBUG=1 turns it on; under the race detector a
// Tx shared with a goroutine running concurrently is reported as a data
// race on its unsynchronised logs anyway.
var (
	debugEnv   = os.Getenv("GOSTMDEBUG") == "1"
	debug      = raceEnabled || debugEnv
	debugOwner = debugEnv
)

// inBody holds the goroutines that are running a transaction (debug only).
var inBody sync.Map // goroutine id -> struct{}

func debugEnter(tx *Tx) {
	id := goid()
	if _, nested := inBody.LoadOrStore(id, struct{}{}); nested {
		putTx(tx)
		panic("stm: Atomically called inside a transaction body: nested transactions would break atomicity; " +
			"pass the *Tx to the inner code so it joins the outer transaction")
	}
	tx.goid = id
}

func debugExit(tx *Tx) {
	inBody.Delete(tx.goid)
	tx.goid = 0
}

func debugCheckOwner(tx *Tx) {
	if id := goid(); id != tx.goid {
		panic("stm: Tx used from a goroutine other than the one running its transaction body; " +
			"a *Tx must not be shared with other goroutines")
	}
}

func debugCheckNotInBody(op string) {
	if !debug {
		return
	}
	if _, in := inBody.Load(goid()); in {
		panic("stm: " + op + " called inside a transaction body: it would commit on its own, outside the transaction; use Set")
	}
}

// goid returns the current goroutine's id, parsed from its stack header
// ("goroutine 18 [running]:").
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		panic("stm: cannot read the goroutine id")
	}
	var id int64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}
