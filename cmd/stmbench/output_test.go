package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"gostm.dev/bench"
)

// countingRegistry has one workload, "count", whose engine counts its
// setups, so a test can tell whether anything was measured.
func countingRegistry(setups *atomic.Int64) *bench.Registry {
	reg := bench.NewRegistry()
	reg.Register(bench.Workload{Name: "count", Doc: "counts setups", Engines: []bench.Engine{{Name: "mutex", New: func(bench.Setup) (bench.Instance, error) {
		setups.Add(1)
		return &bench.Funcs{WorkerFunc: func(int, *rand.Rand) func() bool { return func() bool { return true } }}, nil
	}}}})
	return reg
}

// A bad output path is reported, in one line with exit 2, before
// anything is measured; a good one is left as it was found.
func TestOutputPathsCheckedBeforeMeasuring(t *testing.T) {
	var setups atomic.Int64
	reg := countingRegistry(&setups)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-o", filepath.Join(dir, "missing", "r.csv")},
		{"-plot", filepath.Join(dir, "missing", "r.svg")},
		{"-o", dir},
	} {
		args = append([]string{"run", "-workload", "count", "-goroutines", "1", "-count", "1", "-ops", "10", "-q"}, args...)
		code, stdout, stderr := testApp(reg, args...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, stdout, stderr)
		}
	}
	if n := setups.Load(); n != 0 {
		t.Errorf("%d setups ran although the output could not be written", n)
	}
	// The check leaves no file behind when the run then fails to parse.
	out := filepath.Join(dir, "r.csv")
	if err := checkWritable(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("checkWritable left %s behind: %v", out, err)
	}
}

// A run that completes no operation does not pass its check as "ok": its
// check proves nothing, and run, the tour and stderr say so.
func TestNoOpsIsNotOK(t *testing.T) {
	reg := bench.NewRegistry()
	idle := func(bench.Setup) (bench.Instance, error) {
		// Every operation reports that it was interrupted: none counts.
		return &bench.Funcs{WorkerFunc: func(int, *rand.Rand) func() bool { return func() bool { return false } }}, nil
	}
	reg.Register(bench.Workload{Name: "idle", Doc: "never completes an operation", Engines: []bench.Engine{{Name: "mutex", New: idle}}})
	code, stdout, stderr := testApp(reg, "run", "-workload", "idle", "-goroutines", "1", "-count", "1", "-duration", "1ms", "-warmup", "0s", "-q")
	if code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^\s*1\s+mutex\s.*no ops\s*$`).MatchString(stdout) || !strings.Contains(stdout, noOpsNote) {
		t.Errorf("run's table does not say the check proves nothing:\n%s", stdout)
	}
	if !strings.Contains(stderr, "1 of 1 points completed no operation") {
		t.Errorf("stderr does not warn: %q", stderr)
	}
	code, stdout, stderr = testApp(reg, "-duration", "1ms", "-warmup", "0s", "-count", "1", "-q")
	summary := stdout[strings.Index(stdout, "summary:"):]
	if code != exitOK || !regexp.MustCompile(`(?m)^idle\s+no ops\s*$`).MatchString(summary) {
		t.Errorf("tour: exit %d, summary:\n%s\nstderr %q", code, summary, stderr)
	}
}

// A run interrupted while an engine sets up (a big map filling, say)
// stops at once with exit 130 and prints what finished.
func TestInterruptDuringSetup(t *testing.T) {
	reg := bench.Default().Clone()
	started := make(chan struct{})
	reg.RegisterEngine("counter", bench.Engine{Name: "slowsetup", New: func(s bench.Setup) (bench.Instance, error) {
		close(started)
		<-s.Ctx.Done()
		return nil, s.Err()
	}})
	for _, args := range [][]string{
		{"run", "-workload", "counter", "-engines", "mutex,slowsetup", "-goroutines", "1", "-count", "1", "-ops", "1000", "-warmup", "0s", "-q"},
		{"-workloads", "counter", "-duration", "1ms", "-warmup", "0s", "-count", "1", "-q"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		started = make(chan struct{})
		go func() { <-started; cancel() }()
		code, stdout, stderr := testAppCtx(ctx, reg, args...)
		if code != exitInterrupted || !strings.Contains(stderr, "interrupted") || !strings.Contains(stdout, "PARTIAL RESULTS") {
			t.Errorf("%v: exit %d, stderr %q\n%s", args, code, stderr, stdout)
		}
		if !regexp.MustCompile(`(?m)^\s*(1\s+)?mutex\s`).MatchString(stdout) {
			t.Errorf("%v: the finished mutex point is not printed:\n%s", args, stdout)
		}
		cancel()
	}
}

// santa interrupted exits 130 with the sessions that finished.
func TestSantaInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := santaCommand(ctx, []string{"-rounds", "1000", "-seed", "1"}, &out, &errb)
	if code != santaExitInterrupted || !strings.Contains(out.String(), "PARTIAL RESULTS: interrupted after") ||
		!strings.Contains(out.String(), "result: INTERRUPTED (exit 130)") || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("exit %d, stderr %q\n%s", code, errb.String(), out.String())
	}
}

// The tour prints each workload's table as soon as it finishes, not at
// the end: when the second workload starts, the first one's table is out.
func TestTourStreamsEachWorkload(t *testing.T) {
	reg := bench.NewRegistry()
	var stdout bytes.Buffer
	noop := func(bench.Setup) (bench.Instance, error) {
		return &bench.Funcs{WorkerFunc: func(int, *rand.Rand) func() bool { return func() bool { return true } }}, nil
	}
	var sawFirst bool
	reg.Register(bench.Workload{Name: "first", Doc: "runs first", Engines: []bench.Engine{{Name: "mutex", New: noop}}})
	reg.Register(bench.Workload{Name: "second", Doc: "runs second", Engines: []bench.Engine{{Name: "mutex", New: func(s bench.Setup) (bench.Instance, error) {
		sawFirst = strings.Contains(stdout.String(), "first: runs first")
		return noop(s)
	}}}})
	a := &app{reg: reg, env: bench.CurrentEnv(), stdout: &stdout, stderr: &bytes.Buffer{}}
	if code := a.main(context.Background(), []string{"-duration", "1ms", "-warmup", "0s", "-count", "1"}); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stdout.String())
	}
	if !sawFirst {
		t.Errorf("the first workload's table was not printed before the second started:\n%s", stdout.String())
	}
}

// On a terminal the tour draws one bar that only moves forward, and every
// line it draws fits a narrow terminal (a wrapped line leaves a stale copy
// behind when the bar redraws).
func TestTourProgressIsOneBarThatFits(t *testing.T) {
	const cols = 50
	var stdout, stderr bytes.Buffer
	a := &app{reg: bench.Default(), env: bench.CurrentEnv(), stdout: &stdout, stderr: &stderr, tty: true, width: cols}
	if code := a.main(context.Background(), []string{"-workloads", "counter,queue", "-demos=false", "-duration", "30ms", "-warmup", "0s", "-count", "2"}); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stdout.String())
	}
	last := -1
	for _, seg := range regexp.MustCompile(`[\r\n]`).Split(stderr.String(), -1) {
		if n := utf8.RuneCountInString(seg); n >= cols {
			t.Errorf("a %d-column line on a %d-column terminal: %q", n, cols, seg)
		}
		if m := regexp.MustCompile(`(\d+)%`).FindStringSubmatch(seg); m != nil {
			pct, _ := strconv.Atoi(m[1])
			if pct < last {
				t.Errorf("the bar went back from %d%% to %d%%", last, pct)
			}
			last = pct
		}
	}
	if last < 0 {
		t.Fatalf("no bar drawn:\n%q", stderr.String())
	}
}

func TestProgressFitsAnyWidth(t *testing.T) {
	for _, cols := range []int{20, 45, 50, 80, 200} {
		var errb bytes.Buffer
		a := &app{stderr: &errb, tty: true, width: cols}
		p := a.newProgress(false, 1000, strings.Repeat("description ", 20))
		for i := range 10 {
			p.set(i*100, strings.Repeat("ü", i*20))
			p.clear()
		}
		p.finish()
		for _, seg := range regexp.MustCompile(`[\r\n]`).Split(errb.String(), -1) {
			if n := utf8.RuneCountInString(seg); n >= cols {
				t.Errorf("%d columns: a %d-column line: %q", cols, n, seg)
			}
		}
	}
}

// The tour says which of its parameters differ from run's defaults.
func TestTourPrintsItsParameters(t *testing.T) {
	code, stdout, _ := testApp(bench.Default(), "-workloads", "map", "-demos=false", "-duration", "1ms", "-warmup", "0s", "-count", "1", "-q")
	if code != exitOK || !strings.Contains(stdout, "smaller than run's defaults") || !strings.Contains(stdout, "map -keys 1024 (run: 100000)") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// The summary's ratio is the median of the rounds' ratios: a baseline
// that collapses in one round moves it little, and rounds that disagree
// by more than 2× mark it unstable.
func TestCellRatio(t *testing.T) {
	point := func(tx ...float64) *bench.Point {
		p := &bench.Point{}
		for _, x := range tx {
			p.Reps = append(p.Reps, bench.Rep{TxPerSec: x, Ops: 1})
		}
		p.Summarize()
		return p
	}
	for _, tc := range []struct {
		p, base  *bench.Point
		want     string
		unstable bool
	}{
		{point(100, 110, 90), point(1000, 1000, 1000), "0.10×", false},
		{point(100, 100, 100), point(1000, 10, 1000), "0.10×", true}, // one round's mutex collapsed
		{point(100, 300, 100), point(100, 100, 100), "1.00×", true},
		{point(500, 520, 510), nil, "-", false},
		{point(100, 300, 100), nil, "-", true},
	} {
		r := cellRatio(tc.p, tc.base)
		if got := r.text(); strings.TrimPrefix(got, "~") != tc.want || r.unstable != tc.unstable || (r.unstable != strings.HasPrefix(got, "~") && !r.none) {
			t.Errorf("%v against %v: %q unstable %v, want %q unstable %v", tc.p.Reps, tc.base, got, r.unstable, tc.want, tc.unstable)
		}
	}
}

// CSV numbers are plain decimals: no 1.5e+06 or 3e-05.
func TestCSVHasNoExponents(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCSV(&buf, fakeResult(false)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	exp := regexp.MustCompile(`\d[eE][+-]?\d`)
	for _, row := range rows[1:] {
		for _, f := range row {
			if exp.MatchString(f) {
				t.Errorf("field %q is in scientific notation", f)
			}
		}
	}
	for _, tc := range []struct {
		x    float64
		want string
	}{{1.5e6, "1500000"}, {3e-05, "0.00003"}, {8.333333e-07, "0.000000833333"}, {1234567.89, "1234570"}, {0, "0"}} {
		if got := fnum(tc.x); got != tc.want {
			t.Errorf("fnum(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

// A workload registered without engines is reported, not a crash.
func TestTourWorkloadWithoutEngines(t *testing.T) {
	reg := bench.NewRegistry()
	reg.Register(bench.Workload{Name: "empty", Doc: "no engines"})
	a := &app{reg: reg, env: bench.CurrentEnv(), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, tty: true, width: 80}
	if code := a.main(context.Background(), []string{"-duration", "1ms", "-count", "1"}); code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
}
