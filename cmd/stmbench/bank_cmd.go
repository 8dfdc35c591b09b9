package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"gostm.dev/bank"
)

// Exit statuses of "stmbench bank". A deadlock gets its own status so a
// script can tell "the watchdog fired" from "a check failed".
const (
	bankExitOK          = 0
	bankExitFailed      = 1
	bankExitUsage       = 2
	bankExitDeadlock    = 3
	bankExitInterrupted = 130
)

const bankUsage = `usage: stmbench bank [flags]

Runs the bank-account race in one synchronisation mode (or all of them) and
checks the outcome: B1 conservation, B2 every audit sees the invariant
total, B3 no negative balance (overdrafts off), B4 each account matches the
workers' ledger, B5 progress (a watchdog reports deadlocks).

Modes: unsync, atomic, lock-naive (negative controls: they must fail),
lock-ordered, global-lock, channel, stm (correct: they must pass), or all.

Exit status: 0 every check passed (with -mode all: every mode got its
expected verdict, negative controls caught), 1 a check failed, 2 usage
error, 3 deadlock found by the watchdog, 130 interrupted.

Flags:
`

// bankCommand is "stmbench bank": it parses args, runs, prints to stdout
// (errors to stderr) and returns the exit status.
func bankCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	def := bank.DefaultConfig()
	fs := flag.NewFlagSet("stmbench bank", flag.ContinueOnError)
	// flag would print its own error and the whole usage; we print one line.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	mode := fs.String("mode", string(def.Mode), "synchronisation `mode`, or all")
	accounts := fs.Int("accounts", def.Accounts, "number of accounts (at least 2)")
	workers := fs.Int("workers", def.Workers, "worker goroutines")
	ops := fs.Int64("ops", def.Ops, "operations in all (exclusive with -duration)")
	duration := fs.Duration("duration", 0, "run for this long instead of -ops")
	audit := fs.Int("audit", def.AuditPercent, "percentage of operations that audit the whole bank")
	initial := fs.Int64("initial", def.Initial, "opening balance of each account")
	maxAmount := fs.Int64("max-amount", def.MaxAmount, "transfers move 1 to this amount")
	overdraft := fs.Bool("overdraft", def.Overdraft, "allow negative balances (B3 is then skipped)")
	seed := &seedFlag{}
	fs.Var(seed, "seed", "random seed, "+seedUsage+" (0: pick one from the clock and print it)")
	stall := fs.Duration("stall", bank.DefaultStall, "watchdog: report a deadlock after this long without progress (positive)")
	format := fs.String("format", "text", "output `format`: text or json")
	compose := fs.Bool("compose", false, "show the STM composability demo instead of a run")
	etcd := addEtcdFlags(fs)

	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stmbench bank: "+format+" (see stmbench bank -h)\n", a...)
		return bankExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, bankUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return bankExitOK
		}
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *format != "text" && *format != "json" {
		return usageErr("-format %q: want text or json", *format)
	}
	if *compose {
		return bankCompose(ctx, *format, stdout, stderr)
	}

	all := *mode == "all"
	cfg := def
	if !all {
		m, err := bank.ParseMode(*mode)
		if err != nil {
			return usageErr("-mode %q: want one of %v or all", *mode, bank.Modes())
		}
		cfg.Mode = m
	}
	if set["ops"] && set["duration"] {
		return usageErr("-ops and -duration are exclusive: give one")
	}
	if *stall <= 0 {
		// bank.Config reads 0 as "the default"; on the command line it
		// would silently mean one second, and no watchdog at all cannot
		// be had: a deadlocked mode would hang for good.
		return usageErr("-stall %v: must be positive (the watchdog's patience; use a long one like 1h to wait longer)", *stall)
	}
	cfg.Accounts, cfg.Workers, cfg.Ops, cfg.AuditPercent = *accounts, *workers, *ops, *audit
	cfg.Initial, cfg.MaxAmount, cfg.Overdraft, cfg.Stall = *initial, *maxAmount, *overdraft, *stall
	if set["duration"] {
		cfg.Ops, cfg.Duration = 0, *duration
	}
	cfg.Seed = seed.v
	if cfg.Seed == 0 {
		cfg.Seed = clockSeed()
	}
	if err := cfg.Validate(); err != nil {
		var ce *bank.ConfigError
		if errors.As(err, &ce) {
			return usageErr("-%s %v: %s", bankFlagOf[ce.Field], ce.Value, ce.Reason)
		}
		return usageErr("%v", err)
	}

	if on, err := etcd.on(); err != nil {
		return usageErr("%v", err)
	} else if on {
		return etcd.bank(ctx, cfg, *format, stdout, stderr)
	}
	modes := []bank.Mode{cfg.Mode}
	if all {
		modes = bank.Modes()
	}
	reports, err := bank.RunModes(ctx, cfg, modes)
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted {
		fmt.Fprintf(stderr, "stmbench bank: %v\n", err)
		return bankExitFailed
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var v any = reports
		if !all && len(reports) == 1 {
			v = reports[0]
		}
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "stmbench bank: %v\n", err)
			return bankExitFailed
		}
	} else {
		bankHeader(stdout, cfg, all)
		if all {
			bankTable(stdout, reports)
		} else if len(reports) == 1 {
			bankReport(stdout, reports[0])
		}
	}
	if interrupted {
		fmt.Fprintln(stderr, "stmbench bank: interrupted; the results above are partial")
		return bankExitInterrupted
	}
	return bankExitCode(reports, all)
}

// bankFlagOf names the flag that sets each Config field, so that a
// config error points at what the user typed.
var bankFlagOf = map[string]string{
	"Mode": "mode", "Accounts": "accounts", "Workers": "workers", "Ops": "ops", "Duration": "duration",
	"AuditPercent": "audit", "Initial": "initial", "MaxAmount": "max-amount", "Stall": "stall",
}

func bankExitCode(reports []bank.Report, all bool) int {
	if all {
		for _, r := range reports {
			if !r.AsExpected() {
				return bankExitFailed
			}
		}
		return bankExitOK
	}
	r := reports[0]
	switch {
	case r.Deadlocked:
		return bankExitDeadlock
	case !r.Passed():
		return bankExitFailed
	}
	return bankExitOK
}

func bankHeader(w io.Writer, c bank.Config, all bool) {
	mode := string(c.Mode)
	if all {
		mode = "all"
	}
	bound, flagBound := fmt.Sprintf("ops=%d", c.Ops), fmt.Sprintf("-ops %d", c.Ops)
	if c.Duration > 0 {
		bound, flagBound = fmt.Sprintf("duration=%v", c.Duration), fmt.Sprintf("-duration %v", c.Duration)
	}
	fmt.Fprintf(w, "bank  mode=%s accounts=%d workers=%d %s audit=%d%% initial=%d max-amount=%d overdraft=%v seed=%d GOMAXPROCS=%d stall=%v\n",
		mode, c.Accounts, c.Workers, bound, c.AuditPercent, c.Initial, c.MaxAmount, c.Overdraft, c.Seed, bankProcs(), c.Stall)
	fmt.Fprintf(w, "replay: stmbench bank -mode %s -accounts %d -workers %d %s -audit %d -initial %d -max-amount %d -overdraft=%v -seed %d -stall %v\n\n",
		mode, c.Accounts, c.Workers, flagBound, c.AuditPercent, c.Initial, c.MaxAmount, c.Overdraft, c.Seed, c.Stall)
}

func bankReport(w io.Writer, r bank.Report) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%-2s %-13s %-4s  %s\n", c.ID, c.Name, c.Status, c.Detail)
		if c.Counterexample != "" {
			fmt.Fprintf(w, "%23sfirst: %s\n", "", c.Counterexample)
		}
	}
	if r.Deadlocked {
		// The stuck workers never hand in their tallies of transfers and
		// audits: only the shared count of finished operations is known.
		fmt.Fprintf(w, "\nthroughput %s ops/s  (%d ops finished in %v, then the workers deadlocked; the split into transfers and audits died with them)\n",
			bankSI(r.Throughput), r.Ops, r.Elapsed.Round(time.Microsecond))
	} else {
		fmt.Fprintf(w, "\nthroughput %s ops/s  (%d ops in %v: %d transfers, %d declined for lack of funds, %d audits)\n",
			bankSI(r.Throughput), r.Ops, r.Elapsed.Round(time.Microsecond), r.Transfers, r.Declined, r.Audits)
	}
	if s := r.STM; s != nil {
		e := s.Engine
		fmt.Fprintf(w, "stm: commits=%d attempts=%d aborts=%d (locked-read %d, extend %d, lock %d, validate %d, serial %d, stale-panic %d, history-miss %d, past-write %d) "+
			"irrevocable=%d retries=%d wakeups=%d max-attempts=%d audit-attempts=%d/%d max-audit-attempts=%d\n",
			s.Commits, s.Attempts, e.Aborts, e.LockedReads, e.ExtendFailures, e.LockConflicts, e.ValidationFails, e.SerialWaits,
			e.StalePanics, e.HistoryMisses, e.PastWrites, e.Irrevocable, e.Blocks, e.Wakeups, s.MaxAttempts, s.AuditAttempts, r.Audits, s.MaxAudit)
	}
	switch {
	case r.Deadlocked:
		fmt.Fprintf(w, "verdict: DEADLOCK (watchdog, %v without progress)%s\n", r.Config.Stall, bankExpectNote(r))
	case r.Passed():
		fmt.Fprintf(w, "verdict: PASS%s\n", bankExpectNote(r))
	default:
		fmt.Fprintf(w, "verdict: FAIL%s\n", bankExpectNote(r))
	}
}

// bankExpectNote says whether the verdict is what the mode is built for.
func bankExpectNote(r bank.Report) string {
	m := r.Config.Mode
	switch {
	case m.Correct() && r.Passed():
		return ""
	case m.Correct():
		return fmt.Sprintf(" — %s is a correct mode: this is a bug", m)
	case r.AsExpected():
		return fmt.Sprintf(" — as expected: %s is a negative control (it must fail %s)", m, strings.Join(m.ExpectedFailures(), " or "))
	}
	return fmt.Sprintf(" — MISSED: %s is a negative control, yet %s passed", m, strings.Join(m.ExpectedFailures(), " and "))
}

func bankTable(w io.Writer, reports []bank.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "mode\tB1\tB2\tB3\tB4\tB5\tops/s\tverdict")
	for _, r := range reports {
		fmt.Fprintf(tw, "%s", r.Config.Mode)
		for _, c := range r.Checks {
			s := string(c.Status)
			if c.Status == bank.Skip {
				s = "-"
			}
			fmt.Fprintf(tw, "\t%s", s)
		}
		rate := bankSI(r.Throughput)
		if r.Deadlocked {
			rate = "stuck"
		}
		fmt.Fprintf(tw, "\t%s\t%s\n", rate, bankVerdict(r))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nfirst counterexamples:")
	found := false
	for _, r := range reports {
		for _, c := range r.Checks {
			if c.Status == bank.Fail {
				fmt.Fprintf(w, "  %-12s %s %s: %s\n", r.Config.Mode, c.ID, c.Detail, c.Counterexample)
				found = true
				break
			}
		}
	}
	if !found {
		fmt.Fprintln(w, "  none")
	}
	fmt.Fprintln(w, "\nThe negative controls' throughput includes yields that widen their race windows; compare only the correct modes.")
}

func bankVerdict(r bank.Report) string {
	m := r.Config.Mode
	switch {
	case m.Correct() && r.Passed():
		return "ok"
	case m.Correct():
		return "FAIL (bug)"
	case r.AsExpected() && r.Deadlocked:
		return "caught (deadlock)"
	case r.AsExpected():
		return "caught"
	}
	return "MISSED"
}

func bankCompose(ctx context.Context, format string, stdout, stderr io.Writer) int {
	steps, err := bank.ComposeDemo(ctx)
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(steps); err != nil {
			fmt.Fprintf(stderr, "stmbench bank: %v\n", err)
			return bankExitFailed
		}
	} else {
		fmt.Fprintf(stdout, "bank -compose: what STM composes that locks cannot  GOMAXPROCS=%d\n", bankProcs())
		for i, s := range steps {
			ok := "PASS"
			if !s.OK {
				ok = "FAIL"
			}
			fmt.Fprintf(stdout, "\n%d. %s  %s\n", i+1, s.Title, ok)
			for _, l := range s.Lines {
				fmt.Fprintf(stdout, "   %s\n", l)
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "stmbench bank: interrupted; the results above are partial")
			return bankExitInterrupted
		}
		fmt.Fprintf(stderr, "stmbench bank: %v\n", err)
		return bankExitFailed
	}
	for _, s := range steps {
		if !s.OK {
			return bankExitFailed
		}
	}
	return bankExitOK
}

// bankSI writes a rate with an SI suffix and three significant digits.
func bankSI(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.3gG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.3gM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.3gk", x/1e3)
	}
	return fmt.Sprintf("%.3g", x)
}

func bankProcs() int { return runtime.GOMAXPROCS(0) }
