package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Options says how Run measures.
type Options struct {
	// Goroutines lists the worker counts to sweep, in order.
	Goroutines []int
	// Duration is how long each repetition measures, after the warm-up.
	Duration time.Duration
	// Ops, when positive, replaces Duration: each repetition measures
	// until about Ops operations have completed (within a batch per
	// goroutine, so that claiming work is not a contention point).
	Ops int
	// Warmup runs the workload unmeasured first, on the same instance,
	// so that caches, pools and the scheduler settle.
	Warmup time.Duration
	// Count is the number of repetitions per point.
	Count int
	// Seed makes the workers' random streams, hence the operation mix,
	// reproducible; scheduling is not.
	Seed uint64
	// Params overrides workload parameters by name.
	Params map[string]int
	// Tour selects the workload's tour parameter values as defaults.
	Tour bool
	// LatencyEvery samples the latency of one operation in this many
	// (0 means 8): timing every operation would double the cost of the
	// cheapest ones.
	LatencyEvery int
	// Progress, when set, is called after every repetition, on the
	// goroutine that called Run.
	Progress func(Progress)
	// Interleave runs the repetitions of each goroutine count in rounds:
	// round r runs repetition r of every engine, one after another, so
	// that a change in the machine's load during the run hits all the
	// engines alike instead of whichever ran then. An engine whose
	// invariant breaks sits out the later rounds while the others go on;
	// a cancelled run keeps the points with at least one repetition.
	Interleave bool
}

// MaxSeed is the largest seed Run accepts. Seeds, and the repetition
// seeds derived from them, stay within 2^53 so that every JSON reader
// (JavaScript's numbers are float64) reads them exactly.
const MaxSeed = 1<<53 - 1

// Progress tells how far Run has got.
type Progress struct {
	Done, Total int // repetitions
	Workload    string
	Engine      string
	Goroutines  int
}

// ParamValue is one parameter's value, in the workload's order.
type ParamValue struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
}

// Rep is one repetition of one point.
type Rep struct {
	Seed        uint64             `json:"seed"`
	Ops         uint64             `json:"ops"`
	ElapsedNS   int64              `json:"elapsed_ns"`
	TxPerSec    float64            `json:"tx_per_sec"`
	Counters    Counters           `json:"counters"` // zero when the engine keeps none
	AllocsPerOp float64            `json:"allocs_per_op"`
	BytesPerOp  float64            `json:"bytes_per_op"`
	P50NS       int64              `json:"p50_ns"`
	P99NS       int64              `json:"p99_ns"`
	Roles       map[string]float64 `json:"roles,omitempty"` // tx/s per worker role
	// Attempts counts the transactions the instance tallies itself (see
	// AttemptCounter) by their attempts; nil when it tallies none.
	Attempts []Attempts `json:"attempts,omitempty"`
}

// Spread is the median of a metric over repetitions, with its range.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Point is one engine at one goroutine count: every repetition and their
// summary.
type Point struct {
	Workload   string       `json:"workload"`
	Engine     string       `json:"engine"`
	Params     []ParamValue `json:"params"`
	Goroutines int          `json:"goroutines"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	// Oversubscribed is true when Goroutines > GOMAXPROCS: the point then
	// measures time-slicing, not parallel scaling.
	Oversubscribed bool  `json:"oversubscribed"`
	HasCounters    bool  `json:"has_counters"` // the engine reports aborts and blocks
	Reps           []Rep `json:"reps"`

	// Summary, filled by Summarize.
	TxPerSec    Spread             `json:"tx_per_sec"`
	Ops         uint64             `json:"ops"`      // over all repetitions
	Counters    Counters           `json:"counters"` // over all repetitions
	AllocsPerOp float64            `json:"allocs_per_op"`
	BytesPerOp  float64            `json:"bytes_per_op"`
	P50NS       int64              `json:"p50_ns"`
	P99NS       int64              `json:"p99_ns"`
	Roles       map[string]float64 `json:"roles,omitempty"`
	Attempts    []Attempts         `json:"attempts,omitempty"` // over all repetitions
	// Err is the invariant violation (or worker panic) of the last
	// repetition, if any.
	Err string `json:"error,omitempty"`
}

// AbortsPerCommit is aborts divided by completed operations over every
// repetition; a ratio of totals is steadier than a median of ratios when
// aborts are rare.
func (p *Point) AbortsPerCommit() float64 { return ratio(p.Counters.Aborts, p.Ops) }

// BlocksPerCommit is blocks in Retry per completed operation.
func (p *Point) BlocksPerCommit() float64 { return ratio(p.Counters.Blocks, p.Ops) }

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Summarize computes the summary fields from Reps.
func (p *Point) Summarize() {
	p.Ops, p.Counters, p.Attempts = 0, Counters{}, nil
	tx := make([]float64, len(p.Reps))
	allocs := make([]float64, len(p.Reps))
	bytes := make([]float64, len(p.Reps))
	p50 := make([]float64, len(p.Reps))
	p99 := make([]float64, len(p.Reps))
	roles := map[string][]float64{}
	for i, r := range p.Reps {
		tx[i], allocs[i], bytes[i] = r.TxPerSec, r.AllocsPerOp, r.BytesPerOp
		p50[i], p99[i] = float64(r.P50NS), float64(r.P99NS)
		p.Ops += r.Ops
		p.Counters = p.Counters.Add(r.Counters)
		p.Attempts = AddAttempts(p.Attempts, r.Attempts)
		for k, v := range r.Roles {
			roles[k] = append(roles[k], v)
		}
	}
	p.TxPerSec = spread(tx)
	p.AllocsPerOp = spread(allocs).Median
	p.BytesPerOp = spread(bytes).Median
	p.P50NS = int64(spread(p50).Median)
	p.P99NS = int64(spread(p99).Median)
	p.Roles = nil
	if len(roles) > 0 {
		p.Roles = map[string]float64{}
		for k, v := range roles {
			p.Roles[k] = spread(v).Median
		}
	}
}

func spread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[n-1]}
}

// Result is everything one Run measured.
type Result struct {
	Workload string       `json:"workload"`
	Engines  []string     `json:"engines"`
	Params   []ParamValue `json:"params"`
	Seed     uint64       `json:"seed"`
	// DurationNS and Ops are the per-repetition budget (one of them is 0).
	DurationNS int64   `json:"duration_ns"`
	Ops        int     `json:"ops"`
	WarmupNS   int64   `json:"warmup_ns"`
	Count      int     `json:"count"`
	Points     []Point `json:"points"`
	// Partial is true when the run was cancelled: Points holds the points
	// that finished.
	Partial bool `json:"partial"`
}

// InvariantError reports a broken invariant: the engine is incorrect, and
// no throughput it showed means anything.
type InvariantError struct {
	Workload   string
	Engine     string
	Goroutines int
	Rep        int    // 0-based repetition
	Seed       uint64 // the Options.Seed that reproduces the operation mix
	Err        error
}

// Error says what broke, where, and with which seed.
func (e *InvariantError) Error() string {
	return fmt.Sprintf("invariant broken: workload %s, engine %s, %d goroutines, repetition %d, seed %d: %v",
		e.Workload, e.Engine, e.Goroutines, e.Rep+1, e.Seed, e.Err)
}

// Unwrap returns the workload's own description of the violation.
func (e *InvariantError) Unwrap() error { return e.Err }

// CheckRun checks opt and engine names for workload w: every engine exists, every
// count is positive. The error names the bad value.
func (w *Workload) CheckRun(engines []string, opt *Options) error {
	if len(engines) == 0 {
		return errors.New("no engines given")
	}
	for _, e := range engines {
		if _, ok := w.Engine(e); !ok {
			return fmt.Errorf("unknown engine %q for workload %s (have %v)", e, w.Name, w.EngineNames())
		}
	}
	if len(opt.Goroutines) == 0 {
		return errors.New("no goroutine counts given")
	}
	for _, g := range opt.Goroutines {
		if g <= 0 {
			return fmt.Errorf("goroutine count %d is not positive", g)
		}
	}
	switch {
	case opt.Count <= 0:
		return fmt.Errorf("count %d is not positive", opt.Count)
	case opt.Ops < 0:
		return fmt.Errorf("ops %d is negative", opt.Ops)
	case opt.Ops == 0 && opt.Duration <= 0:
		return fmt.Errorf("duration %v is not positive", opt.Duration)
	case opt.Warmup < 0:
		return fmt.Errorf("warm-up %v is negative", opt.Warmup)
	case opt.LatencyEvery < 0:
		return fmt.Errorf("latency sampling interval %d is negative", opt.LatencyEvery)
	case opt.Seed > MaxSeed:
		return fmt.Errorf("seed %d is above the largest, %d (2^53-1)", opt.Seed, uint64(MaxSeed))
	}
	_, err := w.Resolve(opt.Params, opt.Tour)
	return err
}

// Run sweeps opt.Goroutines for each engine of the workload called
// workload, opt.Count repetitions per point, one point at a time (or, with
// opt.Interleave, one round of all engines at a time).
//
// It stops at the first broken invariant and returns the points so far
// (the failing one last, with Err set) and an *InvariantError; with
// Interleave it finishes the other engines and returns every
// InvariantError, joined (see InvariantErrors). When ctx ends it returns
// the points that finished, with Partial set, and ctx.Err(). Other errors
// mean nothing ran.
func (r *Registry) Run(ctx context.Context, workload string, engines []string, opt Options) (*Result, error) {
	w, ok := r.Workload(workload)
	if !ok {
		return nil, fmt.Errorf("unknown workload %q", workload)
	}
	if err := w.CheckRun(engines, &opt); err != nil {
		return nil, err
	}
	params, _ := w.Resolve(opt.Params, opt.Tour)
	res := &Result{
		Workload:   w.Name,
		Engines:    slices.Clone(engines),
		Params:     ordered(w, params),
		Seed:       opt.Seed,
		DurationNS: int64(opt.Duration),
		Ops:        opt.Ops,
		WarmupNS:   int64(opt.Warmup),
		Count:      opt.Count,
	}
	if opt.Ops > 0 {
		res.DurationNS = 0
	}
	s := &sweep{w: w, params: params, opt: &opt, res: res, total: len(engines) * len(opt.Goroutines) * opt.Count}
	for _, g := range opt.Goroutines {
		var err error
		if opt.Interleave {
			err = s.rounds(ctx, engines, g)
		} else {
			err = s.serial(ctx, engines, g)
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// sweep is one Run in progress.
type sweep struct {
	w      *Workload
	params Params
	opt    *Options
	res    *Result
	done   int // repetitions, for Progress
	total  int
}

// newPoint starts the point of engine name at g goroutines.
func (s *sweep) newPoint(name string, g int) Point {
	e, _ := s.w.Engine(name)
	procs := runtime.GOMAXPROCS(0)
	return Point{
		Workload: s.w.Name, Engine: e.Name, Params: s.res.Params,
		Goroutines: g, GOMAXPROCS: procs, Oversubscribed: g > procs,
		HasCounters: e.Counters != nil,
	}
}

// rep runs repetition i of pt and adds it. It returns the repetition's
// *InvariantError (pt.Err is then set) or ctx's error.
func (s *sweep) rep(ctx context.Context, pt *Point, i int) error {
	e, _ := s.w.Engine(pt.Engine)
	rp, err := runRep(ctx, s.w, e, s.params, pt.Goroutines, repSeed(s.opt.Seed, e.Name, pt.Goroutines, i), s.opt)
	var inv *InvariantError
	switch {
	case errors.As(err, &inv):
		inv.Rep, inv.Seed = i, s.opt.Seed
		pt.Reps = append(pt.Reps, rp)
		pt.Err = inv.Err.Error()
		return err
	case err != nil: // cancelled: this repetition did not finish
		return err
	}
	pt.Reps = append(pt.Reps, rp)
	s.done++
	if s.opt.Progress != nil {
		s.opt.Progress(Progress{Done: s.done, Total: s.total, Workload: s.w.Name, Engine: pt.Engine, Goroutines: pt.Goroutines})
	}
	return nil
}

// serial runs each engine's repetitions one after another.
func (s *sweep) serial(ctx context.Context, engines []string, g int) error {
	for _, name := range engines {
		pt := s.newPoint(name, g)
		for i := range s.opt.Count {
			if err := s.rep(ctx, &pt, i); err != nil {
				if pt.Err != "" {
					pt.Summarize()
					s.res.Points = append(s.res.Points, pt)
				} else {
					s.res.Partial = true
				}
				return err
			}
		}
		pt.Summarize()
		s.res.Points = append(s.res.Points, pt)
	}
	return nil
}

// rounds runs repetition i of every engine before repetition i+1 of any.
func (s *sweep) rounds(ctx context.Context, engines []string, g int) error {
	pts := make([]Point, len(engines))
	for i, name := range engines {
		pts[i] = s.newPoint(name, g)
	}
	var errs []error
	cancelled := false
	for i := 0; i < s.opt.Count && !cancelled; i++ {
		for j := range pts {
			if pts[j].Err != "" {
				continue // its invariant broke: no more repetitions
			}
			err := s.rep(ctx, &pts[j], i)
			if err != nil && pts[j].Err == "" { // cancelled
				s.res.Partial, cancelled = true, true
				errs = append(errs, err)
				break
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, pt := range pts {
		if len(pt.Reps) > 0 {
			pt.Summarize()
			s.res.Points = append(s.res.Points, pt)
		}
	}
	return errors.Join(errs...)
}

// InvariantErrors returns every *InvariantError in err, which may join
// several (Run with Interleave does).
func InvariantErrors(err error) []*InvariantError {
	var out []*InvariantError
	var walk func(error)
	walk = func(err error) {
		var inv *InvariantError
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		default:
			if errors.As(err, &inv) {
				out = append(out, inv)
			}
		}
	}
	walk(err)
	return out
}

func ordered(w *Workload, p Params) []ParamValue {
	out := make([]ParamValue, len(w.Params))
	for i, d := range w.Params {
		out[i] = ParamValue{d.Name, p[d.Name]}
	}
	return out
}

// repSeed derives a repetition's seed from the run's seed, so that each
// point has its own stream and re-running with the same seed repeats it.
// It keeps 53 bits, like every seed (see MaxSeed).
func repSeed(seed uint64, engine string, g, rep int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d/%d", seed, engine, g, rep)
	return h.Sum64() & MaxSeed
}

const (
	phaseWarm int32 = iota
	phaseMeasure
	phaseStop
)

// Latency histograms span 1 ns to 100 s with two significant digits:
// enough for p99, and small enough (tens of KiB) for one per worker.
const (
	histMin  = 1
	histMax  = int64(100 * time.Second)
	histSigs = 2
)

// worker is one goroutine's private accounting; the runner reads it only
// after the goroutine has returned.
type worker struct {
	ops   uint64
	hist  *hdrhistogram.Histogram
	panic any
}

// runRep runs one repetition: build, warm up, measure, stop, check.
func runRep(ctx context.Context, w *Workload, e *Engine, params Params, g int, seed uint64, opt *Options) (Rep, error) {
	if err := ctx.Err(); err != nil {
		return Rep{}, err
	}
	inst, err := e.New(Setup{Goroutines: g, Params: params, Seed: seed, Ctx: ctx})
	if ctx.Err() != nil {
		// Cancelled during setup: whatever New returned, nothing was
		// measured. Stop what it may have started.
		if inst != nil {
			inst.Stop()
		}
		return Rep{}, ctx.Err()
	}
	if err != nil {
		return Rep{}, &InvariantError{Workload: w.Name, Engine: e.Name, Goroutines: g, Err: fmt.Errorf("setup: %w", err)}
	}
	every := uint64(opt.LatencyEvery)
	if every == 0 {
		every = 8
	}
	var (
		phase     atomic.Int32
		remaining atomic.Int64
		exhausted = make(chan struct{})
		exhaust   sync.Once
		start     = make(chan struct{})
		wg        sync.WaitGroup
		workers   = make([]worker, g)
	)
	opsMode := opt.Ops > 0
	remaining.Store(int64(opt.Ops))
	batch := int64(max(1, min(64, opt.Ops/(g*16))))
	if opt.Warmup <= 0 {
		phase.Store(phaseMeasure)
	}
	for i := range g {
		wk := &workers[i]
		wk.hist = hdrhistogram.New(histMin, histMax, histSigs)
		op := inst.Worker(i, rand.New(rand.NewPCG(seed, uint64(i))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					wk.panic = r
				}
			}()
			<-start
			cur := phase.Load()
			var n uint64
			var claim int64
			for {
				// Compare with phaseStop itself, not just with cur: a worker
				// scheduled late may first look after the run has ended.
				ph := phase.Load()
				if ph == phaseStop {
					break
				}
				if ph != cur {
					cur, n = ph, 0 // warm-up operations do not count
				}
				if opsMode && cur == phaseMeasure && claim == 0 {
					left := remaining.Add(-batch)
					if left <= -batch {
						exhaust.Do(func() { close(exhausted) })
						break
					}
					claim = batch + min(left, 0)
				}
				sample := cur == phaseMeasure && n%every == 0
				var t0 time.Time
				if sample {
					t0 = time.Now()
				}
				if !op() {
					break
				}
				if sample {
					wk.hist.RecordValue(min(max(int64(time.Since(t0)), histMin), histMax))
				}
				n++
				if claim > 0 {
					claim--
				}
			}
			if cur == phaseMeasure {
				wk.ops = n
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	alloc := newAllocSample()
	var before, after Counters
	var triesBefore, triesAfter []Attempts
	tallied, _ := inst.(AttemptCounter)
	var b0, o0, b1, o1 uint64
	var t0, t1 time.Time
	cancelled := false
	wait := func(d time.Duration, until <-chan struct{}) {
		var tc <-chan time.Time
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			tc = t.C
		}
		select {
		case <-tc:
		case <-until:
		case <-allDone: // every worker ended early (panicked, most likely)
		case <-ctx.Done():
			cancelled = true
		}
	}
	close(start)
	if opt.Warmup > 0 {
		wait(opt.Warmup, nil)
	}
	// Read the counters before the measured interval starts, not after: an
	// operation counted as measured must not be tallied before it (a fast
	// workload did thousands of operations while the tallies were read).
	if e.Counters != nil {
		before = e.Counters()
	}
	if tallied != nil {
		triesBefore = tallied.Attempts()
	}
	if opt.Warmup > 0 {
		phase.Store(phaseMeasure)
	}
	t0 = time.Now()
	b0, o0 = alloc.read() // after the switch: it can take a while (far longer under -race)
	if !cancelled {
		if opsMode {
			wait(0, exhausted)
		} else {
			wait(opt.Duration, nil)
		}
	}
	t1 = time.Now()
	b1, o1 = alloc.read()
	if e.Counters != nil {
		after = e.Counters()
	}
	if tallied != nil {
		triesAfter = tallied.Attempts()
	}
	phase.Store(phaseStop)
	inst.Stop()
	<-allDone

	for i, wk := range workers {
		if wk.panic != nil {
			return Rep{}, &InvariantError{Workload: w.Name, Engine: e.Name, Goroutines: g,
				Err: fmt.Errorf("worker %d panicked: %v", i, wk.panic)}
		}
	}
	if cancelled {
		// Skip the check: it walks all the state (seconds for a huge
		// map), and whoever pressed Ctrl-C is waiting.
		return Rep{}, ctx.Err()
	}
	if err := inst.Check(); err != nil {
		return Rep{}, &InvariantError{Workload: w.Name, Engine: e.Name, Goroutines: g, Err: err}
	}

	rep := Rep{Seed: seed, ElapsedNS: int64(t1.Sub(t0)), Counters: after.Sub(before), Attempts: SubAttempts(triesAfter, triesBefore)}
	merged := hdrhistogram.New(histMin, histMax, histSigs)
	roleOps := map[string]uint64{}
	for i, wk := range workers {
		rep.Ops += wk.ops
		merged.Merge(wk.hist)
		if w.Role != nil {
			roleOps[w.Role(i, g)] += wk.ops
		}
	}
	secs := t1.Sub(t0).Seconds()
	if secs > 0 {
		rep.TxPerSec = float64(rep.Ops) / secs
	}
	if rep.Ops > 0 {
		rep.AllocsPerOp = float64(o1-o0) / float64(rep.Ops)
		rep.BytesPerOp = float64(b1-b0) / float64(rep.Ops)
	}
	rep.P50NS = merged.ValueAtQuantile(50)
	rep.P99NS = merged.ValueAtQuantile(99)
	if len(roleOps) > 0 {
		rep.Roles = map[string]float64{}
		for k, n := range roleOps {
			if secs > 0 {
				rep.Roles[k] = float64(n) / secs
			}
		}
	}
	return rep, nil
}

// RunOne runs a single repetition of one engine at g goroutines, for
// callers (go test -bench) that manage repetitions themselves. opt's
// Goroutines, Count and Progress are ignored.
func (r *Registry) RunOne(ctx context.Context, workload, engine string, g int, opt Options) (Rep, error) {
	w, ok := r.Workload(workload)
	if !ok {
		return Rep{}, fmt.Errorf("unknown workload %q", workload)
	}
	opt.Goroutines, opt.Count = []int{g}, 1
	if err := w.CheckRun([]string{engine}, &opt); err != nil {
		return Rep{}, err
	}
	params, _ := w.Resolve(opt.Params, opt.Tour)
	e, _ := w.Engine(engine)
	return runRep(ctx, w, e, params, g, repSeed(opt.Seed, engine, g, 0), &opt)
}
