package santa

import (
	"context"
	"time"
)

// A TourResult summarises a short run for a guided tour.
type TourResult struct {
	Sessions       int           // sessions Santa finished
	Elapsed        time.Duration // wall-clock time of the run
	SessionsPerSec float64
	Commits        int    // transactions that logged an event
	Aborts         uint64 // STM aborts during the run (process-wide)
	Contested      int    // choices made with both groups ready
	Passed         bool   // every property held
	Failed         []string
}

// TourRun runs a short STM session (30 sessions, the default cast, seed 1,
// delays of tens of microseconds) and checks it: a demonstration that
// takes a few tens of milliseconds.
func TourRun(ctx context.Context) (TourResult, error) {
	rep, err := RunContext(ctx, Config{
		Rounds:   30,
		Seed:     1,
		Vacation: Delay{0, 200 * time.Microsecond},
		Work:     Delay{10 * time.Microsecond, 50 * time.Microsecond},
		Santa:    Delay{0, 20 * time.Microsecond},
	})
	res := TourResult{
		Sessions:  len(rep.Result.Sessions),
		Elapsed:   rep.Elapsed,
		Commits:   rep.Commits,
		Aborts:    rep.STM.Aborts,
		Contested: rep.Result.Contested,
		Passed:    err == nil && rep.Result.OK(),
		Failed:    rep.Result.Failed(),
	}
	if rep.Elapsed > 0 {
		res.SessionsPerSec = float64(res.Sessions) / rep.Elapsed.Seconds()
	}
	return res, err
}
