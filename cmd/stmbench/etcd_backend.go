package main

// The etcd backend of "stmbench bank" and "stmbench santa": the same demos
// and checks with the state in etcd, through gostm.dev/dstm, on an embedded
// single-member etcd unless -etcd-endpoints names a cluster.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"gostm.dev/bank"
	"gostm.dev/bench"
	"gostm.dev/dstm"
	"gostm.dev/dstm/etcdbank"
	"gostm.dev/dstm/etcdsanta"
	"gostm.dev/santa"
)

// etcdFlags are the backend flags both demos take.
type etcdFlags struct {
	fs        *flag.FlagSet
	backend   *string
	endpoints *string
	runs      *int
}

func addEtcdFlags(fs *flag.FlagSet) *etcdFlags {
	return &etcdFlags{
		fs:        fs,
		backend:   fs.String("backend", "memory", "where the state lives: memory (gostm) or etcd (gostm.dev/dstm; an embedded single-member etcd unless -etcd-endpoints is given)"),
		endpoints: fs.String("etcd-endpoints", "", "with -backend etcd: comma-separated client URLs of an existing etcd cluster (e.g. http://127.0.0.1:2379)"),
		runs:      fs.Int("etcd-runs", 1, "bank with -backend etcd: runs of each engine, alternated (dstm, etcd's STM, dstm, ...)"),
	}
}

// on reports whether the etcd backend was asked for; a bad value is a usage
// error.
func (f *etcdFlags) on() (bool, error) {
	switch *f.backend {
	case "memory":
		if *f.endpoints != "" {
			return false, errors.New("-etcd-endpoints needs -backend etcd")
		}
		return false, nil
	case "etcd":
		if *f.runs < 1 {
			return false, fmt.Errorf("-etcd-runs %d: must be at least 1", *f.runs)
		}
		return true, nil
	}
	return false, fmt.Errorf("-backend %q: want memory or etcd", *f.backend)
}

func (f *etcdFlags) set(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// connect starts the embedded member or dials the endpoints, says which on
// w, and returns the client, the dstm options that fit the server, and a
// function that closes both.
func (f *etcdFlags) connect(ctx context.Context, w io.Writer) (*clientv3.Client, []dstm.Option, func(), error) {
	if *f.endpoints != "" {
		eps := strings.Split(*f.endpoints, ",")
		cli, err := dstm.Dial(ctx, eps)
		if err != nil {
			return nil, nil, nil, err
		}
		fmt.Fprintf(w, "etcd: cluster at %s (its max-txn-ops must admit the transactions: a commit compares every key it read)\n", strings.Join(eps, ","))
		return cli, nil, func() { cli.Close() }, nil
	}
	start := time.Now()
	e, err := dstm.StartEmbedded(ctx, dstm.EmbedConfig{})
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(w, "etcd: embedded single member at %s (fsync on, data in %s, removed at exit), ready in %v\n",
		e.Endpoints()[0], e.Dir(), time.Since(start).Round(time.Millisecond))
	return e.Client(), e.Options(), func() { e.Close() }, nil
}

// bank runs the bank on etcd: dstm against etcd's concurrency.NewSTM,
// alternated, with the same configuration.
func (f *etcdFlags) bank(ctx context.Context, cfg bank.Config, format string, stdout, stderr io.Writer) int {
	if !f.set("ops") && !f.set("duration") {
		cfg.Ops, cfg.Duration = 0, 3*time.Second // a commit takes milliseconds: 200000 ops would take minutes
	}
	if !f.set("stall") {
		cfg.Stall = 30 * time.Second // an fsync on a busy disk can take longer than a second
	}
	info := stdout
	if format == "json" {
		info = stderr
	}
	cli, opts, closeAll, err := f.connect(ctx, info)
	if err != nil {
		fmt.Fprintf(stderr, "stmbench bank: %v\n", err)
		return bankExitFailed
	}
	defer closeAll()
	var results []etcdbank.Result
	for range *f.runs {
		for _, mode := range []bank.Mode{etcdbank.ModeDSTM, etcdbank.ModeEtcdSTM} {
			res, err := etcdbank.Run(ctx, cli, mode, cfg, opts...)
			if err != nil && !res.Report.Interrupted {
				fmt.Fprintf(stderr, "stmbench bank: %s: %v\n", mode, err)
				return bankExitFailed
			}
			results = append(results, res)
			if err != nil {
				fmt.Fprintln(stderr, "stmbench bank: interrupted; the results above are partial")
				return bankExitInterrupted
			}
		}
	}
	if format == "json" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err == nil {
			_, err = stdout.Write(append(b, '\n'))
		}
		if err != nil {
			fmt.Fprintf(stderr, "stmbench bank: %v\n", err)
			return bankExitFailed
		}
	} else {
		etcdBankTable(stdout, cfg, results)
	}
	for _, r := range results {
		if r.Report.Config.Mode == etcdbank.ModeDSTM && !r.Report.Passed() {
			return bankExitFailed
		}
	}
	return bankExitOK
}

func etcdBankTable(w io.Writer, cfg bank.Config, results []etcdbank.Result) {
	bound := fmt.Sprintf("ops=%d", cfg.Ops)
	if cfg.Duration > 0 {
		bound = fmt.Sprintf("duration=%v", cfg.Duration)
	}
	fmt.Fprintf(w, "bank on etcd  accounts=%d workers=%d %s audit=%d%% initial=%d max-amount=%d overdraft=%v seed=%d GOMAXPROCS=%d\n\n",
		cfg.Accounts, cfg.Workers, bound, cfg.AuditPercent, cfg.Initial, cfg.MaxAmount, cfg.Overdraft, cfg.Seed, bankProcs())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "engine\tB1\tB2\tB3\tB4\tB5\tops/s\taudits\tattempts/audit\tmax\taudit p50\tp99\tmax")
	for _, r := range results {
		fmt.Fprintf(tw, "%s", r.Report.Config.Mode)
		for _, c := range r.Report.Checks {
			fmt.Fprintf(tw, "\t%s", c.Status)
		}
		a := r.Audit
		fmt.Fprintf(tw, "\t%.0f\t%d\t%.2f\t%d\t%v\t%v\t%v\n", r.Report.Throughput, a.Audits, a.MeanAttempts(), a.MaxAttempts,
			a.P50.Round(10*time.Microsecond), a.P99.Round(10*time.Microsecond), a.Max.Round(10*time.Microsecond))
	}
	tw.Flush()
	median := func(mode bank.Mode) float64 {
		var xs []float64
		for _, r := range results {
			if r.Report.Config.Mode == mode {
				xs = append(xs, r.Report.Throughput)
			}
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	fmt.Fprintf(w, "\ndstm/etcd-stm throughput (median of %d runs each): %.2fx\n", len(results)/2, median(etcdbank.ModeDSTM)/median(etcdbank.ModeEtcdSTM))
	for _, r := range results {
		for _, c := range r.Report.Checks {
			if c.Status == bank.Fail {
				fmt.Fprintf(w, "%s %s %s: %s\n", r.Report.Config.Mode, c.ID, c.Detail, c.Counterexample)
			}
		}
		if s := r.DSTM; s != nil {
			fmt.Fprintf(w, "dstm: commits=%d read-only=%d conflicts=%d retries=%d read-retries=%d unknown-outcomes=%d (committed %d, not %d, unresolved %d)\n",
				s.Commits, s.ReadOnly, s.Conflicts, s.Retries, s.ReadRetries, s.Unknown, s.ResolvedCommit, s.ResolvedAbort, s.Unresolved)
		}
	}
	fmt.Fprintln(w, "etcd-stm is etcd's concurrency.NewSTM: its attempts are not opaque, so B2 (which checks every attempt) may catch one;")
	fmt.Fprintln(w, "only the dstm bank decides the exit status.")
}

// runSanta runs the Santa Claus problem in memory, or on etcd if asked.
func (f *etcdFlags) runSanta(ctx context.Context, cfg santa.Config, stdout io.Writer) (santa.Report, error) {
	if on, _ := f.on(); !on {
		return santa.RunContext(ctx, cfg)
	}
	if !f.set("rounds") {
		cfg.Rounds = etcdsanta.DefaultRounds
	}
	if !f.set("watchdog") {
		cfg.Watchdog = etcdsanta.DefaultWatchdog
	}
	if cfg.Variant == santa.VariantSTM {
		cfg.Variant = ""
	}
	cli, opts, closeAll, err := f.connect(ctx, stdout)
	if err != nil {
		return santa.Report{}, err
	}
	defer closeAll()
	c := dstm.New(cli, opts...)
	defer c.Close(context.WithoutCancel(ctx))
	rep, err := etcdsanta.Run(ctx, c, cfg)
	s := c.Stats()
	fmt.Fprintf(stdout, "dstm: commits=%d conflicts=%d retries=%d wake-ups=%d unknown-outcomes=%d\n", s.Commits, s.Conflicts, s.Retries, s.Wakeups, s.Unknown)
	return rep, err
}

// The tour shows a short bank run on an embedded etcd next to the in-memory
// one: dstm against etcd's own STM, same configuration.
func init() {
	bench.RegisterDemo(bench.Demo{
		Name:     "bank-etcd",
		Doc:      "the bank on an embedded etcd: dstm against etcd's concurrency.NewSTM, checks B1–B5",
		Run:      etcdBankDemo,
		Estimate: 3 * time.Second, // a start-up and two 1 s runs
	})
}

func etcdBankDemo(ctx context.Context, seed uint64) (bench.DemoReport, error) {
	e, err := dstm.StartEmbedded(ctx, dstm.EmbedConfig{})
	if err != nil {
		return bench.DemoReport{}, err
	}
	defer e.Close()
	cfg := bank.TourConfig()
	cfg.Seed, cfg.Duration, cfg.Stall = seed, time.Second, 30*time.Second
	out := bench.DemoReport{Baseline: string(etcdbank.ModeEtcdSTM)}
	for _, mode := range []bank.Mode{etcdbank.ModeDSTM, etcdbank.ModeEtcdSTM} {
		res, err := etcdbank.Run(ctx, e.Client(), mode, cfg, e.Options()...)
		if err != nil {
			return out, err
		}
		o := bench.Outcome{Mode: string(mode), TxPerSec: res.Report.Throughput}
		for _, c := range res.Report.Checks {
			if mode == etcdbank.ModeEtcdSTM && c.ID == "B2" {
				continue // it checks every attempt, and etcd's STM is not opaque: not a bug of the run
			}
			detail := c.Counterexample
			if detail == "" {
				detail = c.Detail
			}
			o.Checks = append(o.Checks, bench.Check{Name: c.ID, OK: c.Status != bank.Fail, Detail: detail})
		}
		a := res.Audit
		o.Checks = append(o.Checks, bench.Check{
			Name: fmt.Sprintf("%.2f attempts/audit", a.MeanAttempts()),
			OK:   mode != etcdbank.ModeDSTM || a.MaxAttempts <= 1, Detail: fmt.Sprintf("max %d", a.MaxAttempts),
		})
		out.Outcomes = append(out.Outcomes, o)
	}
	return out, nil
}
