package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"gostm.dev/bench"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fakeEnv and fakeResult are fixed inputs for the golden files: real runs
// are never the same twice.
var fakeEnv = bench.Env{GoVersion: "go1.25.0", GOOS: "linux", GOARCH: "amd64", CPU: "Test CPU @ 1GHz", NumCPU: 2, GOMAXPROCS: 2}

func fakeResult(partial bool) *bench.Result {
	params := []bench.ParamValue{{Name: "accounts", Value: 64}, {Name: "audit", Value: 20}}
	res := &bench.Result{
		Workload: "bank", Engines: []string{"gostm", "mutex"}, Params: params, Seed: 7,
		DurationNS: int64(time.Second), WarmupNS: int64(200 * time.Millisecond), Count: 2, Partial: partial,
	}
	for _, g := range []int{1, 4} {
		for _, e := range res.Engines {
			p := bench.Point{Workload: "bank", Engine: e, Params: params, Goroutines: g, GOMAXPROCS: 2,
				Oversubscribed: g > 2, HasCounters: e == "gostm"}
			for rep := range 2 {
				ops := uint64(1000000 * (rep + 1) * g)
				r := bench.Rep{Seed: uint64(100 + rep), Ops: ops, ElapsedNS: int64(time.Second),
					TxPerSec: float64(ops), AllocsPerOp: 1.5, BytesPerOp: 24, P50NS: 250, P99NS: 12000 + int64(rep)}
				if e == "gostm" {
					r.Counters = bench.Counters{Aborts: uint64(g * 30 * (rep + 1)), Validate: uint64(g * 20 * (rep + 1)), Extend: uint64(g * 10 * (rep + 1))}
					if g > 1 {
						r.Counters.Blocks = 5
					}
					r.Roles = map[string]float64{"auditor": float64(ops) / 5, "teller": float64(ops) * 4 / 5}
					// The second repetition has one audit that took 2 attempts.
					r.Attempts = []bench.Attempts{{Name: "audit", ByAttempts: trimmed(ops/5-uint64(rep), uint64(rep))}}
				} else {
					r.AllocsPerOp, r.BytesPerOp = 0, 0
				}
				p.Reps = append(p.Reps, r)
			}
			p.Summarize()
			res.Points = append(res.Points, p)
		}
	}
	return res
}

// trimmed is counts without its trailing zeros, as Attempts keeps them.
func trimmed(counts ...uint64) []uint64 {
	for len(counts) > 0 && counts[len(counts)-1] == 0 {
		counts = counts[:len(counts)-1]
	}
	return counts
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/stmbench -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestGoldenFormats(t *testing.T) {
	for _, partial := range []bool{false, true} {
		for _, f := range formats {
			name := f
			if partial {
				name += "-partial"
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := writeFormat(&buf, f, fakeEnv, fakeResult(partial)); err != nil {
					t.Fatal(err)
				}
				golden(t, name, buf.Bytes())
				if !strings.Contains(strings.ToLower(buf.String()), "oversubscribed") {
					t.Errorf("%s output does not label the oversubscribed points", f)
				}
				if partial && !strings.Contains(strings.ToLower(buf.String()), "partial") {
					t.Errorf("%s output of a partial result does not say so", f)
				}
			})
		}
	}
}

// benchLine is one parsed result line of the Go benchmark format.
type benchLine struct {
	name    string
	iters   uint64
	metrics map[string]float64
}

// parseBench checks text against the Go benchmark data format
// (golang.org/design/14313-benchmark-format) line by line, and returns the
// configuration and the results. It is written from the specification, not
// from a parser, so that a mistake in the writer is not mirrored here.
func parseBench(t *testing.T, text string) (map[string]string, []benchLine) {
	t.Helper()
	config := map[string]string{}
	var lines []benchLine
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			// "Benchmark" then a character that is not lower case.
			rest := []rune(line[len("Benchmark"):])
			if len(rest) == 0 || unicode.IsLower(rest[0]) {
				t.Fatalf("line %d: name %q is not a benchmark name", i+1, line)
			}
			f := strings.Fields(line)
			if len(f) < 4 || len(f)%2 != 0 {
				t.Fatalf("line %d: want name, iterations and value–unit pairs: %q", i+1, line)
			}
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("line %d: iterations %q: %v", i+1, f[1], err)
			}
			bl := benchLine{name: f[0], iters: n, metrics: map[string]float64{}}
			for j := 2; j < len(f); j += 2 {
				v, err := strconv.ParseFloat(f[j], 64)
				if err != nil {
					t.Fatalf("line %d: value %q: %v", i+1, f[j], err)
				}
				if _, dup := bl.metrics[f[j+1]]; dup {
					t.Fatalf("line %d: unit %s twice", i+1, f[j+1])
				}
				bl.metrics[f[j+1]] = v
			}
			lines = append(lines, bl)
		default:
			// A configuration line: a key starting with a lower-case
			// letter, with no space or upper-case letter, a colon, then
			// space and the value.
			key, val, ok := strings.Cut(line, ":")
			if !ok || key == "" || !unicode.IsLower([]rune(key)[0]) || strings.IndexFunc(key, func(r rune) bool {
				return unicode.IsSpace(r) || unicode.IsUpper(r)
			}) >= 0 || (val != "" && val[0] != ' ' && val[0] != '\t') {
				t.Fatalf("line %d: neither a result nor a configuration line: %q", i+1, line)
			}
			config[key] = strings.TrimSpace(val)
		}
	}
	return config, lines
}

// TestBenchFormatRoundTrip parses the -format bench output and checks that
// every repetition's numbers come back, with benchstat-ready names.
func TestBenchFormatRoundTrip(t *testing.T) {
	res := fakeResult(false)
	var buf bytes.Buffer
	if err := writeBench(&buf, fakeEnv, res); err != nil {
		t.Fatal(err)
	}
	config, lines := parseBench(t, buf.String())
	for k, want := range map[string]string{"goos": "linux", "goarch": "amd64", "cpu": "Test CPU @ 1GHz", "seed": "7", "gomaxprocs": "2"} {
		if config[k] != want {
			t.Errorf("config %s = %q, want %q", k, config[k], want)
		}
	}
	if !strings.Contains(config["oversubscribed"], "goroutines=4") {
		t.Errorf("oversubscribed config %q does not name goroutines=4", config["oversubscribed"])
	}
	nameRE := regexp.MustCompile(`^BenchmarkBank/engine=(\w+)/accounts=64/audit=20/goroutines=(\d+)-2$`)
	i := 0
	for _, p := range res.Points {
		for _, r := range p.Reps {
			if i >= len(lines) {
				t.Fatalf("only %d result lines", len(lines))
			}
			l := lines[i]
			i++
			m := nameRE.FindStringSubmatch(l.name)
			if m == nil || m[1] != p.Engine || m[2] != strconv.Itoa(p.Goroutines) {
				t.Errorf("name %q, want engine %s goroutines %d", l.name, p.Engine, p.Goroutines)
				continue
			}
			if l.iters != r.Ops {
				t.Errorf("%s: iterations %d, want %d", l.name, l.iters, r.Ops)
			}
			want := map[string]float64{
				"ns/op": float64(r.ElapsedNS) / float64(r.Ops), "tx/s": r.TxPerSec,
				"B/op": r.BytesPerOp, "allocs/op": r.AllocsPerOp,
				"p50-ns": float64(r.P50NS), "p99-ns": float64(r.P99NS),
			}
			if p.HasCounters {
				want["aborts/op"] = float64(r.Counters.Aborts) / float64(r.Ops)
				if p.Counters.Blocks > 0 {
					want["blocks/op"] = float64(r.Counters.Blocks) / float64(r.Ops)
				}
			}
			for _, a := range r.Attempts {
				want["max-"+a.Name+"-attempts"] = float64(a.Max())
			}
			if len(l.metrics) != len(want) {
				t.Errorf("%s: units %v, want %v", l.name, l.metrics, want)
			}
			for u, v := range want {
				got, ok := l.metrics[u]
				if !ok || relDiff(got, v) > 1e-5 {
					t.Errorf("%s: %s = %v, want %v", l.name, u, got, v)
				}
			}
		}
	}
	if i != len(lines) {
		t.Errorf("%d result lines, want %d", len(lines), i)
	}
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return (a - b) / max(abs(a), abs(b))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestCSVAndJSONAreWellFormed(t *testing.T) {
	res := fakeResult(false)
	var buf bytes.Buffer
	if err := writeCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(res.Points) {
		t.Fatalf("%d rows, want header + %d", len(rows), len(res.Points))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, p := range res.Points {
		row := rows[i+1]
		if row[col["engine"]] != p.Engine || row[col["oversubscribed"]] != strconv.FormatBool(p.Oversubscribed) {
			t.Errorf("row %d: %v", i+1, row)
		}
		if !p.HasCounters && row[col["aborts_per_tx"]] != "" {
			t.Errorf("row %d: an engine without counters shows aborts %q", i+1, row[col["aborts_per_tx"]])
		}
	}
	buf.Reset()
	if err := writeJSON(&buf, fakeEnv, res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Env    bench.Env    `json:"env"`
		Result bench.Result `json:"result"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Env != fakeEnv || len(doc.Result.Points) != len(res.Points) || doc.Result.Points[3].Reps[1].Counters != res.Points[3].Reps[1].Counters {
		t.Errorf("JSON does not round-trip: %+v", doc.Result.Points)
	}
}

// testApp runs the command against reg with captured streams.
func testApp(reg *bench.Registry, args ...string) (code int, stdout, stderr string) {
	return testAppCtx(context.Background(), reg, args...)
}

func testAppCtx(ctx context.Context, reg *bench.Registry, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	a := &app{reg: reg, env: bench.CurrentEnv(), stdout: &out, stderr: &errb}
	code = a.main(ctx, args)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the one-line message
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run", "-nosuchflag"}, "flag provided but not defined: -nosuchflag"},
		{[]string{"run", "-workload", "nope"}, `unknown workload "nope"`},
		{[]string{"run", "-workload", "bank", "-engines", "gostm,zzz"}, `unknown engine "zzz"`},
		{[]string{"run", "-engines", "gostm,gostm"}, `engine "gostm" given twice`},
		{[]string{"run", "-goroutines", "1,0"}, "0 is not positive"},
		{[]string{"run", "-goroutines", "-3"}, "-3 is not positive"},
		{[]string{"run", "-goroutines", "two"}, `"two" is not an integer`},
		{[]string{"run", "-count", "0"}, "-count 0: must be positive"},
		{[]string{"run", "-count", "-1"}, "-count -1: must be positive"},
		{[]string{"run", "-duration", "0s"}, "-duration 0s: must be positive"},
		{[]string{"run", "-duration", "-1s"}, "-duration -1s: must be positive"},
		{[]string{"run", "-duration", "soon"}, `invalid value "soon" for flag -duration`},
		{[]string{"run", "-ops", "-5"}, "-ops -5: must not be negative"},
		{[]string{"run", "-warmup", "-1ms"}, "-warmup -1ms: must not be negative"},
		{[]string{"run", "-format", "xml"}, `unknown format "xml"`},
		{[]string{"run", "-plot", "out.pdf"}, `-plot "out.pdf": the file name must end in .svg or .png`},
		{[]string{"run", "-workload", "counter", "-accounts", "5"}, "-accounts does not apply to workload counter"},
		{[]string{"run", "-accounts", "1"}, "-accounts 1 is below the minimum 2"},
		{[]string{"run", "-audit", "150"}, "-audit 150 is out of range [0, 100]"},
		{[]string{"run", "-accounts", "x"}, `invalid value "x" for flag -accounts`},
		{[]string{"run", "extra"}, `unexpected argument "extra"`},
		{[]string{"tour", "-duration", "0s"}, "-duration 0s: must be positive"},
		{[]string{"tour", "-goroutines", "0"}, "-goroutines 0: must be positive"},
		{[]string{"tour", "-workloads", "bank,nope"}, `unknown workload "nope"`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"list", "x"}, `unexpected argument "x"`},
		{[]string{"run", "-ops", "100", "-duration", "1s"}, "-ops and -duration are exclusive"},
		{[]string{"run", "-seed", "-1"}, "a seed is an integer from 0 to 9007199254740991"},
		{[]string{"run", "-seed", "9007199254740992"}, "a seed is an integer from 0 to 9007199254740991"},
		{[]string{"tour", "-seed", "-1"}, "a seed is an integer from 0 to 9007199254740991"},
		{[]string{"tour", "-count", "0"}, "-count 0: must be positive"},
		{[]string{"run", "-o", "/nonexistent/dir/r.csv"}, "-o: open /nonexistent/dir/r.csv"},
		{[]string{"run", "-plot", "/nonexistent/dir/r.svg"}, "-plot: open /nonexistent/dir/r.svg"},
	} {
		code, stdout, stderr := testApp(bench.Default(), tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q, want one line containing %q", tc.args, stderr, tc.want)
		}
		if stdout != "" {
			t.Errorf("%v: wrote to stdout: %q", tc.args, stdout)
		}
	}
}

func TestHelpShowsEveryFlagWithDefault(t *testing.T) {
	code, out, _ := testApp(bench.Default(), "run", "-h")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"-workload string", `(default "bank")`, "-engines string", `(default "all")`,
		"-goroutines value", `(default 1,2,4,8)`, "-duration duration", "(default 1s)",
		"-count int", "(default 5)", "-warmup duration", "(default 200ms)", "-seed n", "(default 1)",
		"-format string", `(default "text")`, "-o string", "-plot string", "-q", "-ops int",
		"-accounts value", "bank 1024", "-audit value", "bank 20", "-update value", "readmostly 10, intset-list 20",
		"-capacity value", "-length value", "-initial value", "-range value", "-vars value", "-reads value",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run -h lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"-h"}, {"tour", "-h"}, {"list", "-h"}, {"help"}} {
		code, out, _ := testApp(bench.Default(), args...)
		if code != exitOK || out == "" {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	_, out, _ = testApp(bench.Default(), "tour", "-h")
	for _, want := range []string{"-duration", "(default 200ms)", "-count", "(default 3)", "-goroutines", "-seed", "-q", "-workloads"} {
		if !strings.Contains(out, want) {
			t.Errorf("tour -h lacks %q", want)
		}
	}
}

// leakyEngine is a deliberately broken bank engine: every 20th transfer
// of each worker debits without crediting. It is registered only in the
// tests' own registries.
func leakyEngine() bench.Engine {
	return bench.Engine{Name: "leaky", Doc: "loses money on purpose", New: func(s bench.Setup) (bench.Instance, error) {
		n := s.Params["accounts"]
		bal := make([]atomic.Int64, n)
		return &bench.Funcs{
			WorkerFunc: func(g int, rng *rand.Rand) func() bool {
				k := 0
				return func() bool {
					bal[rng.IntN(n)].Add(-1)
					if k++; k%20 != 0 {
						bal[rng.IntN(n)].Add(1)
					}
					return true
				}
			},
			CheckFunc: func() error {
				var t int64
				for i := range bal {
					t += bal[i].Load()
				}
				if t != 0 {
					return fmt.Errorf("bank total is off by %d", t)
				}
				return nil
			},
		}, nil
	}}
}

func TestRunFailsLoudlyOnBrokenInvariant(t *testing.T) {
	reg := bench.Default().Clone()
	reg.RegisterEngine("bank", leakyEngine())
	code, stdout, stderr := testApp(reg, "run", "-workload", "bank", "-engines", "mutex,leaky", "-goroutines", "2",
		"-ops", "2000", "-warmup", "0s", "-count", "2", "-seed", "99", "-accounts", "8", "-q")
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
	for _, want := range []string{"invariant broken", "engine leaky", "bank total is off", "seed: 99",
		"reproduce: go run ./cmd/stmbench run -workload bank -engines leaky -goroutines 2 -count 1 -ops 2000 -warmup 0s -seed 99 -accounts 8 -audit 20"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "mutex") {
		t.Errorf("stdout does not show the finished points and the failure:\n%s", stdout)
	}
}

func TestTourFailsLoudlyOnBrokenInvariant(t *testing.T) {
	reg := bench.Default().Clone()
	reg.RegisterEngine("bank", leakyEngine())
	code, stdout, stderr := testApp(reg, "tour", "-duration", "20ms", "-warmup", "0s", "-count", "1", "-workloads", "bank", "-demos=false", "-q")
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr, "engine leaky") || !strings.Contains(stderr, "reproduce: go run ./cmd/stmbench run -workload bank -engines leaky") {
		t.Errorf("stderr lacks the failure and its reproduction:\n%s", stderr)
	}
	if !regexp.MustCompile(`(?m)^bank\s.*FAIL`).MatchString(stdout) || !strings.Contains(stdout, "checks FAILED") {
		t.Errorf("summary does not show the failure:\n%s", stdout)
	}
}

// TestTour runs the whole tour at tiny settings, with a demo registered
// in the test's registry, and checks the summary covers everything.
func TestTour(t *testing.T) {
	reg := bench.Default().Clone()
	reg.RegisterDemo(bench.Demo{Name: "fakedemo", Doc: "a demo with a negative control", Run: func(ctx context.Context, seed uint64) (bench.DemoReport, error) {
		return bench.DemoReport{Baseline: "lock", Outcomes: []bench.Outcome{
			{Mode: "lock", TxPerSec: 1000, Checks: []bench.Check{{Name: "total", OK: true}}},
			{Mode: "stm", TxPerSec: 2000, Checks: []bench.Check{{Name: "total", OK: true}}},
			{Mode: "unsync", TxPerSec: 5000, ExpectFail: true, Checks: []bench.Check{{Name: "total", Detail: "lost 3"}}},
		}}, nil
	}})
	// A workload from another package, with an engine the built-ins lack:
	// the tour must pick both up.
	noop := func(bench.Setup) (bench.Instance, error) {
		return &bench.Funcs{WorkerFunc: func(int, *rand.Rand) func() bool { return func() bool { return true } }}, nil
	}
	reg.Register(bench.Workload{Name: "extra", Doc: "registered by a test", Engines: []bench.Engine{
		{Name: "mutex", New: noop}, {Name: "custom", New: noop},
	}})
	start := time.Now()
	code, stdout, stderr := testApp(reg, "-duration", "5ms", "-warmup", "1ms", "-count", "2")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	if stderr != "" {
		t.Errorf("stderr not empty without a terminal: %q", stderr)
	}
	t.Logf("tour took %v", time.Since(start))
	summary := stdout[strings.Index(stdout, "summary:"):]
	for _, w := range reg.Workloads() {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w.Name) + `\s+\S`).MatchString(summary) {
			t.Errorf("summary has no row for %s", w.Name)
		}
	}
	for _, want := range []string{"gostm", "anacrolix", "mutex", "finelock", "rwmutex", "channel", "atomic", "custom", "1.00× ok", "every invariant held"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "FAIL") {
		t.Errorf("summary shows a failure:\n%s", summary)
	}
	if !regexp.MustCompile(`fakedemo\s+unsync\s+5\.00k\s+5\.00×\s+caught`).MatchString(stdout) ||
		!regexp.MustCompile(`fakedemo\s+stm\s+2\.00k\s+2\.00×\s+ok`).MatchString(stdout) {
		t.Errorf("demo rows missing or wrong:\n%s", stdout)
	}
}

func TestTourReportsMissedNegativeControl(t *testing.T) {
	reg := bench.NewRegistry()
	reg.RegisterDemo(bench.Demo{Name: "blind", Run: func(context.Context, uint64) (bench.DemoReport, error) {
		return bench.DemoReport{Outcomes: []bench.Outcome{{Mode: "unsync", ExpectFail: true, Checks: []bench.Check{{Name: "total", OK: true}}}}}, nil
	}})
	code, stdout, stderr := testApp(reg, "-q")
	if code != exitFailed || !strings.Contains(stdout, "MISSED") || !strings.Contains(stderr, "demo blind, mode unsync: MISSED") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestInterruptPrintsPartialResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	code, stdout, stderr := testAppCtx(ctx, bench.Default(), "run", "-workload", "counter", "-engines", "mutex,atomic",
		"-goroutines", "1", "-duration", "100ms", "-warmup", "0s", "-count", "1000", "-format", "csv", "-q")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitInterrupted, stderr)
	}
	if !strings.Contains(stderr, "interrupted") {
		t.Errorf("stderr %q does not say interrupted", stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 1 || rows[0][len(rows[0])-1] != "partial" {
		// Nothing finished in time (the one point needs 1000 reps): only
		// the header row, and partial is the last column.
		t.Errorf("rows %v, %v", rows, err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	code, stdout, _ = testAppCtx(ctx, bench.Default(), "-duration", "50ms", "-warmup", "0s", "-q")
	if code != exitInterrupted || !strings.Contains(stdout, "PARTIAL RESULTS") {
		t.Errorf("tour: exit %d, output:\n%s", code, stdout)
	}
}

func TestRunWritesFileAndPlot(t *testing.T) {
	dir := t.TempDir()
	out, svg := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.svg")
	code, stdout, stderr := testApp(bench.Default(), "run", "-workload", "bank", "-engines", "gostm,anacrolix,mutex",
		"-goroutines", "1,3", "-ops", "300", "-warmup", "0s", "-count", "2", "-accounts", "16",
		"-format", "json", "-o", out, "-plot", svg, "-q")
	if code != exitOK || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc jsonDoc
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Result.Points) != 6 {
		t.Fatalf("JSON file: %v, %d points", err, len(doc.Result.Points))
	}
	checkSVG(t, svg, []string{"gostm", "anacrolix", "mutex", "aborts"})
}

// checkSVG parses the file as XML and looks for the given texts.
func checkSVG(t *testing.T, path string, texts []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	root := ""
	var chars strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			chars.Write(tok)
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	for _, s := range texts {
		if !strings.Contains(chars.String(), s) {
			t.Errorf("SVG text lacks %q", s)
		}
	}
}

func TestPlotFromFakeResults(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "p.svg")
	if err := writePlot(svg, fakeEnv, fakeResult(true)); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg, []string{"gostm", "mutex", "4*", "oversubscribed", "PARTIAL"})
	png := filepath.Join(dir, "p.png")
	if err := writePlot(png, fakeEnv, fakeResult(false)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("PNG file: %v, starts %q", err, data[:min(8, len(data))])
	}
}

func TestProgressOnlyOnTerminal(t *testing.T) {
	var errb bytes.Buffer
	a := &app{stderr: &errb, tty: true}
	p := a.newProgress(false, 4, "x")
	p.set(2, "half")
	p.finish()
	if errb.Len() == 0 {
		t.Error("no progress drawn on a terminal")
	}
	errb.Reset()
	for _, tc := range []struct{ quiet, tty bool }{{true, true}, {false, false}} {
		a := &app{stderr: &errb, tty: tc.tty}
		p := a.newProgress(tc.quiet, 4, "x")
		p.set(2, "half")
		p.finish()
		if errb.Len() != 0 {
			t.Errorf("quiet %v tty %v: progress drawn: %q", tc.quiet, tc.tty, errb.String())
		}
	}
}

func TestList(t *testing.T) {
	code, out, _ := testApp(bench.Default(), "list")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, w := range bench.Default().Workloads() {
		if !strings.Contains(out, w.Name+": ") {
			t.Errorf("list lacks %s", w.Name)
		}
	}
}

func TestFormatHelpers(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{si(1234567), "1.23M"}, {si(999), "999"}, {si(12345), "12.3k"}, {si(0.5), "0.5"},
		{dur(0), "-"}, {dur(250), "250ns"}, {dur(12345), "12.3µs"}, {dur(2500000000), "2.50s"},
		{benchName("intset-list"), "BenchmarkIntsetList"}, {benchName("bank"), "BenchmarkBank"},
		{ratioFmt(0.0123), "0.012×"}, {ratioFmt(1), "1.00×"}, {ratioFmt(25), "25×"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestDemoCommandsAreDispatched checks that the demo packages' commands
// are reachable from the top level.
func TestDemoCommandsAreDispatched(t *testing.T) {
	for name := range demoCommands {
		code, out, errOut := testApp(bench.Default(), name, "-h")
		if !strings.Contains(out+errOut, "stmbench "+name) {
			t.Errorf("%s -h: exit %d, output %q %q", name, code, out, errOut)
		}
	}
}

// FuzzIntList: -goroutines either fails or yields positive counts that
// print back to a list parsing to the same counts.
func FuzzIntList(f *testing.F) {
	for _, s := range []string{"1,2,4,8", "0", "-1", "1,,2", " 3 , 4", "x", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var l intList
		if err := l.Set(s); err != nil {
			return
		}
		for _, n := range l {
			if n <= 0 {
				t.Fatalf("%q gave %d", s, n)
			}
		}
		var again intList
		if err := again.Set(l.String()); err != nil || again.String() != l.String() {
			t.Fatalf("%q: %q does not round-trip: %v", s, l.String(), err)
		}
	})
}
