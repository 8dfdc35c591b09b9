package stm_test

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// testSeed returns the seed for a randomised test: STM_SEED from the
// environment to replay a failure, else a fresh one. It is logged either way.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	if s := os.Getenv("STM_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STM_SEED=%q: not an unsigned integer", s)
		}
		t.Logf("seed %d (from STM_SEED)", seed)
		return seed
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (replay with STM_SEED=%d)", seed, seed)
	return seed
}
