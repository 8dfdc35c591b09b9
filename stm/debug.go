package stm

import (
	"os"
	"runtime"
	"strings"
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
//
// debugReexec (GOSTMDEBUG=reexec) runs every body once more before it
// commits, so that a side effect a body should not have (a counter bumped,
// a message sent) happens twice and shows up in tests. GOSTMDEBUG takes a
// comma-separated list: GOSTMDEBUG=1,reexec turns on both.
var (
	debugEnv, debugReexec = parseDebug(os.Getenv("GOSTMDEBUG"))

	debug      = raceEnabled || debugEnv
	debugOwner = debugEnv
)

// parseDebug reads GOSTMDEBUG. Unknown words are ignored, as GODEBUG does.
func parseDebug(s string) (checks, reexec bool) {
	for _, w := range strings.Split(s, ",") {
		switch strings.TrimSpace(w) {
		case "1", "checks":
			checks = true
		case "reexec":
			reexec = true
		}
	}
	return checks, reexec
}

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
