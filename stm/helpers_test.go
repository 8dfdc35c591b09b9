package stm_test

import (
	"testing"

	"gostm.dev/internal/testseed"
)

// testSeed returns the seed for a randomised test; STM_SEED replays one.
func testSeed(t testing.TB) uint64 { return testseed.Get(t, "STM_SEED") }
