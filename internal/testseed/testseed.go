// Package testseed gives randomised tests a seed that is logged and can be
// replayed from an environment variable.
package testseed

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Get returns the seed for a randomised test: the value of the environment
// variable env if it is set (to replay a failure), else a fresh one from
// the clock. Either way it logs the seed and how to replay it, so a failing
// run always says how to reproduce it; a malformed env value fails the test.
func Get(t testing.TB, env string) uint64 {
	t.Helper()
	if s := os.Getenv(env); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: not an unsigned integer", env, s)
		}
		t.Logf("seed %d (from %s)", seed, env)
		return seed
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (replay: %s=%d go test -run '^%s$')", seed, env, seed, t.Name())
	return seed
}
