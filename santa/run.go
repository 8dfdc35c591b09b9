package santa

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gostm.dev/stm"
)

// A Variant selects the implementation [Run] runs.
type Variant string

// The variants. Only VariantSTM and VariantChannel are correct; the others
// are negative controls that [Check] must catch.
const (
	// VariantSTM is the solution: gates and groups on STM, Santa's choice
	// one OrElse transaction with the reindeer first.
	VariantSTM Variant = "stm"
	// VariantChannel is the same problem with goroutines and channels
	// only; a coordinator goroutine owns the group state (see the package
	// documentation for why).
	VariantChannel Variant = "channel"
	// VariantRandomChoice lets Santa try the groups in a random order, as a
	// Go select over two ready channels would: it breaks priority (S7).
	VariantRandomChoice Variant = "random-choice"
	// VariantNoOutGate drops the out-gate: Santa declares the session over
	// as soon as everyone is in, while they are still working (S4).
	VariantNoOutGate Variant = "no-out-gate"
	// VariantSharedGates reuses one pair of gates across generations, so a
	// member of the next generation can take a pass meant for this one (S5).
	VariantSharedGates Variant = "shared-gates"
)

// Variants lists every variant, the correct ones first.
func Variants() []Variant {
	return []Variant{VariantSTM, VariantChannel, VariantRandomChoice, VariantNoOutGate, VariantSharedGates}
}

// A Delay is a range of durations; each use draws one uniformly from
// [Min, Max] with the actor's seeded generator.
type Delay struct {
	Min, Max time.Duration
}

func (d Delay) draw(r *rand.Rand) time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	return d.Min + time.Duration(r.Int64N(int64(d.Max-d.Min)+1))
}

// Config describes a run. Zero fields take the defaults shown.
type Config struct {
	Reindeer  int     // reindeer, all of whom make a reindeer group (9)
	Elves     int     // elves (10)
	GroupSize int     // elves per consultation (3)
	Rounds    int     // sessions Santa runs, reindeer and elf together (50)
	Seed      int64   // seeds every actor's delays (0 is a seed like any other)
	Variant   Variant // implementation (VariantSTM)

	// Vacation is a helper's time away between visits (0–1ms); Work is
	// the time a helper spends with Santa once inside (20µs–200µs); Santa
	// is Santa's time between choosing a group and opening its in-gate
	// (0–50µs). Work must not be empty for the no-out-gate variant to show.
	Vacation, Work, Santa Delay

	// NoSeq turns off the exact-order trace mode. That mode stamps every
	// logged transaction with a sequence number from one shared Var, which
	// gives the true commit order but makes every logged transaction
	// conflict with every other; it is on by default because the ordering
	// properties (S3, S4, S7) cannot be checked without it.
	NoSeq bool

	// Watchdog stops the run and reports it stalled when no session
	// finishes for this long (5s).
	Watchdog time.Duration
}

// Defaults.
const (
	DefaultReindeer  = 9
	DefaultElves     = 10
	DefaultGroupSize = 3
	DefaultRounds    = 50
	DefaultWatchdog  = 5 * time.Second
)

// A ConfigError reports an invalid Config field.
type ConfigError struct {
	Field  string // the Config field, e.g. "Rounds" or "Vacation.Max"
	Value  any
	Reason string
}

// Error names the field, its value and what is wrong with it.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("santa: Config.%s = %v: %s", e.Field, e.Value, e.Reason)
}

// withDefaults fills the zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Reindeer, DefaultReindeer)
	def(&c.Elves, DefaultElves)
	def(&c.GroupSize, DefaultGroupSize)
	def(&c.Rounds, DefaultRounds)
	if c.Variant == "" {
		c.Variant = VariantSTM
	}
	if c.Vacation == (Delay{}) {
		c.Vacation = Delay{0, time.Millisecond}
	}
	if c.Work == (Delay{}) {
		c.Work = Delay{20 * time.Microsecond, 200 * time.Microsecond}
	}
	if c.Santa == (Delay{}) {
		c.Santa = Delay{0, 50 * time.Microsecond}
	}
	if c.Watchdog == 0 {
		c.Watchdog = DefaultWatchdog
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Reindeer", c.Reindeer}, {"Elves", c.Elves}, {"GroupSize", c.GroupSize}, {"Rounds", c.Rounds}} {
		if f.v < 1 {
			return c, &ConfigError{f.name, f.v, "must be at least 1"}
		}
	}
	if c.GroupSize > c.Elves {
		return c, &ConfigError{"GroupSize", c.GroupSize, fmt.Sprintf("must not exceed Elves (%d): the group could never fill", c.Elves)}
	}
	if !slices.Contains(Variants(), c.Variant) {
		return c, &ConfigError{"Variant", fmt.Sprintf("%q", c.Variant), fmt.Sprintf("unknown variant (want one of %v)", Variants())}
	}
	for _, d := range []struct {
		name string
		d    Delay
	}{{"Vacation", c.Vacation}, {"Work", c.Work}, {"Santa", c.Santa}} {
		if d.d.Min < 0 {
			return c, &ConfigError{d.name + ".Min", d.d.Min, "must not be negative"}
		}
		if d.d.Max < d.d.Min {
			return c, &ConfigError{d.name + ".Max", d.d.Max, fmt.Sprintf("must not be below %s.Min (%v)", d.name, d.d.Min)}
		}
	}
	if c.Watchdog < 0 {
		return c, &ConfigError{"Watchdog", c.Watchdog, "must not be negative"}
	}
	return c, nil
}

// A Report is the outcome of a run.
type Report struct {
	Config  Config        // the configuration run, defaults filled in
	Trace   Trace         // every event, in order
	Result  Result        // the trace checked
	Elapsed time.Duration // wall-clock time of the run
	// STM is the engine's counters over the run. They are process-wide:
	// other transactions running at the same time are counted too.
	STM stm.Stats
	// Commits counts the run's committed transactions that logged an
	// event (in the exact-order mode, every logged event; 0 for the
	// channel variant).
	Commits int
}

// Run runs the Santa Claus problem as cfg says, checks the trace and
// reports. It returns an error only for an invalid cfg; a stalled run is
// a report whose S9 failed.
func Run(cfg Config) (Report, error) {
	return RunContext(context.Background(), cfg)
}

// RunContext is Run that stops early, returning the partial report and
// ctx.Err(), when ctx ends.
func RunContext(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{Config: cfg}, err
	}
	r := &runner{cfg: cfg, start: time.Now(), progress: make(chan struct{}, 1)}
	r.logs = make([][]Event, 1+cfg.Reindeer+cfg.Elves)
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	before := stm.ReadStats()
	var wg sync.WaitGroup
	done := make(chan struct{})
	if cfg.Variant == VariantChannel {
		r.startChannel(inner, &wg, done)
	} else {
		r.startSTM(inner, &wg, done)
	}
	stalled := r.watch(ctx, done, cfg.Watchdog)
	cancel()
	wg.Wait()
	rep := Report{Config: cfg, Elapsed: time.Since(r.start), STM: stm.ReadStats().Sub(before)}
	rep.Trace = Trace{Meta: Meta{
		Variant: cfg.Variant, Reindeer: cfg.Reindeer, Elves: cfg.Elves, GroupSize: cfg.GroupSize,
		Rounds: cfg.Rounds, Seed: cfg.Seed, Stalled: stalled, Watchdog: cfg.Watchdog,
	}, Events: r.merge()}
	if cfg.Variant != VariantChannel {
		rep.Commits = len(rep.Trace.Events)
	}
	rep.Result = Check(rep.Trace, CheckOptions{})
	return rep, ctx.Err()
}

// runner holds what every actor of one run shares.
type runner struct {
	cfg      Config
	start    time.Time
	sessions atomic.Int64
	progress chan struct{} // a session finished (capacity 1: a nudge, not a count)
	// logs has one slice per actor (Santa, then reindeer, then elves),
	// each appended to only by its actor's goroutine and read after they
	// have all exited: logging needs no lock and adds no contention.
	logs [][]Event
}

// watch waits for Santa to finish, resetting the watchdog whenever a
// session ends, and reports whether the watchdog fired.
func (r *runner) watch(ctx context.Context, done <-chan struct{}, limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case <-done:
			return false
		case <-ctx.Done():
			return false
		case <-r.progress:
			t.Reset(limit)
		case <-t.C:
			return true
		}
	}
}

func (r *runner) sessionDone() {
	r.sessions.Add(1)
	select {
	case r.progress <- struct{}{}:
	default:
	}
}

// rng returns actor i's generator: the same seed gives the same delays.
func (r *runner) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(i)*0x9E3779B97F4A7C15+1))
}

// now is the event time: the time since the run started.
func (r *runner) now() time.Duration { return time.Since(r.start) }

// merge puts the per-actor logs into one trace: by Seq when there is one,
// else by time, keeping each actor's own order.
func (r *runner) merge() []Event {
	var all []Event
	for _, l := range r.logs {
		all = append(all, l...)
	}
	slices.SortStableFunc(all, func(a, b Event) int {
		if a.Seq != b.Seq {
			return cmpInt64(a.Seq, b.Seq)
		}
		return cmpInt64(int64(a.T), int64(b.T))
	})
	return all
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sleep waits d, or less if ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func actorName(kind string, i int) string {
	if kind == KindReindeer {
		return fmt.Sprintf("reindeer-%d", i)
	}
	return fmt.Sprintf("elf-%d", i)
}
