package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gostm.dev/bench"
)

// intList is a flag like go test's -cpu: a comma-separated list of
// positive integers.
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("%q is not an integer", f)
		}
		if n <= 0 {
			return fmt.Errorf("%d is not positive", n)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// paramFlag is a workload parameter flag. It remembers whether it was set,
// because its default depends on the workload chosen, which is only known
// once every flag is parsed.
type paramFlag struct {
	set bool
	val int
}

// String returns "" until set, so that flag.PrintDefaults does not print a
// misleading "(default 0)": the usage text lists the defaults.
func (p *paramFlag) String() string {
	if p == nil || !p.set {
		return ""
	}
	return strconv.Itoa(p.val)
}

func (p *paramFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	p.set, p.val = true, n
	return nil
}

// addParamFlags defines one flag per parameter name over every workload;
// the usage text names the workloads that have it and their defaults.
func addParamFlags(fs *flag.FlagSet, reg *bench.Registry) map[string]*paramFlag {
	type use struct {
		usage string
		defs  []string
	}
	uses := map[string]*use{}
	var names []string
	for _, w := range reg.Workloads() {
		for _, p := range w.Params {
			u := uses[p.Name]
			if u == nil {
				u = &use{usage: p.Usage}
				uses[p.Name] = u
				names = append(names, p.Name)
			}
			u.defs = append(u.defs, fmt.Sprintf("%s %d", w.Name, p.Default))
		}
	}
	flags := map[string]*paramFlag{}
	for _, name := range names {
		pf := &paramFlag{}
		flags[name] = pf
		fs.Var(pf, name, fmt.Sprintf("%s (default: %s)", uses[name].usage, strings.Join(uses[name].defs, ", ")))
	}
	return flags
}

// runConfig is a parsed and checked "run" command line.
type runConfig struct {
	workload *bench.Workload
	engines  []string
	opt      bench.Options
	format   string
	out      string
	plot     string
	quiet    bool
	set      map[string]int // workload parameters given on the command line
}

var formats = []string{"text", "bench", "csv", "json"}

func newRunFlags(reg *bench.Registry, c *runConfig) (*flag.FlagSet, *string, *string, *intList, *seedFlag, map[string]*paramFlag) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by exit
	workload := fs.String("workload", "bank", "workload to run (see stmbench list)")
	engines := fs.String("engines", "all", "comma-separated engines, or all")
	g := &intList{1, 2, 4, 8}
	fs.Var(g, "goroutines", "comma-separated worker goroutine counts to sweep")
	fs.DurationVar(&c.opt.Duration, "duration", time.Second, "measured time per repetition")
	fs.IntVar(&c.opt.Ops, "ops", 0, "operations per repetition, instead of -duration (0: measure for -duration)")
	fs.DurationVar(&c.opt.Warmup, "warmup", 200*time.Millisecond, "unmeasured warm-up before each repetition")
	fs.IntVar(&c.opt.Count, "count", 5, "repetitions per point (the median is reported)")
	seed := &seedFlag{v: 1}
	fs.Var(seed, "seed", "seed of the workers' random streams, "+seedUsage)
	fs.StringVar(&c.format, "format", "text", "output format: "+strings.Join(formats, ", "))
	fs.StringVar(&c.out, "o", "", "write results to this file instead of stdout")
	fs.StringVar(&c.plot, "plot", "", "also draw throughput and aborts vs goroutines to this .svg or .png file")
	fs.BoolVar(&c.quiet, "q", false, "no progress bar")
	params := addParamFlags(fs, reg)
	return fs, workload, engines, g, seed, params
}

// parseRun parses and checks the "run" flags; every problem is a
// usageError naming the bad value.
func (a *app) parseRun(args []string) (*runConfig, error) {
	c := &runConfig{}
	fs, workload, engines, g, seed, params := newRunFlags(a.reg, c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, "usage: stmbench run [flags]\n\nSweeps goroutine counts for one workload and several engines, checking the\nworkload's invariant after every repetition.\n\nFlags:\n")
			fs.SetOutput(a.stdout)
			fs.PrintDefaults()
			return nil, errHelp
		}
		return nil, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	c.opt.Seed = seed.v
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["ops"] && set["duration"] {
		return nil, usagef("-ops and -duration are exclusive: give one")
	}
	w, ok := a.reg.Workload(*workload)
	if !ok {
		var names []string
		for _, w := range a.reg.Workloads() {
			names = append(names, w.Name)
		}
		return nil, usagef("unknown workload %q (have %s)", *workload, strings.Join(names, ", "))
	}
	c.workload = w
	if *engines == "all" {
		c.engines = w.EngineNames()
	} else {
		for _, e := range strings.Split(*engines, ",") {
			e = strings.TrimSpace(e)
			if _, ok := w.Engine(e); !ok {
				return nil, usagef("unknown engine %q for workload %s (have %s)", e, w.Name, strings.Join(w.EngineNames(), ", "))
			}
			if slices.Contains(c.engines, e) {
				return nil, usagef("engine %q given twice", e)
			}
			c.engines = append(c.engines, e)
		}
	}
	c.opt.Goroutines = *g
	c.set = map[string]int{}
	for name, pf := range params {
		if pf.set {
			c.set[name] = pf.val
		}
	}
	c.opt.Params = c.set
	if !slices.Contains(formats, c.format) {
		return nil, usagef("unknown format %q (want %s)", c.format, strings.Join(formats, ", "))
	}
	if c.plot != "" {
		if ext := strings.ToLower(filepath.Ext(c.plot)); ext != ".svg" && ext != ".png" {
			return nil, usagef("-plot %q: the file name must end in .svg or .png", c.plot)
		}
	}
	if c.opt.Count <= 0 {
		return nil, usagef("-count %d: must be positive", c.opt.Count)
	}
	if c.opt.Ops < 0 {
		return nil, usagef("-ops %d: must not be negative", c.opt.Ops)
	}
	if c.opt.Ops == 0 && c.opt.Duration <= 0 {
		return nil, usagef("-duration %v: must be positive", c.opt.Duration)
	}
	if c.opt.Warmup < 0 {
		return nil, usagef("-warmup %v: must not be negative", c.opt.Warmup)
	}
	for name := range c.set {
		if _, ok := w.Param(name); !ok {
			return nil, usagef("-%s does not apply to workload %s", name, w.Name)
		}
	}
	if err := w.CheckRun(c.engines, &c.opt); err != nil {
		return nil, usagef("%v", err)
	}
	// Last, once the command line is known to be good: a bad output path
	// is found now, not after the measurement it would lose.
	for _, out := range []struct{ flag, path string }{{"-o", c.out}, {"-plot", c.plot}} {
		if out.path == "" {
			continue
		}
		if err := checkWritable(out.path); err != nil {
			return nil, usagef("%s: %v", out.flag, err)
		}
	}
	return c, nil
}

// reproduce returns a command line that re-runs just the failing point of
// an invariant error with the same seed: every parameter explicit, and
// -count up to the failing repetition, whose seed depends on its index.
func reproduce(res *bench.Result, inv *bench.InvariantError) string {
	args := []string{"go run ./cmd/stmbench run",
		"-workload", res.Workload,
		"-engines", inv.Engine,
		"-goroutines", strconv.Itoa(inv.Goroutines),
		"-count", strconv.Itoa(inv.Rep + 1),
	}
	if res.Ops > 0 {
		args = append(args, "-ops", strconv.Itoa(res.Ops))
	} else {
		args = append(args, "-duration", time.Duration(res.DurationNS).String())
	}
	args = append(args, "-warmup", time.Duration(res.WarmupNS).String(), "-seed", strconv.FormatUint(inv.Seed, 10))
	for _, p := range res.Params {
		args = append(args, "-"+p.Name, strconv.Itoa(p.Value))
	}
	return strings.Join(args, " ")
}

func (a *app) runCmd(ctx context.Context, args []string) error {
	c, err := a.parseRun(args)
	if err != nil {
		return err
	}
	bar := a.newProgress(c.quiet, len(c.engines)*len(c.opt.Goroutines)*c.opt.Count, "run "+c.workload.Name)
	c.opt.Progress = func(p bench.Progress) { bar.set(p.Done, fmt.Sprintf("%s g=%d", p.Engine, p.Goroutines)) }
	res, runErr := a.reg.Run(ctx, c.workload.Name, c.engines, c.opt)
	bar.finish()
	if res == nil {
		return runErr
	}
	if err := a.emit(c, res); err != nil {
		return err
	}
	warnNoOps(a.stderr, "stmbench run", res.Points)
	var inv *bench.InvariantError
	if errors.As(runErr, &inv) {
		fmt.Fprintf(a.stderr, "stmbench run: %v\nseed: %d\nreproduce: %s\n", inv, inv.Seed, reproduce(res, inv))
		return &failedError{"invariant check failed"}
	}
	return runErr
}

// emit writes the results in the chosen format, and the plot.
func (a *app) emit(c *runConfig, res *bench.Result) error {
	var w io.Writer = a.stdout
	var f *os.File
	if c.out != "" {
		var err error
		if f, err = os.Create(c.out); err != nil {
			return err
		}
		w = f
	}
	err := writeFormat(w, c.format, a.env, res)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if c.plot != "" && len(res.Points) > 0 {
		if err := writePlot(c.plot, a.env, res); err != nil {
			return err
		}
	}
	return nil
}
