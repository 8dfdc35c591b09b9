package santa

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

// seeds returns the seeds to run: SANTA_SEED=N replays one seed; otherwise
// n seeds from a base taken from the clock, so each test run explores new
// schedules. Every failure message names its seed.
func seeds(t *testing.T, n int) []int64 {
	t.Helper()
	if s := os.Getenv("SANTA_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SANTA_SEED=%q: %v", s, err)
		}
		return []int64{v}
	}
	base := time.Now().UnixNano() % 1_000_000 * 1000
	t.Logf("seeds %d..%d (replay one with SANTA_SEED=N)", base, base+int64(n)-1)
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out
}

func describe(rep Report) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "variant %s seed %d (replay with SANTA_SEED=%d): failed %v", rep.Config.Variant, rep.Config.Seed, rep.Config.Seed, rep.Result.Failed())
	for _, p := range rep.Result.Properties {
		if p.Example != nil {
			fmt.Fprintf(&b, "\n  %s ×%d, first: %v", p.ID, p.Violations, p.Example)
		}
	}
	return b.String()
}

// The correct versions, in real time with real parallelism.
func TestCorrectVariantsPass(t *testing.T) {
	for _, v := range []Variant{VariantSTM, VariantChannel} {
		t.Run(string(v), func(t *testing.T) {
			for _, seed := range seeds(t, 8) {
				rep, err := Run(Config{Seed: seed, Variant: v, Rounds: 40})
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Result.OK() || len(rep.Result.Sessions) != 40 {
					t.Fatalf("%s; %d sessions", describe(rep), len(rep.Result.Sessions))
				}
				for _, p := range rep.Result.Properties {
					if p.Skipped {
						t.Fatalf("seed %d: %s skipped in exact-order mode", seed, p.ID)
					}
				}
			}
		})
	}
}

// runBubble runs cfg inside a synctest bubble: delays take no real time,
// so long runs are cheap and the broken variants' windows (a helper still
// working, a sleeping Santa) are reliably open.
func runBubble(t *testing.T, cfg Config) Report {
	t.Helper()
	var rep Report
	var err error
	synctest.Test(t, func(t *testing.T) { rep, err = Run(cfg) })
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCorrectVariantsPassInBubble(t *testing.T) {
	for _, v := range []Variant{VariantSTM, VariantChannel} {
		t.Run(string(v), func(t *testing.T) {
			for _, seed := range seeds(t, 8) {
				rep := runBubble(t, Config{Seed: seed, Variant: v, Rounds: 100})
				if !rep.Result.OK() {
					t.Fatal(describe(rep))
				}
			}
		})
	}
}

// Each broken variant must be caught on its target property in every run.
func TestBrokenVariantsCaught(t *testing.T) {
	for v, target := range map[Variant]string{
		VariantRandomChoice: "S7",
		VariantNoOutGate:    "S4",
		VariantSharedGates:  "S5",
	} {
		t.Run(string(v), func(t *testing.T) {
			for _, seed := range seeds(t, 6) {
				for _, bubble := range []bool{false, true} {
					// Sessions as long as vacations: each group tends to
					// fill while Santa is busy with the other, so most
					// choices are contested and random-choice gets many
					// chances to be wrong.
					cfg := Config{Seed: seed, Variant: v, Rounds: 60, Work: Delay{500 * time.Microsecond, time.Millisecond}}
					var rep Report
					if bubble {
						rep = runBubble(t, cfg)
					} else if rep, _ = Run(cfg); rep.Config.Variant != v {
						t.Fatal("Run did not run the variant asked for")
					}
					if v == VariantRandomChoice && rep.Result.Contested < 10 {
						t.Fatalf("bubble %v: only %d contested choices: too few to show S7 reliably; %s", bubble, rep.Result.Contested, describe(rep))
					}
					if p, _ := rep.Result.Property(target); p.Passed() || p.Example == nil {
						t.Fatalf("bubble %v: %s not caught on %s: %s", bubble, v, target, describe(rep))
					}
				}
			}
		})
	}
}

// Without exact order the run still checks what it can.
func TestNoSeqRun(t *testing.T) {
	rep, err := Run(Config{Seed: 1, NoSeq: true, Rounds: 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result.Ordered || !rep.Result.OK() {
		t.Fatalf("ordered %v; %s", rep.Result.Ordered, describe(rep))
	}
	if p, _ := rep.Result.Property("S7"); !p.Skipped {
		t.Fatal("S7 not skipped without seq")
	}
	if p, _ := rep.Result.Property("S1"); !p.Passed() {
		t.Fatal("S1 not checked without seq")
	}
}

func TestTraceRoundTrip(t *testing.T) {
	rep, err := Run(Config{Seed: 7, Variant: VariantRandomChoice, Rounds: 30})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTrace(&buf, rep.Trace); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrace(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep.Trace) {
		t.Fatal("trace changed in a JSON Lines round trip")
	}
	again := Check(back, CheckOptions{})
	if !slices.Equal(again.Failed(), rep.Result.Failed()) || !reflect.DeepEqual(again.Sessions, rep.Result.Sessions) {
		t.Fatalf("re-check: failed %v, want %v", again.Failed(), rep.Result.Failed())
	}
}

// The correct versions never stall, so the watchdog is tested on a run
// whose helpers stay on vacation longer than its limit: no session can
// finish, and Run must report that rather than hang (virtual time).
func TestWatchdogReportsInsteadOfHanging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep, err := Run(Config{Seed: 1, Rounds: 5, Vacation: Delay{time.Hour, time.Hour}, Watchdog: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := rep.Result.Property("S9")
		if !rep.Trace.Meta.Stalled || p.Passed() {
			t.Fatalf("stalled %v, S9 passed %v", rep.Trace.Meta.Stalled, p.Passed())
		}
	})
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Reindeer: -1}, "Reindeer"},
		{Config{Elves: -3}, "Elves"},
		{Config{GroupSize: 11}, "GroupSize"},
		{Config{Rounds: -1}, "Rounds"},
		{Config{Variant: "lock"}, "Variant"},
		{Config{Work: Delay{Min: 2, Max: 1}}, "Work.Max"},
		{Config{Vacation: Delay{Min: -1}}, "Vacation.Min"},
		{Config{Watchdog: -1}, "Watchdog"},
	} {
		_, err := Run(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("Run(%+v) = %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
}

func TestTourRun(t *testing.T) {
	res, err := TourRun(t.Context())
	if err != nil || !res.Passed || res.Sessions != 30 || res.SessionsPerSec <= 0 {
		t.Fatalf("TourRun = %+v, %v", res, err)
	}
}
