package bank

import (
	"context"
	"time"
)

// TourModes are the modes the tour compares: STM against the two correct
// lock-based styles.
var TourModes = []Mode{STM, LockOrdered, GlobalLock}

// TourConfig returns the tour's settings: 256 accounts, 4 workers, 20%
// audits, 300ms per mode, seed 1.
func TourConfig() Config {
	c := DefaultConfig()
	c.Accounts, c.Workers, c.Ops, c.Duration = 256, 4, 0, 300*time.Millisecond
	return c
}

// Tour runs TourConfig with the given seed in each of TourModes (about a
// second in all) and returns one report per mode: throughput in
// Report.Throughput, verdicts in Report.Checks, Report.Passed and
// Report.AsExpected.
func Tour(ctx context.Context, seed uint64) ([]Report, error) {
	c := TourConfig()
	c.Seed = seed
	return RunModes(ctx, c, TourModes)
}
