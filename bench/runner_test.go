package bench

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Setups that build much state stop when the run is cancelled: each of
// these would take seconds (the sorted list fills in quadratic time) and
// return no error if it did not look at the context.
func TestSetupStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		workload, engine string
		params           map[string]int
	}{
		{"map", Mutex, map[string]int{"keys": 5_000_000}},
		{"map", LockfreeBucket, map[string]int{"keys": 5_000_000}},
		{"intset-list", Mutex, map[string]int{"initial": 20_000, "range": 40_000}},
		{"intset-skip", Gostm, map[string]int{"initial": 2_000_000, "range": 4_000_000}},
		{"bank", Gostm, map[string]int{"accounts": 5_000_000}},
		{"readmostly", Anacrolix, map[string]int{"vars": 5_000_000}},
		{"longshort", Gostm, map[string]int{"length": 5_000_000}},
	} {
		w, _ := Default().Workload(tc.workload)
		e, _ := w.Engine(tc.engine)
		params, err := w.Resolve(tc.params, false)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := e.New(Setup{Goroutines: 1, Params: params, Seed: 1, Ctx: ctx})
		if !errors.Is(err, context.Canceled) || inst != nil {
			t.Errorf("%s/%s: New returned %v, %v; want nil, context.Canceled", tc.workload, tc.engine, inst, err)
		}
	}
}

// A run cancelled while an engine sets up is partial and cancelled, not an
// engine failure.
func TestCancelDuringSetupIsNotAFailure(t *testing.T) {
	reg := NewRegistry()
	started := make(chan struct{})
	reg.Register(Workload{Name: "slow", Engines: []Engine{{Name: "e", New: func(s Setup) (Instance, error) {
		close(started)
		<-s.Ctx.Done()
		return nil, errors.New("setup gave up") // not necessarily ctx.Err(): Run must still see the cancellation
	}}}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	res, err := reg.Run(ctx, "slow", []string{"e"}, Options{Goroutines: []int{1}, Duration: 1, Count: 1})
	if !errors.Is(err, context.Canceled) || len(InvariantErrors(err)) != 0 {
		t.Fatalf("Run returned %v, want context.Canceled and no invariant error", err)
	}
	if !res.Partial {
		t.Error("the result is not marked partial")
	}
}

// With Interleave, repetition r of every engine runs before repetition
// r+1 of any, and a broken engine does not stop the others.
func TestInterleavedRounds(t *testing.T) {
	reg := Default().Clone()
	var order []string
	reg.RegisterEngine("bank", Engine{Name: "leaky", New: func(s Setup) (Instance, error) {
		order = append(order, "leaky")
		return leakyBank(s)
	}})
	reg.RegisterEngine("bank", Engine{Name: "fine", New: func(s Setup) (Instance, error) {
		order = append(order, "fine")
		w, _ := Default().Workload("bank")
		e, _ := w.Engine(Mutex)
		return e.New(s)
	}})
	res, err := reg.Run(context.Background(), "bank", []string{"fine", "leaky"}, Options{
		Goroutines: []int{2}, Ops: 1000, Count: 3, Seed: 42, Interleave: true, Params: map[string]int{"accounts": 16},
	})
	invs := InvariantErrors(err)
	if len(invs) != 1 || invs[0].Engine != "leaky" || invs[0].Rep != 0 {
		t.Fatalf("Run returned %v, want one invariant error, of leaky's first repetition", err)
	}
	if want := []string{"fine", "leaky", "fine", "fine"}; !slices.Equal(order, want) {
		t.Errorf("setups ran in the order %v, want %v", order, want)
	}
	if len(res.Points) != 2 || len(res.Points[0].Reps) != 3 || res.Points[0].Err != "" || res.Points[1].Err == "" {
		t.Errorf("points %+v: want fine with 3 repetitions, then leaky with Err set", res.Points)
	}
}

// Every seed in a result fits in 53 bits, so JSON readers that hold
// numbers as float64 read them exactly; a larger seed is refused.
func TestSeedsFitInJSONNumbers(t *testing.T) {
	res, err := Default().Run(context.Background(), "counter", []string{Mutex, Atomic}, Options{
		Goroutines: []int{1, 2}, Ops: 100, Count: 3, Seed: MaxSeed,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Seed   float64 `json:"seed"`
		Points []struct {
			Reps []struct {
				Seed float64 `json:"seed"`
			} `json:"reps"`
		} `json:"points"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if uint64(doc.Seed) != MaxSeed {
		t.Errorf("the run's seed reads back as %v", doc.Seed)
	}
	for i, p := range doc.Points {
		for j, r := range p.Reps {
			if want := res.Points[i].Reps[j].Seed; uint64(r.Seed) != want || want > MaxSeed {
				t.Errorf("point %d rep %d: seed %d reads back as %v", i, j, want, r.Seed)
			}
		}
	}
	for _, rep := range []int{0, 1, 1000} {
		if s := repSeed(rand.Uint64(), "e", 2, rep); s > MaxSeed {
			t.Errorf("repSeed gave %d, above 2^53", s)
		}
	}
	_, err = Default().Run(context.Background(), "counter", []string{Mutex}, Options{Goroutines: []int{1}, Ops: 10, Count: 1, Seed: MaxSeed + 1})
	if err == nil || !strings.Contains(err.Error(), "2^53-1") {
		t.Errorf("seed 2^53: Run returned %v, want a refusal", err)
	}
}

// BenchmarkNothing measures nothing: TestCPUNameMatchesGoTest runs it to
// make the test binary print its "cpu:" line.
func BenchmarkNothing(b *testing.B) {
	for b.Loop() {
	}
}

// Env names the CPU exactly as go test's "cpu:" line does, so results from
// stmbench and from go test -bench can be put side by side.
func TestCPUNameMatchesGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the test binary")
	}
	out, err := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkNothing$", "-test.benchtime=1x").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^cpu: (.*)$`).FindSubmatch(out)
	if m == nil {
		t.Skipf("go test prints no cpu line here:\n%s", out)
	}
	if got, want := CurrentEnv().CPU, strings.TrimSpace(string(m[1])); got != want {
		t.Errorf("Env.CPU is %q, go test says %q", got, want)
	}
}
