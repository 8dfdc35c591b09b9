package stm_test

import (
	"testing"

	"github.com/leanovate/gopter"

	"gostm.dev/stm/stmtest"
)

// The engine's property test: gopter generates workloads of random
// transaction programs (Get, Set, Modify, Await, OrElse, Retry, errors,
// panics) for 2 to 8 goroutines; each runs concurrently under the stmtest
// recorder, and its history must pass both checkers (opacity, strict
// serializability, no Adya anomaly), agree with the sequential reference
// interpreter and lose no wake-up. A failure shrinks to a small workload,
// printed with a stmtest.Replay line; STM_SEED replays a run.
func TestHistoriesSerializableAndOpaque(t *testing.T) {
	cases := 1000
	if testing.Short() {
		cases = 200
	}
	seed := testSeed(t)
	params := gopter.DefaultTestParametersWithSeed(int64(seed))
	params.MinSuccessfulTests = cases
	params.MaxShrinkCount = 100
	props := gopter.NewProperties(params)
	props.Property("every run of a generated workload is clean", stmtest.Property(stmtest.PropertyOptions{
		Gen: stmtest.GenConfig{MinGoroutines: 2, MaxGoroutines: 8, MaxTxns: 8, MaxLen: 6},
		// Outcomes vary between runs of one workload: three runs each
		// find more interleavings, and keep a shrunk case failing.
		Repeat: 3,
	}))
	props.TestingRun(t)
}
