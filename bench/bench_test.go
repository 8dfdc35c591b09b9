package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// small shrinks workloads so that every engine runs in milliseconds, also
// under -race; smaller sizes also mean more conflicts, which is what the
// invariant checks are for.
var small = map[string]map[string]int{
	"bank":        {"accounts": 16},
	"readmostly":  {"vars": 32, "reads": 4, "update": 50},
	"intset-list": {"initial": 32, "range": 64, "update": 50},
	"intset-skip": {"initial": 64, "range": 128, "update": 50},
	"longshort":   {"length": 32},
	"queue":       {"capacity": 4},
	"map":         {"keys": 64},
}

// TestEveryEngineKeepsItsInvariant runs each workload with each engine
// briefly, alone and contended, and fails on any broken invariant.
func TestEveryEngineKeepsItsInvariant(t *testing.T) {
	for _, w := range Default().Workloads() {
		t.Run(w.Name, func(t *testing.T) {
			res, err := Default().Run(context.Background(), w.Name, w.EngineNames(), Options{
				Goroutines: []int{1, 3}, Ops: 400, Count: 1, Seed: 7, Params: small[w.Name],
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(res.Points), 2*len(w.Engines); got != want {
				t.Fatalf("%d points, want %d", got, want)
			}
			for _, p := range res.Points {
				if p.Ops == 0 || p.TxPerSec.Median <= 0 {
					t.Errorf("%s g=%d: %d ops at %v tx/s: nothing measured", p.Engine, p.Goroutines, p.Ops, p.TxPerSec.Median)
				}
				if p.Err != "" {
					t.Errorf("%s g=%d: %s", p.Engine, p.Goroutines, p.Err)
				}
			}
		})
	}
}

// leakyBank is a deliberately broken bank engine: every 50th transfer of
// each worker debits without crediting, as a crash between the two writes
// would. It breaks the invariant deterministically, so the test that it
// is caught cannot pass by luck.
func leakyBank(s Setup) (Instance, error) {
	n := s.Params["accounts"]
	bal := make([]atomic.Int64, n)
	for i := range bal {
		bal[i].Store(bankInitial)
	}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			k := 0
			return func() bool {
				from, to := rng.IntN(n), rng.IntN(n)
				bal[from].Add(-1)
				if k++; k%50 != 0 {
					bal[to].Add(1)
				}
				return true
			}
		},
		CheckFunc: func() error {
			t := int64(0)
			for i := range bal {
				t += bal[i].Load()
			}
			if want := int64(n * bankInitial); t != want {
				return fmt.Errorf("bank total is %d, want %d", t, want)
			}
			return nil
		},
	}, nil
}

func TestBrokenEngineIsCaught(t *testing.T) {
	reg := Default().Clone()
	reg.RegisterEngine("bank", Engine{Name: "leaky", New: leakyBank})
	res, err := reg.Run(context.Background(), "bank", []string{Mutex, "leaky", Gostm}, Options{
		Goroutines: []int{2}, Ops: 1000, Count: 3, Seed: 42,
	})
	var inv *InvariantError
	if !errors.As(err, &inv) {
		t.Fatalf("Run returned %v, want an *InvariantError", err)
	}
	if inv.Engine != "leaky" || inv.Goroutines != 2 || inv.Rep != 0 || inv.Seed != 42 {
		t.Errorf("error names %s g=%d rep %d seed %d, want leaky g=2 rep 0 seed 42", inv.Engine, inv.Goroutines, inv.Rep, inv.Seed)
	}
	if !strings.Contains(err.Error(), "bank total is") {
		t.Errorf("error %q does not say what broke", err)
	}
	// Run stops at the failure: the mutex point, then the failing one.
	if len(res.Points) != 2 || res.Points[1].Err == "" || res.Points[0].Err != "" {
		t.Errorf("points %+v: want the mutex point, then leaky with Err set", res.Points)
	}
	if _, ok := Default().Workload("bank"); !ok {
		t.Fatal("bank missing from the default registry")
	}
	w, _ := Default().Workload("bank")
	if _, ok := w.Engine("leaky"); ok {
		t.Error("an engine registered in a clone leaked into the default registry")
	}
}

func TestWorkerPanicIsReported(t *testing.T) {
	reg := NewRegistry()
	reg.Register(Workload{Name: "boom", Engines: []Engine{{Name: "e", New: func(Setup) (Instance, error) {
		return &Funcs{WorkerFunc: func(int, *rand.Rand) func() bool {
			return func() bool { panic("kaboom") }
		}}, nil
	}}}})
	_, err := reg.Run(context.Background(), "boom", []string{"e"}, Options{Goroutines: []int{2}, Duration: time.Second, Count: 1})
	if err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("Run returned %v, want the worker's panic", err)
	}
}

func TestCancelledRunIsPartial(t *testing.T) {
	// A one-hour repetition only ends by cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	res, err := Default().Run(ctx, "counter", []string{Mutex, Atomic}, Options{
		Goroutines: []int{1}, Duration: time.Hour, Count: 1,
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if !res.Partial || len(res.Points) != 0 {
		t.Errorf("partial %v with %d points, want partial and no finished point", res.Partial, len(res.Points))
	}
}

func TestOpsModeCountsAboutOps(t *testing.T) {
	rep, err := Default().RunOne(context.Background(), "counter", Mutex, 2, Options{Ops: 10000})
	if err != nil {
		t.Fatal(err)
	}
	// Claims are batched per goroutine, so a few batches may be cut
	// short or run over; never many.
	if rep.Ops < 9000 || rep.Ops > 10200 {
		t.Errorf("ran %d ops, want about 10000", rep.Ops)
	}
}

func TestPointRecordsGOMAXPROCSAndOversubscription(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	res, err := Default().Run(context.Background(), "counter", []string{Atomic}, Options{
		Goroutines: []int{procs, procs + 1}, Ops: 100, Count: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, true} {
		p := res.Points[i]
		if p.GOMAXPROCS != procs || p.Oversubscribed != want || len(p.Reps) != 2 {
			t.Errorf("point %d: GOMAXPROCS %d oversubscribed %v reps %d, want %d %v 2", i, p.GOMAXPROCS, p.Oversubscribed, len(p.Reps), procs, want)
		}
	}
}

func TestGostmCountersSeeAborts(t *testing.T) {
	// The hot counter at several goroutines must conflict; gostm's
	// counters must show it, and the mutex must show none.
	res, err := Default().Run(context.Background(), "counter", []string{Gostm, Mutex}, Options{
		Goroutines: []int{8}, Duration: 100 * time.Millisecond, Count: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	g, m := res.Points[0], res.Points[1]
	if !g.HasCounters || m.HasCounters {
		t.Errorf("HasCounters gostm %v mutex %v, want true false", g.HasCounters, m.HasCounters)
	}
	if g.Counters.Aborts == 0 && runtime.GOMAXPROCS(0) > 1 {
		t.Logf("no aborts seen on the hot counter (possible on a quiet scheduler)")
	}
	var sum uint64
	for _, c := range g.Counters.Causes() {
		sum += c.Count
	}
	if sum != g.Counters.Aborts {
		t.Errorf("causes sum to %d, aborts %d", sum, g.Counters.Aborts)
	}
}

func TestSummarize(t *testing.T) {
	p := Point{Reps: []Rep{
		{Ops: 10, TxPerSec: 300, P99NS: 30, Counters: Counters{Aborts: 1}, Roles: map[string]float64{"a": 1}},
		{Ops: 10, TxPerSec: 100, P99NS: 10, Counters: Counters{Aborts: 2}, Roles: map[string]float64{"a": 3}},
		{Ops: 20, TxPerSec: 200, P99NS: 20, Counters: Counters{Aborts: 3}, Roles: map[string]float64{"a": 2}},
	}}
	p.Summarize()
	if p.TxPerSec != (Spread{Median: 200, Min: 100, Max: 300}) || p.P99NS != 20 || p.Roles["a"] != 2 {
		t.Errorf("summary %+v p99 %d roles %v", p.TxPerSec, p.P99NS, p.Roles)
	}
	if p.Ops != 40 || p.Counters.Aborts != 6 || p.AbortsPerCommit() != 0.15 {
		t.Errorf("ops %d aborts %d per commit %v, want 40 6 0.15", p.Ops, p.Counters.Aborts, p.AbortsPerCommit())
	}
	p.Reps = p.Reps[:2]
	p.Summarize()
	if p.TxPerSec.Median != 200 {
		t.Errorf("median of two is %v, want their mean 200", p.TxPerSec.Median)
	}
}

func TestResolveAndCheckRun(t *testing.T) {
	w, _ := Default().Workload("bank")
	for _, tc := range []struct {
		set  map[string]int
		opt  Options
		eng  []string
		want string
	}{
		{set: map[string]int{"nope": 1}, want: "has no parameter -nope"},
		{set: map[string]int{"audit": 101}, want: "-audit 101 is out of range [0, 100]"},
		{set: map[string]int{"accounts": 1}, want: "-accounts 1 is below the minimum 2"},
		{eng: []string{"gostm", "zzz"}, want: `unknown engine "zzz"`},
		{opt: Options{Goroutines: []int{1, 0}, Count: 1, Duration: 1}, want: "goroutine count 0"},
		{opt: Options{Goroutines: []int{1}, Count: 0, Duration: 1}, want: "count 0"},
		{opt: Options{Goroutines: []int{1}, Count: 1}, want: "duration 0s"},
		{opt: Options{Goroutines: []int{1}, Count: 1, Ops: -1}, want: "ops -1"},
		{opt: Options{Goroutines: []int{1}, Count: 1, Duration: 1, Warmup: -1}, want: "warm-up -1ns"},
	} {
		var err error
		if tc.set != nil {
			_, err = w.Resolve(tc.set, false)
		} else {
			if tc.eng == nil {
				tc.eng = []string{Gostm}
			}
			if tc.opt.Goroutines == nil {
				tc.opt = Options{Goroutines: []int{1}, Count: 1, Duration: 1}
			}
			err = w.CheckRun(tc.eng, &tc.opt)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
	il, _ := Default().Workload("intset-list")
	if _, err := il.Resolve(map[string]int{"initial": 10, "range": 5}, false); err == nil {
		t.Error("initial > range accepted")
	}
	p, err := w.Resolve(nil, true)
	if err != nil || p["audit"] != 10 || p["accounts"] != 1024 {
		t.Errorf("tour params %v, %v: want audit 10 (tour) and accounts 1024 (default)", p, err)
	}
}

func TestRegistryRejectsMistakes(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	newE := func(Setup) (Instance, error) { return &Funcs{}, nil }
	reg := NewRegistry()
	reg.Register(Workload{Name: "w", Engines: []Engine{{Name: "e", New: newE}}})
	mustPanic("duplicate workload", func() { reg.Register(Workload{Name: "w"}) })
	mustPanic("nameless workload", func() { reg.Register(Workload{}) })
	mustPanic("duplicate engine", func() { reg.RegisterEngine("w", Engine{Name: "e", New: newE}) })
	mustPanic("engine without New", func() { reg.RegisterEngine("w", Engine{Name: "f"}) })
	mustPanic("engine for no workload", func() { reg.RegisterEngine("nope", Engine{Name: "f", New: newE}) })
	mustPanic("bad default", func() {
		reg.Register(Workload{Name: "x", Params: []Param{{Name: "p", Default: -1, Min: 0}}})
	})
	demo := Demo{Name: "d", Run: func(context.Context, uint64) (DemoReport, error) { return DemoReport{}, nil }}
	reg.RegisterDemo(demo)
	mustPanic("duplicate demo", func() { reg.RegisterDemo(demo) })
	mustPanic("demo without Run", func() { reg.RegisterDemo(Demo{Name: "e"}) })

	before, _ := reg.Workload("w")
	reg.RegisterEngine("w", Engine{Name: "f", New: newE})
	after, _ := reg.Workload("w")
	if len(before.Engines) != 1 || len(after.Engines) != 2 {
		t.Errorf("engines before %d after %d, want 1 and 2 (copy on write)", len(before.Engines), len(after.Engines))
	}
	if len(reg.Demos()) != 1 {
		t.Errorf("%d demos, want 1", len(reg.Demos()))
	}
}

func TestVerdicts(t *testing.T) {
	pass := []Check{{Name: "a", OK: true}}
	fail := []Check{{Name: "a", OK: true}, {Name: "b"}}
	for _, tc := range []struct {
		o    Outcome
		want Verdict
		good bool
	}{
		{Outcome{Checks: pass}, VerdictOK, true},
		{Outcome{Checks: fail}, VerdictFail, false},
		{Outcome{Checks: fail, ExpectFail: true}, VerdictCaught, true},
		{Outcome{Checks: pass, ExpectFail: true}, VerdictMissed, false},
	} {
		if v := tc.o.Verdict(); v != tc.want || v.Good() != tc.good {
			t.Errorf("%+v: verdict %s good %v, want %s %v", tc.o, v, v.Good(), tc.want, tc.good)
		}
	}
}

// TestChecksCatchCorruption corrupts each structure behind the engines'
// backs, so the checks are shown to fail when they should.
func TestChecksCatchCorruption(t *testing.T) {
	s, err := newIntset(Setup{}, skipMaxLevel, 20, 40, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if err := isValidate(plainAccess{}, s, 20); err != nil {
		t.Fatalf("fresh set: %v", err)
	}
	if err := isValidate(plainAccess{}, s, 21); err == nil {
		t.Error("wrong size not caught")
	}
	first := s.head.next[0].p
	first.key, first.next[0].p.key = first.next[0].p.key, first.key // swap two keys
	if err := isValidate(plainAccess{}, s, 20); err == nil || !strings.Contains(err.Error(), "sorted") {
		t.Errorf("unsorted list: %v", err)
	}

	l := newQLedger(2)
	x := l.item(0)
	l.didPut(0, x)
	l.didTake(1, x)
	if err := l.check(nil); err != nil {
		t.Fatalf("balanced ledger: %v", err)
	}
	if err := l.check([]uint64{x}); err == nil {
		t.Error("duplicated item not caught")
	}
	l.didTake(1, x) // the same item again: not FIFO, and duplicated
	if err := l.check(nil); err == nil {
		t.Error("item taken twice not caught")
	}

	pc := newPingCounts(1)
	pc.pings[0], pc.pongs[0] = 5, 7
	if pc.check() == nil {
		t.Error("extra pongs not caught")
	}
	if err := lsCheck(func(i int) int { return map[int]int{0: 3, 1: 1, 2: 2}[i] }, 3, []int{1, 2}); err == nil {
		t.Error("torn long transaction not caught")
	}
	if counterCheck(3, []int{1, 1}) == nil {
		t.Error("counter mismatch not caught")
	}
	a := newBankAudits(Setup{Goroutines: 1, Params: Params{"accounts": 2}})
	a.saw(0, 1999)
	if a.check(2000) == nil {
		t.Error("a wrong audit not caught")
	}
}
