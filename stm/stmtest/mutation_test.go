package stmtest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"

	"gostm.dev/stm"
	"gostm.dev/stm/internal/hook"
)

// A checker that never fails proves nothing: each test below switches on
// one deliberate engine bug and requires a property run to report it,
// with the right diagnosis, within a bounded number of generated cases.

// requireCaught runs the property with mutation m on until a run reports
// one of the classes, and fails t if none does within maxCases cases.
func requireCaught(t *testing.T, m hook.Mutation, o PropertyOptions, maxCases int) {
	t.Helper()
	defer hook.SetMutations(hook.SetMutations(m))
	runs, firstFail := 0, 0
	var first, hang Report
	o.Observe = func(w Workload, res *RunResult) {
		runs++
		if firstFail == 0 && o.fails(res.Report) {
			firstFail, first = runs, res.Report
		}
		if res.Report.Has(Hang) && hang.OK() {
			hang = res.Report
		}
	}
	params := gopter.DefaultTestParametersWithSeed(Seed(t))
	params.MinSuccessfulTests = maxCases
	params.MaxShrinkCount = 0 // detection is the point here; TestFailuresShrink shrinks
	props := gopter.NewProperties(params)
	props.Property("mutant", Property(o))
	var out strings.Builder
	passed := props.Run(gopter.NewFormatedReporter(false, 200, &out))
	if !hang.OK() {
		t.Fatalf("a run hung, which stops the property: %v", hang)
	}
	if passed {
		t.Fatalf("mutation %d not caught as %v in %d cases", m, o.Classes, maxCases)
	}
	t.Logf("caught after %d cases (%d runs in all, shrinking included): %s", firstFail, runs, first.Anomalies[0])
	for _, a := range first.Anomalies {
		for _, c := range o.Classes {
			if a.Class == c {
				t.Logf("as %s", a)
				return
			}
		}
	}
}

func TestMutationSkipReadValidation(t *testing.T) {
	requireCaught(t, hook.SkipReadValidation, PropertyOptions{
		Gen:     GenConfig{NoBlocking: true, MaxTxns: 6},
		Classes: []Class{G2, GSingle, G2.Realtime(), GSingle.Realtime()},
	}, 300)
}

func TestMutationSkipReadValidationWhiteBox(t *testing.T) {
	requireCaught(t, hook.SkipReadValidation, PropertyOptions{
		Gen:     GenConfig{NoBlocking: true, MaxTxns: 6},
		Classes: []Class{Serializability},
	}, 300)
}

func TestMutationAcceptNewerReads(t *testing.T) {
	requireCaught(t, hook.AcceptNewerReads, PropertyOptions{
		Gen:     GenConfig{NoBlocking: true, MaxTxns: 6},
		Classes: []Class{Opacity},
	}, 300)
}

func TestMutationPublishBeforeLock(t *testing.T) {
	// Dirty reads need a reader inside the few nanoseconds between a
	// commit's early publication and its locking (or its failure and
	// restoring): many small transactions on two Vars make it likely.
	// Under the race detector's slower, more interleaved schedules a few
	// cases do; without it, measured on 2 cores, 85 to 450 cases (about
	// 3 ms each), hence the bound of 5000: a miss is then an e^-10 event.
	requireCaught(t, hook.PublishBeforeLock, PropertyOptions{
		Gen:     GenConfig{Vars: 2, MinGoroutines: 4, MaxTxns: 40, MaxLen: 3, NoBlocking: true, NoFailures: true},
		Classes: []Class{G1a, G1b, DirtyRead},
	}, 5000)
}

// pingPong is a workload of two goroutines taking turns through x's
// parity, rounds times each: every round blocks one of them in Retry
// until the other commits its increment of x (a Modify, or a Commute,
// whose commit must wake waiters just the same), the pattern where a lost
// wake-up stalls both.
func pingPong(rounds int, inc Code) Workload {
	w := Workload{Vars: 1, Goroutines: make([][]Program, 2)}
	for g := range 2 {
		for range rounds {
			w.Goroutines[g] = append(w.Goroutines[g], Program{{Code: Await, Arg: g}, {Code: inc, Arg: 1}})
		}
	}
	return w
}

func TestMutationSkipRetryRevalidation(t *testing.T) {
	for _, inc := range []Code{Modify, Commute} {
		t.Run(string(inc), func(t *testing.T) {
			requireCaught(t, hook.SkipRetryRevalidation, PropertyOptions{
				Workloads: gen.IntRange(100, 300).Map(func(n int) Workload { return pingPong(n, inc) }),
				Run:       RunOptions{StallTimeout: 300 * time.Millisecond},
				Classes:   []Class{LostWakeup},
			}, 100)
		})
	}
}

// The ping-pong workload itself passes on the correct engine.
func TestPingPongClean(t *testing.T) {
	for _, inc := range []Code{Modify, Commute} {
		t.Run(string(inc), func(t *testing.T) {
			res := Replay(t, pingPong(300, inc))
			if res.Deadlocks > 0 {
				t.Fatal("the ping-pong deadlocked")
			}
			if got := payload(res.Final[0]); got != 600%1024 {
				t.Fatalf("x payload %d, want 600", got)
			}
		})
	}
}

// A failure shrinks: with lost updates planted, the shrunk workload is
// smaller than the one first found and still fails.
func TestFailuresShrink(t *testing.T) {
	defer hook.SetMutations(hook.SetMutations(hook.SkipReadValidation))
	var sizes []int
	o := PropertyOptions{
		Gen:     GenConfig{NoBlocking: true, MaxTxns: 6},
		Repeat:  3,
		Classes: []Class{G2, GSingle, Serializability},
	}
	o.Observe = func(w Workload, res *RunResult) {
		if o.fails(res.Report) {
			sizes = append(sizes, w.size())
		}
	}
	params := gopter.DefaultTestParametersWithSeed(Seed(t))
	params.MinSuccessfulTests = 300
	params.MaxShrinkCount = 30
	props := gopter.NewProperties(params)
	props.Property("mutant", Property(o))
	var out strings.Builder
	if props.Run(gopter.NewFormatedReporter(false, 200, &out)) {
		t.Fatal("lost updates not caught in 300 cases")
	}
	if len(sizes) < 2 || sizes[len(sizes)-1] >= sizes[0] {
		t.Fatalf("no shrinking: failing sizes %v", sizes)
	}
	t.Logf("shrunk from %d to %d instructions:\n%s", sizes[0], sizes[len(sizes)-1], out.String())
}

// A workload that can never finish is cancelled, not reported: the lone
// goroutine waits for an odd x that nobody will write, then goes on with
// its next transaction.
func TestWatchdogCancelsDeadlock(t *testing.T) {
	w := Workload{Vars: 1, Goroutines: [][]Program{{{{Code: Await, Arg: 1}}, {{Code: Modify, Arg: 2}}}}}
	res := RunWorkload(w, RunOptions{StallTimeout: time.Hour})
	if !res.Report.OK() || res.Deadlocks != 1 {
		t.Fatalf("deadlocks %d, report %v", res.Deadlocks, res.Report)
	}
	if got := res.History.Txns; len(got) != 2 || got[0].Outcome != Canceled || got[1].Outcome != Committed {
		t.Fatalf("history %+v", got)
	}
}

// A run stuck inside a transaction is reported, with where it is stuck,
// after the hang timeout: here the body itself blocks, as a commit
// deadlocked on its locks would, where no cancellation reaches it.
func TestWatchdogReportsHang(t *testing.T) {
	rec := NewRecorder()
	defer rec.Stop()
	rec.notify = make(chan struct{}, 1)
	var stop atomic.Bool
	wd := &watchdog{rec: rec, done: make([]atomic.Bool, 1), cancels: make([]atomic.Pointer[context.CancelFunc], 1),
		gids: make([]atomic.Uint64, 1), stop: &stop, grace: time.Hour, hang: 100 * time.Millisecond, finished: make(chan struct{})}
	release, entered := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(wd.finished)
		wd.gids[0].Store(goroutineID())
		_ = rec.Client(0).Atomically(func(tx *stm.Tx) error {
			close(entered) //stmvet:ignore the body blocks on purpose: the hang under test
			<-release      //stmvet:ignore the body blocks on purpose: the hang under test
			return nil
		})
		wd.done[0].Store(true)
	}()
	<-entered
	start := time.Now()
	wd.run()
	close(release)
	<-wd.finished
	if !strings.Contains(wd.hung, "goroutines [0]") || !strings.Contains(wd.hung, "stm.(*Tx).attempt") || !stop.Load() {
		t.Fatalf("hang not reported: %q", wd.hung)
	}
	if d := time.Since(start); d < wd.hang {
		t.Fatalf("reported after %v, before the timeout", d)
	}
	t.Log(wd.hung)

	// After a hang, runs report it at once instead of running (and
	// perhaps hanging on what the stuck goroutines hold).
	was := stuck.Swap(&wd.hung)
	defer stuck.Store(was)
	res := RunWorkload(pingPong(1, Modify), RunOptions{})
	if len(res.History.Txns) != 0 || !res.Report.Has(Hang) || !strings.Contains(res.Report.String(), "stm.(*Tx).attempt") {
		t.Fatalf("a run after a hang: %v", res.Report)
	}
}
