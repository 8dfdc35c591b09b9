package stmtest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"gostm.dev/internal/testseed"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"
)

// PropertyOptions configure Property and RunProperty.
type PropertyOptions struct {
	Gen GenConfig
	Run RunOptions
	// Repeat runs each case this many times and fails if any run fails
	// (default 1): a concurrent run's outcome varies, and repeating also
	// keeps a shrunk case failing more reliably.
	Repeat int
	// Observe, if set, sees the result of every run, shrinking runs
	// included, in order: for counting, or for collecting failures.
	Observe func(w Workload, res *RunResult)
	// Classes, if set, restricts what falsifies the property to anomalies
	// of these classes: tests that prove a checker catches a planted bug
	// use it to demand the right diagnosis.
	Classes []Class
	// Workloads, if set, replaces the generator of GenWorkload(Gen).
	Workloads gopter.Gen
}

// fails reports whether r falsifies the property.
func (o PropertyOptions) fails(r Report) bool {
	if len(o.Classes) == 0 {
		return !r.OK()
	}
	return r.Has(o.Classes...)
}

// Property returns the gopter property "every run of a generated workload
// is clean": no anomaly in either checker, agreement with the sequential
// reference interpreter, no lost wake-up, no hang. A failure's label holds
// the report and the workload, with a Replay line to paste into a test. A
// workload that hung is reported as it is: no run can follow a hang, so
// none shrinks it.
func Property(o PropertyOptions) gopter.Prop {
	repeat := max(o.Repeat, 1)
	gen := o.Workloads
	if gen == nil {
		gen = GenWorkload(o.Gen)
	}
	// After a run hangs no other can run (see RunWorkload), so shrinking
	// has nothing to go on: the workload that hung is the one to report.
	var hung atomic.Bool
	return prop.ForAll(func(w Workload) string {
		if hung.Load() {
			return ""
		}
		for range repeat {
			res := RunWorkload(w, o.Run)
			if o.Observe != nil {
				o.Observe(w, res)
			}
			if res.Report.Has(Hang) {
				hung.Store(true)
			}
			if o.fails(res.Report) {
				return res.Report.String() + "\nworkload: " + w.String()
			}
		}
		return ""
	}, gen)
}

// Seed returns the seed for a randomised test: $STMTEST_SEED if set (to
// replay a failure), else a fresh one. It logs the seed either way.
func Seed(t testing.TB) int64 { return int64(testseed.Get(t, "STMTEST_SEED")) }

// RunProperty checks Property(o) on cases generated workloads, seeded by
// Seed(t); a failure is shrunk (at most 100 steps) and fails t.
func RunProperty(t *testing.T, o PropertyOptions, cases int) {
	t.Helper()
	params := gopter.DefaultTestParametersWithSeed(Seed(t))
	params.MinSuccessfulTests = cases
	params.MaxShrinkCount = 100
	props := gopter.NewProperties(params)
	props.Property("runs of generated workloads are serializable and opaque", Property(o))
	props.TestingRun(t)
}

// Replay runs one workload again, as printed by a failing property, and
// fails t as Check does (explanation first, then where the history was
// saved) if the run shows an anomaly.
func Replay(t testing.TB, w Workload) *RunResult {
	t.Helper()
	res := RunWorkload(w, RunOptions{})
	if !res.Report.OK() {
		fail(t, fmt.Sprintf("%s\nworkload: %s", res.Report, w), res.History)
	}
	return res
}
