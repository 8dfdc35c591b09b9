package tvar_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"gostm.dev/internal/testseed"
	"gostm.dev/stm"
)

// testSeed returns the seed for a randomised test; TVAR_SEED replays one.
func testSeed(t testing.TB) uint64 { return testseed.Get(t, "TVAR_SEED") }

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x5DEECE66D)) }

// atomically runs fn as a transaction that cannot fail.
func atomically(fn func(tx *stm.Tx)) {
	stm.Atomically(func(tx *stm.Tx) error { fn(tx); return nil })
}

// mustPanic runs f and fails t unless it panics with exactly want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic; want %q", want)
		}
		if s, ok := r.(string); !ok || s != want {
			t.Fatalf("panic %v; want %q", r, want)
		}
	}()
	f()
}

var errAbort = errors.New("abort this transaction")

// scale picks the size of a stress test: the full size normally, smaller
// under -short and under the race detector, which is 5–20x slower.
func scale(full, short, race int) int {
	switch {
	case testing.Short():
		return short
	case raceEnabled:
		return race
	}
	return full
}
