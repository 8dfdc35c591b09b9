package stm_test

import (
	"testing"

	"github.com/leanovate/gopter"

	"gostm.dev/stm/stmtest"
)

// The engine's property test: gopter generates workloads of random
// transaction programs (Get, Set, Modify, Commute, Await, OrElse, Retry,
// errors, panics, and read-only programs run as View or Atomically) for 2
// to 8 goroutines; each runs concurrently under the stmtest recorder, and
// its history must pass both checkers (opacity, each commit's reads at its
// snapshot, commutes applied to the latest value, strict serializability,
// no Adya anomaly), agree with the sequential reference interpreter and
// lose no wake-up. A failure shrinks to a small workload, printed with a
// stmtest.Replay line; STM_SEED replays a run.
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
	var views, commutes int
	props.Property("every run of a generated workload is clean", stmtest.Property(stmtest.PropertyOptions{
		Gen: stmtest.GenConfig{MinGoroutines: 2, MaxGoroutines: 8, MaxTxns: 8, MaxLen: 6},
		// Outcomes vary between runs of one workload: three runs each
		// find more interleavings, and keep a shrunk case failing.
		Repeat: 3,
		Observe: func(_ stmtest.Workload, res *stmtest.RunResult) {
			for _, tx := range res.History.Txns {
				if tx.View && tx.Outcome == stmtest.Committed {
					views++
				}
				if a := tx.Final(); a != nil && tx.Outcome == stmtest.Committed {
					for _, op := range a.Ops {
						if op.Kind == stmtest.Commuted {
							commutes++
						}
					}
				}
			}
		},
	}))
	props.TestingRun(t)
	// A generator that stopped making them would pass without testing them.
	t.Logf("%d committed Views, %d Commuted operations", views, commutes)
	if views == 0 || commutes == 0 {
		t.Error("the workloads ran no View or no Commute")
	}
}
