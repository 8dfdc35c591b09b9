package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"gostm.dev/bench"
)

func writeFormat(w io.Writer, format string, env bench.Env, res *bench.Result) error {
	switch format {
	case "text":
		return writeText(w, env, res)
	case "bench":
		return writeBench(w, env, res)
	case "csv":
		return writeCSV(w, res)
	case "json":
		return writeJSON(w, env, res)
	}
	return fmt.Errorf("unknown format %q", format)
}

// si formats x with three significant digits and an SI suffix.
func si(x float64) string {
	abs := math.Abs(x)
	switch {
	case abs >= 1e9:
		return sig3(x/1e9) + "G"
	case abs >= 1e6:
		return sig3(x/1e6) + "M"
	case abs >= 1e3:
		return sig3(x/1e3) + "k"
	}
	return sig3(x)
}

func sig3(x float64) string {
	switch abs := math.Abs(x); {
	case abs == 0:
		return "0"
	case abs >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case abs >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case abs >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

// dur formats nanoseconds with three significant digits.
func dur(ns int64) string {
	d := float64(ns)
	switch {
	case ns <= 0:
		return "-"
	case d >= 1e9:
		return sig3(d/1e9) + "s"
	case d >= 1e6:
		return sig3(d/1e6) + "ms"
	case d >= 1e3:
		return sig3(d/1e3) + "µs"
	}
	return sig3(d) + "ns"
}

// halfRange is the spread of repetitions as ± percent of the median.
func halfRange(s bench.Spread) string {
	if s.Median == 0 {
		return "-"
	}
	return fmt.Sprintf("±%.0f%%", (s.Max-s.Min)/2/s.Median*100)
}

func paramString(ps []bench.ParamValue) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprintf("%s=%d", p.Name, p.Value)
	}
	return strings.Join(s, " ")
}

// goroutinesLabel marks oversubscribed counts with a star, explained in a
// footnote wherever it appears.
func goroutinesLabel(p *bench.Point) string {
	if p.Oversubscribed {
		return strconv.Itoa(p.Goroutines) + "*"
	}
	return strconv.Itoa(p.Goroutines)
}

func perTx(p *bench.Point, n uint64) string {
	if !p.HasCounters {
		return "-"
	}
	if p.Ops == 0 || n == 0 {
		return "0"
	}
	x := float64(n) / float64(p.Ops)
	if x < 0.001 {
		return "<0.001" // rare, but not none: "0.000" would hide it
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

func budget(res *bench.Result) string {
	per := time.Duration(res.DurationNS).String()
	if res.Ops > 0 {
		per = fmt.Sprintf("%d ops", res.Ops)
	}
	return fmt.Sprintf("%d × %s after %v warm-up", res.Count, per, time.Duration(res.WarmupNS))
}

func envLine(env bench.Env) string {
	cpu := env.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s %s/%s, %s, NumCPU %d, GOMAXPROCS %d", env.GoVersion, env.GOOS, env.GOARCH, cpu, env.NumCPU, env.GOMAXPROCS)
}

func oversubscribed(res *bench.Result) []int {
	var gs []int
	for _, p := range res.Points {
		if p.Oversubscribed && (len(gs) == 0 || gs[len(gs)-1] != p.Goroutines) {
			gs = append(gs, p.Goroutines)
		}
	}
	return gs
}

func writeText(w io.Writer, env bench.Env, res *bench.Result) error {
	ew := &errWriter{w: w}
	if res.Partial {
		fmt.Fprintln(ew, "PARTIAL RESULTS: interrupted; only the points below finished")
	}
	params := ""
	if len(res.Params) > 0 {
		params = " (" + paramString(res.Params) + ")"
	}
	fmt.Fprintf(ew, "workload %s%s, seed %d\n", res.Workload, params, res.Seed)
	fmt.Fprintln(ew, envLine(env))
	fmt.Fprintf(ew, "each point: %s; tx/s is the median, ± half its range\n\n", budget(res))
	width := len("engine")
	for _, e := range res.Engines {
		width = max(width, len(e))
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "goroutines\t%-*s\ttx/s\t±\taborts/tx\tblocks/tx\tallocs/op\tB/op\tp50\tp99\tcheck\t\n", width, "engine")
	for i := range res.Points {
		p := &res.Points[i]
		check := checkText(p, p.Err != "")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			goroutinesLabel(p), fmt.Sprintf("%-*s", width, p.Engine), si(p.TxPerSec.Median), halfRange(p.TxPerSec),
			perTx(p, p.Counters.Aborts), perTx(p, p.Counters.Blocks),
			sig3(p.AllocsPerOp), si(p.BytesPerOp), dur(p.P50NS), dur(p.P99NS), check)
	}
	tw.Flush()
	var notes []string
	for i := range res.Points {
		p := &res.Points[i]
		var parts []string
		if p.HasCounters && p.Counters.Aborts > 0 {
			for _, c := range p.Counters.Causes() {
				if c.Count > 0 {
					parts = append(parts, fmt.Sprintf("%s %s", c.Name, perTx(p, c.Count)))
				}
			}
			if p.Counters.Irrevocable > 0 {
				parts = append(parts, fmt.Sprintf("irrevocable %s", perTx(p, p.Counters.Irrevocable)))
			}
		}
		for _, a := range p.Attempts {
			parts = append(parts, attemptsText(a))
		}
		if len(p.Roles) > 0 {
			for _, r := range sortedKeys(p.Roles) {
				parts = append(parts, fmt.Sprintf("%s %s tx/s", r, si(p.Roles[r])))
			}
		}
		if p.Err != "" {
			parts = append(parts, "invariant broken: "+p.Err)
		}
		if len(parts) > 0 {
			notes = append(notes, fmt.Sprintf("  %s, %s goroutines: %s", p.Engine, goroutinesLabel(p), strings.Join(parts, ", ")))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(ew, "\nabort causes per tx, attempts, and throughput per role:")
		for _, n := range notes {
			fmt.Fprintln(ew, n)
		}
	}
	if gs := oversubscribed(res); len(gs) > 0 {
		fmt.Fprintf(ew, "\n* oversubscribed: more goroutines than GOMAXPROCS (%d): time-sliced, not parallel\n", env.GOMAXPROCS)
	}
	if countNoOps(res.Points) > 0 {
		fmt.Fprintf(ew, "\n%s\n", noOpsNote)
	}
	if res.Partial {
		fmt.Fprintln(ew, "PARTIAL RESULTS")
	}
	return ew.err
}

// attemptsText says how many attempts the transactions of a's kind took:
// "audit: max 1 attempt, 0 of 61.2k retried".
func attemptsText(a bench.Attempts) string {
	most := strconv.Itoa(a.Max())
	if a.Max() >= bench.MaxTrackedAttempts {
		most = "≥" + most
	}
	unit := "attempts"
	if a.Max() == 1 {
		unit = "attempt"
	}
	return fmt.Sprintf("%s: max %s %s, %d of %s retried", a.Name, most, unit, a.Retried(), si(float64(a.Total())))
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// errWriter keeps the first write error, so a formatter can write freely
// and report it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, nil
}

// benchName turns a workload name into a Go benchmark name: "Benchmark"
// then the name in camel case, which the format requires to start with a
// non-lower-case letter ("intset-list" becomes BenchmarkIntsetList).
func benchName(workload string) string {
	var b strings.Builder
	b.WriteString("Benchmark")
	up := true
	for _, r := range workload {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeBench writes the Go benchmark format (golang.org/design/14313), one
// result line per repetition, so that benchstat computes its own medians
// and confidence intervals; "benchstat -col /goroutines" pivots on the
// goroutine count. It is written by hand: golang.org/x/perf/benchfmt needs
// go 1.26 and would raise this module's go directive.
func writeBench(w io.Writer, env bench.Env, res *bench.Result) error {
	ew := &errWriter{w: w}
	cpu := env.CPU
	if cpu == "" {
		cpu = "unknown"
	}
	fmt.Fprintf(ew, "goos: %s\ngoarch: %s\npkg: gostm.dev/bench\ncpu: %s\n", env.GOOS, env.GOARCH, cpu)
	fmt.Fprintf(ew, "go: %s\nnumcpu: %d\ngomaxprocs: %d\nseed: %d\n", env.GoVersion, env.NumCPU, env.GOMAXPROCS, res.Seed)
	if gs := oversubscribed(res); len(gs) > 0 {
		s := make([]string, len(gs))
		for i, g := range gs {
			s[i] = strconv.Itoa(g)
		}
		// A configuration line, constant over the file, so benchstat does
		// not split rows on it; the label is there for readers.
		fmt.Fprintf(ew, "oversubscribed: goroutines=%s exceed gomaxprocs=%d\n", strings.Join(s, ","), env.GOMAXPROCS)
	}
	if res.Partial {
		fmt.Fprintln(ew, "partial: true")
	}
	for i := range res.Points {
		p := &res.Points[i]
		name := fmt.Sprintf("%s/engine=%s", benchName(p.Workload), p.Engine)
		for _, pv := range p.Params {
			name += fmt.Sprintf("/%s=%d", pv.Name, pv.Value)
		}
		name += fmt.Sprintf("/goroutines=%d-%d", p.Goroutines, p.GOMAXPROCS)
		// benchstat's geometric means break on metrics that are always
		// zero, so abort and block rates appear only when some
		// repetition of the point had one.
		aborts := p.HasCounters && p.Counters.Aborts > 0
		blocks := p.HasCounters && p.Counters.Blocks > 0
		for _, r := range p.Reps {
			ops := max(r.Ops, 1)
			fmt.Fprintf(ew, "%s\t%d\t%s ns/op\t%s tx/s", name, r.Ops,
				fnum(float64(r.ElapsedNS)/float64(ops)), fnum(r.TxPerSec))
			if aborts {
				fmt.Fprintf(ew, "\t%s aborts/op", fnum(float64(r.Counters.Aborts)/float64(ops)))
			}
			if blocks {
				fmt.Fprintf(ew, "\t%s blocks/op", fnum(float64(r.Counters.Blocks)/float64(ops)))
			}
			for _, a := range p.Attempts {
				// Only for kinds counted in this point: an always-zero
				// maximum would break benchstat's geometric mean.
				if a.Total() > 0 {
					fmt.Fprintf(ew, "\t%d max-%s-attempts", attemptsOf(r, a.Name).Max(), a.Name)
				}
			}
			fmt.Fprintf(ew, "\t%s B/op\t%s allocs/op\t%d p50-ns\t%d p99-ns\n",
				fnum(r.BytesPerOp), fnum(r.AllocsPerOp), r.P50NS, r.P99NS)
		}
	}
	return ew.err
}

// attemptsOf returns r's counts of the transactions called name.
func attemptsOf(r bench.Rep, name string) bench.Attempts {
	for _, a := range r.Attempts {
		if a.Name == name {
			return a
		}
	}
	return bench.Attempts{Name: name}
}

// fnum prints a metric value with six significant digits in plain
// decimal notation: spreadsheets and people read 0.0000123 and 1500000
// more readily than 1.23e-05 and 1.5e+06, and every parser reads both.
func fnum(x float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	if err != nil {
		return strconv.FormatFloat(x, 'f', -1, 64) // NaN, ±Inf
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// noOpsNote explains the "no ops" check of a point that completed no
// operation.
const noOpsNote = "no ops: not one operation completed in the measured time, so the invariant check proves nothing; raise -duration"

// checkText is a point's check column: FAIL, ok, or "no ops" when it
// completed no operation, whose check passes vacuously.
func checkText(p *bench.Point, failed bool) string {
	switch {
	case failed:
		return "FAIL"
	case p.Ops == 0:
		return "no ops"
	}
	return "ok"
}

func countNoOps(pts []bench.Point) int {
	n := 0
	for i := range pts {
		if pts[i].Ops == 0 && pts[i].Err == "" {
			n++
		}
	}
	return n
}

// warnNoOps says on stderr that some points measured nothing, so that a
// script reading only the exit status and stderr learns it too.
func warnNoOps(stderr io.Writer, cmd string, pts []bench.Point) {
	if n := countNoOps(pts); n > 0 {
		fmt.Fprintf(stderr, "%s: warning: %d of %d points completed no operation: their checks prove nothing (raise -duration)\n", cmd, n, len(pts))
	}
}

var csvHeader = []string{
	"workload", "params", "engine", "goroutines", "gomaxprocs", "oversubscribed", "reps",
	"tx_per_sec", "tx_per_sec_min", "tx_per_sec_max",
	"aborts_per_tx", "locked_read_per_tx", "extend_per_tx", "lock_busy_per_tx", "validate_per_tx", "serial_per_tx", "stale_panic_per_tx",
	"history_miss_per_tx", "past_write_per_tx",
	"blocks_per_tx", "irrevocable_per_tx",
	"allocs_per_op", "bytes_per_op", "p50_ns", "p99_ns", "roles", "attempts", "error", "partial",
}

// writeCSV writes one row per point; counter columns are empty for engines
// that keep no counters, so that "no data" is not read as zero. The
// attempts column holds, for each kind of transaction the engine counts
// attempts of, KIND_n (how many), KIND_retried (took more than one
// attempt) and KIND_max (the most attempts one took), space-separated
// NAME=VALUE pairs like the roles column.
func writeCSV(w io.Writer, res *bench.Result) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for i := range res.Points {
		p := &res.Points[i]
		rate := func(n uint64) string {
			if !p.HasCounters {
				return ""
			}
			return fnum(ratioOf(n, p.Ops))
		}
		var roles []string
		for _, k := range sortedKeys(p.Roles) {
			roles = append(roles, fmt.Sprintf("%s=%s", k, fnum(p.Roles[k])))
		}
		var tries []string
		for _, a := range p.Attempts {
			tries = append(tries, fmt.Sprintf("%[1]s_n=%[2]d %[1]s_retried=%[3]d %[1]s_max=%[4]d", a.Name, a.Total(), a.Retried(), a.Max()))
		}
		c := p.Counters
		cw.Write([]string{
			p.Workload, paramString(p.Params), p.Engine, strconv.Itoa(p.Goroutines), strconv.Itoa(p.GOMAXPROCS),
			strconv.FormatBool(p.Oversubscribed), strconv.Itoa(len(p.Reps)),
			fnum(p.TxPerSec.Median), fnum(p.TxPerSec.Min), fnum(p.TxPerSec.Max),
			rate(c.Aborts), rate(c.LockedRead), rate(c.Extend), rate(c.LockBusy), rate(c.Validate), rate(c.Serial), rate(c.StalePanic),
			rate(c.HistoryMiss), rate(c.PastWrite),
			rate(c.Blocks), rate(c.Irrevocable),
			fnum(p.AllocsPerOp), fnum(p.BytesPerOp), strconv.FormatInt(p.P50NS, 10), strconv.FormatInt(p.P99NS, 10),
			strings.Join(roles, " "), strings.Join(tries, " "), p.Err, strconv.FormatBool(res.Partial),
		})
	}
	cw.Flush()
	return cw.Error()
}

func ratioOf(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// jsonDoc is the JSON output: the environment, then the result with every
// repetition.
type jsonDoc struct {
	Env    bench.Env     `json:"env"`
	Result *bench.Result `json:"result"`
}

func writeJSON(w io.Writer, env bench.Env, res *bench.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonDoc{env, res})
}
