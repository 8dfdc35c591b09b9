package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gostm.dev/bench"
)

// engineOrder is the column order of the summary: the STMs, then locks
// from coarse to fine, then the non-lock alternatives. Engines registered
// by other packages follow, sorted.
var engineOrder = []string{bench.Gostm, bench.Anacrolix, bench.Mutex, bench.FineLock, bench.RWMutex, bench.Channel, bench.Atomic}

// tourCell is one engine on one workload in the tour.
type tourCell struct {
	point *bench.Point // nil when the run failed before a point existed
	err   error
}

type tourConfig struct {
	duration, warmup time.Duration
	count            int
	goroutines       int
	seed             uint64
	quiet            bool
	workloads        []string // empty: all
	demos            bool
}

// demoMillis is about how long a demo's tour run takes, in the progress
// bar's units.
func demoMillis(d bench.Demo) int {
	if d.Estimate > 0 {
		return int(d.Estimate / time.Millisecond)
	}
	return 500
}

func (a *app) parseTour(args []string) (*tourConfig, error) {
	c := &tourConfig{}
	fs := flag.NewFlagSet("tour", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&c.duration, "duration", 200*time.Millisecond, "measured time per engine, workload and round")
	fs.DurationVar(&c.warmup, "warmup", 50*time.Millisecond, "unmeasured warm-up before each measurement")
	fs.IntVar(&c.count, "count", 3, "rounds: each runs every engine of a workload once, in turn; the median is reported")
	fs.IntVar(&c.goroutines, "goroutines", max(2, a.env.GOMAXPROCS), "worker goroutines for every workload")
	seed := &seedFlag{v: 1}
	fs.Var(seed, "seed", "seed of the workers' random streams, "+seedUsage)
	fs.BoolVar(&c.quiet, "q", false, "no progress bar")
	only := fs.String("workloads", "all", "comma-separated workloads to include, or all")
	fs.BoolVar(&c.demos, "demos", true, "include the registered demos")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, "usage: stmbench [tour] [flags]\n\nRuns every registered workload with every engine, and every demo, briefly,\nand ends in one table of throughput relative to a global mutex.\n\nFlags:\n")
			fs.SetOutput(a.stdout)
			fs.PrintDefaults()
			return nil, errHelp
		}
		return nil, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	c.seed = seed.v
	switch {
	case c.duration <= 0:
		return nil, usagef("-duration %v: must be positive", c.duration)
	case c.warmup < 0:
		return nil, usagef("-warmup %v: must not be negative", c.warmup)
	case c.count <= 0:
		return nil, usagef("-count %d: must be positive", c.count)
	case c.goroutines <= 0:
		return nil, usagef("-goroutines %d: must be positive", c.goroutines)
	}
	if *only != "all" {
		for _, name := range strings.Split(*only, ",") {
			if _, ok := a.reg.Workload(name); !ok {
				return nil, usagef("unknown workload %q", name)
			}
			c.workloads = append(c.workloads, name)
		}
	}
	return c, nil
}

// tourParams names the parameters whose tour value differs from the
// default that "run" uses, so that nobody compares a tour table with a run
// table believing they measured the same thing.
func tourParams(ws []*bench.Workload) string {
	var parts []string
	for _, w := range ws {
		for _, p := range w.Params {
			if p.Tour != 0 && p.Tour != p.Default {
				parts = append(parts, fmt.Sprintf("%s -%s %d (run: %d)", w.Name, p.Name, p.Tour, p.Default))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// tour runs every registered workload and demo briefly, printing each as
// it finishes, then the summary table.
func (a *app) tour(ctx context.Context, args []string) error {
	c, err := a.parseTour(args)
	if err != nil {
		return err
	}
	var workloads []*bench.Workload
	for _, w := range a.reg.Workloads() {
		if len(c.workloads) == 0 || slices.Contains(c.workloads, w.Name) {
			workloads = append(workloads, w)
		}
	}
	var demos []bench.Demo
	if c.demos {
		demos = a.reg.Demos()
	}
	// The bar counts planned milliseconds, so its estimate of the time
	// left is the tour's, not one workload's.
	perRep := int((c.warmup + c.duration) / time.Millisecond)
	total := 0
	for _, d := range demos {
		total += demoMillis(d)
	}
	for _, w := range workloads {
		total += len(w.Engines) * c.count * perRep
	}
	out := &errWriter{w: a.stdout}
	over := ""
	if c.goroutines > a.env.GOMAXPROCS {
		over = " (oversubscribed: more than GOMAXPROCS)"
	}
	fmt.Fprintf(out, "stmbench tour: %d workloads and %d demos, %d goroutines%s, %d rounds of %v per engine after %v warm-up, seed %d\n",
		len(workloads), len(demos), c.goroutines, over, c.count, c.duration, c.warmup, c.seed)
	fmt.Fprintf(out, "%s\n", envLine(a.env))
	if tp := tourParams(workloads); tp != "" {
		fmt.Fprintf(out, "smaller than run's defaults, for time: %s\n", tp)
	}

	bar := a.newProgress(c.quiet, total, "tour")
	done := 0
	results := map[string]map[string]tourCell{}
	var failures []string
	partial := false
	var ran []*bench.Workload
	for _, w := range workloads {
		base, engines := done, w.EngineNames()
		if len(engines) > 0 {
			bar.set(done, fmt.Sprintf("%s %s 1/%d", w.Name, engines[0], c.count))
		}
		res, err := a.reg.Run(ctx, w.Name, engines, bench.Options{
			Goroutines: []int{c.goroutines}, Duration: c.duration, Warmup: c.warmup,
			Count: c.count, Seed: c.seed, Tour: true, Interleave: true,
			Progress: func(p bench.Progress) {
				next := engines[p.Done%len(engines)]
				bar.set(base+p.Done*perRep, fmt.Sprintf("%s %s %d/%d", w.Name, next, p.Done/len(engines)+1, c.count))
			},
		})
		done = base + len(engines)*c.count*perRep
		invs := bench.InvariantErrors(err)
		if err != nil && len(invs) == 0 && ctx.Err() == nil {
			failures = append(failures, err.Error()) // the workload could not run at all
		}
		cells := map[string]tourCell{}
		if res != nil {
			for i := range res.Points {
				p := &res.Points[i]
				cells[p.Engine] = tourCell{point: p}
			}
		}
		for _, inv := range invs {
			cells[inv.Engine] = tourCell{point: cells[inv.Engine].point, err: inv}
			failures = append(failures, fmt.Sprintf("%v\n  seed: %d\n  reproduce: %s", inv, inv.Seed, reproduce(res, inv)))
		}
		if ctx.Err() != nil {
			partial = true
		}
		if len(cells) > 0 || !partial {
			results[w.Name] = cells
			ran = append(ran, w)
			bar.clear()
			a.printTourWorkload(out, w, res, cells)
		}
		if partial {
			break
		}
	}
	var reports []demoResult
	if !partial {
		for _, d := range demos {
			bar.set(done, "demo "+d.Name)
			rep, err := d.Run(ctx, c.seed)
			done += demoMillis(d)
			if err != nil && ctx.Err() != nil {
				partial = true
				break
			}
			reports = append(reports, demoResult{d, rep, err})
			for _, o := range rep.Outcomes {
				if v := o.Verdict(); !v.Good() {
					failures = append(failures, fmt.Sprintf("demo %s, mode %s: %s (seed %d)", d.Name, o.Mode, v, c.seed))
				}
			}
			if err != nil {
				failures = append(failures, fmt.Sprintf("demo %s: %v (seed %d)", d.Name, err, c.seed))
			}
		}
	}
	bar.finish()
	a.printDemos(out, reports)
	a.printSummary(out, c, ran, results, partial, len(failures))
	if out.err != nil {
		return out.err
	}
	var pts []bench.Point
	for _, cells := range results {
		for _, cell := range cells {
			if cell.point != nil {
				pts = append(pts, *cell.point)
			}
		}
	}
	warnNoOps(a.stderr, "stmbench tour", pts)
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(a.stderr, "stmbench tour: %s\n", f)
		}
		return &failedError{fmt.Sprintf("%d invariant or demo checks failed", len(failures))}
	}
	if partial {
		return ctx.Err()
	}
	return nil
}

type demoResult struct {
	demo bench.Demo
	rep  bench.DemoReport
	err  error
}

func (a *app) printTourWorkload(out io.Writer, w *bench.Workload, res *bench.Result, cells map[string]tourCell) {
	params := ""
	if res != nil && len(res.Params) > 0 {
		params = " (" + paramString(res.Params) + ")"
	}
	fmt.Fprintf(out, "\n%s%s: %s\n", w.Name, params, w.Doc)
	base := baseline(cells)
	width := len("engine")
	for _, e := range w.EngineNames() {
		width = max(width, len(e))
	}
	unstable, noOps := false, false
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\ttx/s\t±\tvs mutex\taborts/tx\tp99\tallocs/op\tcheck\t\n", width, "engine")
	for _, e := range w.EngineNames() {
		cell := cells[e]
		p := cell.point
		// Padding the name makes the right-aligned column read left-aligned.
		name := fmt.Sprintf("%-*s", width, e)
		if p == nil {
			check := "FAIL"
			if cell.err == nil {
				check = "-" // interrupted before it ran
			}
			fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t-\t-\t%s\t\n", name, check)
			continue
		}
		r := cellRatio(p, base)
		unstable = unstable || r.unstable
		noOps = noOps || (p.Ops == 0 && cell.err == nil)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, si(p.TxPerSec.Median), halfRange(p.TxPerSec), r.text(),
			perTx(p, p.Counters.Aborts), dur(p.P99NS), sig3(p.AllocsPerOp), checkText(p, cell.err != nil))
	}
	tw.Flush()
	// Per-role throughput is the point of some workloads (does the long
	// transaction get through?), so it gets a line per engine.
	for _, e := range w.EngineNames() {
		if p := cells[e].point; p != nil && len(p.Roles) > 1 {
			var parts []string
			for _, r := range sortedKeys(p.Roles) {
				parts = append(parts, fmt.Sprintf("%s %s tx/s", r, si(p.Roles[r])))
			}
			fmt.Fprintf(out, "  %-*s  %s\n", width, e, strings.Join(parts, ", "))
		}
	}
	if unstable {
		fmt.Fprintf(out, "  %s\n", unstableNote)
	}
	if noOps {
		fmt.Fprintf(out, "  %s\n", noOpsNote)
	}
}

// unstableNote explains the mark of a ratio that the rounds disagree on.
const unstableNote = "~ unstable: the rounds disagree by more than 2× (min to max); trust the order of magnitude only"

// baseline is the global mutex's point on a workload, or nil.
func baseline(cells map[string]tourCell) *bench.Point {
	if c, ok := cells[bench.Mutex]; ok && c.point != nil && c.err == nil && c.point.Ops > 0 {
		return c.point
	}
	return nil
}

// ratio is an engine's throughput relative to the baseline's: the
// median over the rounds of the two measured side by side in each round.
type ratio struct {
	median   float64
	unstable bool // the rounds' ratios (or tx/s, without a baseline) span more than 2×
	none     bool // no baseline
}

// cellRatio pairs the engine's repetitions with the baseline's of the
// same round (the tour interleaves engines, so round i of both ran
// minutes apart at most, seconds usually): a drift in the machine's load
// moves both, and their ratio stays put where a ratio of medians would not.
func cellRatio(p, base *bench.Point) ratio {
	if base == nil {
		tx := p.TxPerSec
		return ratio{none: true, unstable: tx.Max > 2*tx.Min}
	}
	var rs []float64
	for i := range min(len(p.Reps), len(base.Reps)) {
		if b := base.Reps[i].TxPerSec; b > 0 {
			rs = append(rs, p.Reps[i].TxPerSec/b)
		}
	}
	if len(rs) == 0 {
		return ratio{none: true}
	}
	slices.Sort(rs)
	med := rs[len(rs)/2]
	if len(rs)%2 == 0 {
		med = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
	}
	return ratio{median: med, unstable: rs[len(rs)-1] > 2*rs[0]}
}

// text is the ratio as the tables print it: "0.74×", "~0.74×" when
// unstable, "-" without a baseline.
func (r ratio) text() string {
	if r.none {
		return "-"
	}
	if r.unstable {
		return "~" + ratioFmt(r.median)
	}
	return ratioFmt(r.median)
}

func ratioFmt(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	if r >= 0.1 {
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.3f×", r)
}

func (a *app) printDemos(out io.Writer, reports []demoResult) {
	if len(reports) == 0 {
		return
	}
	fmt.Fprintln(out, "\ndemos")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  demo\tmode\ttx/s\tvs baseline\tverdict\tchecks")
	for _, r := range reports {
		if r.err != nil {
			fmt.Fprintf(tw, "  %s\t-\t-\t-\tFAIL\t%v\n", r.demo.Name, r.err)
			continue
		}
		var base float64
		for _, o := range r.rep.Outcomes {
			if o.Mode == r.rep.Baseline {
				base = o.TxPerSec
			}
		}
		for _, o := range r.rep.Outcomes {
			ratio := "-"
			if base > 0 {
				ratio = ratioFmt(o.TxPerSec / base)
			}
			var checks []string
			for _, ch := range o.Checks {
				s := ch.Name + " ok"
				if !ch.OK {
					s = ch.Name + " FAILED"
					if ch.Detail != "" {
						s += " (" + ch.Detail + ")"
					}
				}
				checks = append(checks, s)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.demo.Name, o.Mode, si(o.TxPerSec), ratio, o.Verdict(), strings.Join(checks, ", "))
		}
	}
	tw.Flush()
}

// summaryEngines orders the engines of the summary's columns: the common
// ones (engineOrder), then, sorted, any other engine that serves at least
// two workloads. An engine of a single workload (the lock-free maps, say)
// would add a column with one cell; it is left to that workload's table,
// and returned in only.
func summaryEngines(ws []*bench.Workload) (columns, only []string) {
	uses := map[string]int{}
	for _, w := range ws {
		for _, e := range w.EngineNames() {
			uses[e]++
		}
	}
	for _, e := range engineOrder {
		if uses[e] > 0 {
			columns = append(columns, e)
			delete(uses, e)
		}
	}
	var extra []string
	for e, n := range uses {
		if n > 1 {
			extra = append(extra, e)
		} else {
			only = append(only, e)
		}
	}
	slices.Sort(extra)
	slices.Sort(only)
	return append(columns, extra...), only
}

func (a *app) printSummary(out io.Writer, c *tourConfig, ws []*bench.Workload, results map[string]map[string]tourCell, partial bool, failures int) {
	if partial {
		fmt.Fprintln(out, "\nPARTIAL RESULTS: interrupted; the summary covers what finished")
	}
	fmt.Fprintf(out, "\nsummary: throughput relative to one global sync.Mutex, median of %d rounds, %d goroutines (higher is better); ok = invariant held\n", c.count, c.goroutines)
	engines, only := summaryEngines(ws)
	// A failure is never left out of the summary, whatever its engine.
	only = slices.DeleteFunc(only, func(e string) bool {
		for _, cells := range results {
			if cell, ok := cells[e]; ok && (cell.err != nil || cell.point == nil) {
				engines = append(engines, e)
				return true
			}
		}
		return false
	})
	unstable, noOps := false, false
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\t%s\n", strings.Join(engines, "\t"))
	for _, w := range ws {
		cells := results[w.Name]
		base := baseline(cells)
		row := []string{w.Name}
		for _, e := range engines {
			cell, ok := cells[e]
			switch {
			case !ok:
				row = append(row, "-")
			case cell.err != nil || cell.point == nil:
				row = append(row, "FAIL")
			case cell.point.Ops == 0:
				row = append(row, "no ops")
				noOps = true
			default:
				r := cellRatio(cell.point, base)
				unstable = unstable || r.unstable
				v := r.text()
				if r.none {
					v = si(cell.point.TxPerSec.Median) + "/s"
					if r.unstable {
						v = "~" + v
					}
				}
				row = append(row, v+" ok")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if len(only) > 0 {
		fmt.Fprintf(out, "(engines of a single workload, in its table above: %s)\n", strings.Join(only, ", "))
	}
	if unstable {
		fmt.Fprintln(out, unstableNote)
	}
	if noOps {
		fmt.Fprintln(out, noOpsNote)
	}
	if failures == 0 {
		fmt.Fprintln(out, "\nevery invariant held.")
	} else {
		fmt.Fprintf(out, "\n%d checks FAILED (details, seeds and reproducing commands on stderr).\n", failures)
	}
	if partial {
		fmt.Fprintln(out, "PARTIAL RESULTS")
	}
}
