package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Param is an integer parameter of a workload, set on the command line as
// -Name. Every parameter of the built-in workloads is a count or a
// percentage, so integers are enough and flags stay uniform.
type Param struct {
	Name    string
	Usage   string
	Default int
	Min     int // the smallest legal value
	Max     int // the largest legal value; 0 means no limit
	Tour    int // the value the tour uses; 0 means Default
}

// Params holds the value of every parameter of a workload, by name.
type Params map[string]int

// Setup is what an engine needs to build the shared state of one run.
type Setup struct {
	Goroutines int    // how many workers will call Instance.Worker
	Params     Params // every parameter of the workload, defaults filled in
	Seed       uint64 // for any randomness in the initial state
	// Ctx ends when the run is cancelled (Ctrl-C); nil means never. A
	// setup that builds much state checks Err as it goes.
	Ctx context.Context
}

// Err returns the error that ends the setup early: Ctx's error once the
// run is cancelled, else nil. A setup that builds state in a loop checks
// it every few thousand steps (see Setup.Cancelled) and returns it, so
// that Ctrl-C is honoured even while a 50-million-key map fills.
func (s Setup) Err() error {
	if s.Ctx == nil {
		return nil
	}
	return s.Ctx.Err()
}

// Cancelled reports, at step i of a setup loop, whether the run was
// cancelled. It looks at the context only every 4096 steps, so a loop can
// call it on every step.
func (s Setup) Cancelled(i int) bool { return i%4096 == 0 && s.Err() != nil }

// makeVars builds n transactional variables with mk, giving up when the
// run is cancelled: a bank of 50 million accounts takes seconds to build.
func makeVars[V any](s Setup, n int, mk func() V) ([]V, error) {
	vs := make([]V, n)
	for i := range vs {
		if s.Cancelled(i) {
			return nil, s.Err()
		}
		vs[i] = mk()
	}
	return vs, nil
}

// Instance is the shared state of one run of a workload by one engine.
//
// The runner calls Worker once per goroutine, then calls the returned
// operation in a loop on that goroutine until the run ends. When the run
// ends it calls Stop, waits for every worker to return, and calls Check.
type Instance interface {
	// Worker returns the operation goroutine g (0 ≤ g < Setup.Goroutines)
	// runs. rng is that goroutine's own generator. The operation returns
	// false when Stop interrupted it (it was blocked waiting for other
	// workers); the runner then does not count it and ends the worker.
	Worker(g int, rng *rand.Rand) func() bool
	// Stop unblocks every operation that waits for other workers (a
	// consumer on an empty queue, say), so that the run can end. It runs
	// once, while workers may still be running; it must not return before
	// helper goroutines the instance started have exited.
	Stop()
	// Check verifies the workload's invariant once every worker returned.
	Check() error
}

// Funcs is an Instance made of functions, for engines that keep their
// state in closures. A nil StopFunc or CheckFunc does nothing; a nil
// AttemptsFunc counts nothing.
type Funcs struct {
	WorkerFunc   func(g int, rng *rand.Rand) func() bool
	StopFunc     func()
	CheckFunc    func() error
	AttemptsFunc func() []Attempts // see AttemptCounter
}

// Worker calls f.WorkerFunc.
func (f *Funcs) Worker(g int, rng *rand.Rand) func() bool { return f.WorkerFunc(g, rng) }

// Stop calls f.StopFunc, if set.
func (f *Funcs) Stop() {
	if f.StopFunc != nil {
		f.StopFunc()
	}
}

// Check calls f.CheckFunc, if set.
func (f *Funcs) Check() error {
	if f.CheckFunc != nil {
		return f.CheckFunc()
	}
	return nil
}

// Attempts calls f.AttemptsFunc, if set.
func (f *Funcs) Attempts() []Attempts {
	if f.AttemptsFunc != nil {
		return f.AttemptsFunc()
	}
	return nil
}

// Engine is one way of running a workload.
type Engine struct {
	Name string
	Doc  string
	// New builds the shared state for one run.
	New func(Setup) (Instance, error)
	// Counters reads the engine's process-wide event counters, or is nil
	// when the engine keeps none (locks and channels do not abort).
	Counters func() Counters
}

// Workload is a benchmark problem: parameters, an invariant the engines'
// instances check, and the engines that solve it.
type Workload struct {
	Name   string
	Doc    string
	Params []Param
	// Role names what worker g of n does ("producer", "long"), or is nil
	// when all workers do the same. Throughput is also reported per role.
	Role func(g, n int) string
	// Validate checks the parameters together, after each is in range.
	// It may be nil.
	Validate func(Params) error
	Engines  []Engine
}

// Engine returns the engine called name.
func (w *Workload) Engine(name string) (*Engine, bool) {
	for i := range w.Engines {
		if w.Engines[i].Name == name {
			return &w.Engines[i], true
		}
	}
	return nil, false
}

// EngineNames returns the names of w's engines in registration order.
func (w *Workload) EngineNames() []string {
	names := make([]string, len(w.Engines))
	for i, e := range w.Engines {
		names[i] = e.Name
	}
	return names
}

// Param returns the parameter called name.
func (w *Workload) Param(name string) (*Param, bool) {
	for i := range w.Params {
		if w.Params[i].Name == name {
			return &w.Params[i], true
		}
	}
	return nil, false
}

// Resolve returns the full parameter set for w: every default, then each
// value of set, checked against the parameter's range. A name in set that
// w does not have is an error, so a mistyped flag cannot be silently
// ignored. tour selects the tour values as defaults.
func (w *Workload) Resolve(set map[string]int, tour bool) (Params, error) {
	p := make(Params, len(w.Params))
	for _, d := range w.Params {
		p[d.Name] = d.Default
		if tour && d.Tour != 0 {
			p[d.Name] = d.Tour
		}
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names) // the first error reported must not depend on map order
	for _, name := range names {
		v := set[name]
		d, ok := w.Param(name)
		if !ok {
			return nil, fmt.Errorf("workload %s has no parameter -%s", w.Name, name)
		}
		if v < d.Min || (d.Max != 0 && v > d.Max) {
			if d.Max != 0 {
				return nil, fmt.Errorf("-%s %d is out of range [%d, %d]", name, v, d.Min, d.Max)
			}
			return nil, fmt.Errorf("-%s %d is below the minimum %d", name, v, d.Min)
		}
		p[name] = v
	}
	if w.Validate != nil {
		if err := w.Validate(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Check is one named property a demo verified.
type Check struct {
	Name   string
	OK     bool
	Detail string // the first counterexample when !OK
}

// Outcome is one mode of a demo (one synchronisation style, or one broken
// variant) with its throughput and the checks it passed or failed.
type Outcome struct {
	Mode     string
	TxPerSec float64
	Checks   []Check
	// ExpectFail marks a negative control: a deliberately broken variant
	// whose checks must fail, to show that the checker can catch it.
	ExpectFail bool
}

// Verdict is how a demo outcome compares with what was expected.
type Verdict string

// Verdicts. Only VerdictOK and VerdictCaught are good.
const (
	VerdictOK     Verdict = "ok"     // correct mode, every check passed
	VerdictCaught Verdict = "caught" // broken mode, a check failed as it should
	VerdictFail   Verdict = "FAIL"   // correct mode, a check failed
	VerdictMissed Verdict = "MISSED" // broken mode, yet every check passed
)

// Verdict returns the outcome's verdict.
func (o Outcome) Verdict() Verdict {
	failed := false
	for _, c := range o.Checks {
		if !c.OK {
			failed = true
		}
	}
	switch {
	case failed && o.ExpectFail:
		return VerdictCaught
	case failed:
		return VerdictFail
	case o.ExpectFail:
		return VerdictMissed
	}
	return VerdictOK
}

// Good reports whether the verdict is the expected one.
func (v Verdict) Good() bool { return v == VerdictOK || v == VerdictCaught }

// DemoReport is what a short demo run found.
type DemoReport struct {
	Outcomes []Outcome
	// Baseline names the outcome that throughput ratios are relative to
	// (the global-lock mode, typically); empty means none.
	Baseline string
}

// Demo is a self-checking demonstration (the bank race, Santa Claus) that
// the tour runs briefly.
type Demo struct {
	Name string
	Doc  string
	// Run performs a short run with the given seed; it must honour ctx.
	// An error means the demo could not run at all.
	Run func(ctx context.Context, seed uint64) (DemoReport, error)
	// Estimate is about how long Run takes, for progress bars' estimates
	// of the time left; 0 means half a second.
	Estimate time.Duration
}

// Registry holds workloads and demos. The package-level functions use the
// default registry, which the built-in workloads register into; tests use
// their own (see Clone) so that a deliberately broken engine never leaks
// into the tour.
type Registry struct {
	mu        sync.Mutex
	workloads []*Workload
	demos     []Demo
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

var defaultRegistry = NewRegistry()

// Default returns the registry the package-level functions use.
func Default() *Registry { return defaultRegistry }

// Register adds w to the default registry; see Registry.Register.
func Register(w Workload) { defaultRegistry.Register(w) }

// RegisterEngine adds e to a workload of the default registry; see
// Registry.RegisterEngine.
func RegisterEngine(workload string, e Engine) { defaultRegistry.RegisterEngine(workload, e) }

// RegisterDemo adds d to the default registry; see Registry.RegisterDemo.
func RegisterDemo(d Demo) { defaultRegistry.RegisterDemo(d) }

// Register adds a workload. Registration happens in init functions, where
// a mistake is a programming error, so it panics on a duplicate or
// malformed workload rather than returning an error nobody checks.
func (r *Registry) Register(w Workload) {
	if w.Name == "" {
		panic("bench: Register: workload with no name")
	}
	for _, p := range w.Params {
		if p.Name == "" || p.Default < p.Min || (p.Max != 0 && p.Default > p.Max) {
			panic(fmt.Sprintf("bench: Register %s: parameter %q has a default outside its range", w.Name, p.Name))
		}
	}
	seen := map[string]bool{}
	for _, e := range w.Engines {
		checkEngine(w.Name, e)
		if seen[e.Name] {
			panic(fmt.Sprintf("bench: Register %s: engine %s twice", w.Name, e.Name))
		}
		seen[e.Name] = true
	}
	w.Params = slices.Clone(w.Params)
	w.Engines = slices.Clone(w.Engines)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, old := range r.workloads {
		if old.Name == w.Name {
			panic("bench: Register: workload " + w.Name + " registered twice")
		}
	}
	r.workloads = append(r.workloads, &w)
}

// RegisterEngine adds an engine to a registered workload, so a package can
// contribute its own solution of, say, the bank workload.
func (r *Registry) RegisterEngine(workload string, e Engine) {
	checkEngine(workload, e)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range r.workloads {
		if w.Name != workload {
			continue
		}
		if _, dup := w.Engine(e.Name); dup {
			panic(fmt.Sprintf("bench: RegisterEngine %s: engine %s twice", workload, e.Name))
		}
		// Copy on write: a Workload handed out earlier must not change
		// under its holder.
		nw := *w
		nw.Engines = append(slices.Clone(w.Engines), e)
		r.workloads[i] = &nw
		return
	}
	panic("bench: RegisterEngine: no workload " + workload)
}

func checkEngine(workload string, e Engine) {
	if e.Name == "" || e.New == nil {
		panic(fmt.Sprintf("bench: workload %s: engine %q has no name or no New", workload, e.Name))
	}
}

// RegisterDemo adds a demo to the tour.
func (r *Registry) RegisterDemo(d Demo) {
	if d.Name == "" || d.Run == nil {
		panic(fmt.Sprintf("bench: RegisterDemo: demo %q has no name or no Run", d.Name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, old := range r.demos {
		if old.Name == d.Name {
			panic("bench: RegisterDemo: demo " + d.Name + " registered twice")
		}
	}
	r.demos = append(r.demos, d)
}

// Workloads returns the registered workloads in registration order.
func (r *Registry) Workloads() []*Workload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.workloads)
}

// Workload returns the workload called name.
func (r *Registry) Workload(name string) (*Workload, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workloads {
		if w.Name == name {
			return w, true
		}
	}
	return nil, false
}

// Demos returns the registered demos in registration order.
func (r *Registry) Demos() []Demo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.demos)
}

// Clone returns a registry with the same workloads and demos, to which a
// test can add without touching r.
func (r *Registry) Clone() *Registry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &Registry{workloads: slices.Clone(r.workloads), demos: slices.Clone(r.demos)}
}
