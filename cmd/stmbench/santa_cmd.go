package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"gostm.dev/santa"
)

// Exit statuses of santaCommand.
const (
	santaExitPass     = 0 // every property held
	santaExitFail     = 1 // a property failed
	santaExitUsage    = 2 // bad flags, arguments or trace file
	santaExitWatchdog = 3 // the run stalled and the watchdog stopped it
	// santaExitInterrupted is the shell's code for death by SIGINT: the
	// run was interrupted, and what finished was printed.
	santaExitInterrupted = 130
)

// santaFlagOf maps a santa.Config field to the flag that sets it, so the
// library's validation error can name the flag the user typed.
var santaFlagOf = map[string]string{
	"Reindeer": "-reindeer", "Elves": "-elves", "GroupSize": "-group",
	"Rounds": "-rounds", "Variant": "-variant", "Watchdog": "-watchdog",
}

// santaCommand runs `stmbench santa [flags]` or `stmbench santa check
// FILE.jsonl` and returns the exit status.
func santaCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return santaCheck(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("stmbench santa", flag.ContinueOnError)
	// Parse errors are reported in one line below; the flag package would
	// print the whole usage after them.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var variants []string
	for _, v := range santa.Variants() {
		variants = append(variants, string(v))
	}
	var (
		rounds   = fs.Int("rounds", santa.DefaultRounds, "Santa's sessions: reindeer trips and elf consultations")
		reindeer = fs.Int("reindeer", santa.DefaultReindeer, "number of reindeer (all of them go on every trip)")
		elves    = fs.Int("elves", santa.DefaultElves, "number of elves")
		group    = fs.Int("group", santa.DefaultGroupSize, "elves per consultation")
		seed     = &seedFlag{}
		variant  = fs.String("variant", string(santa.VariantSTM), "implementation: "+strings.Join(variants, " | "))
		trace    = fs.String("trace", "", "write the trace as JSON Lines to `FILE` (re-check it with: stmbench santa check FILE)")
		timeline = fs.Bool("timeline", false, "print one line per session")
		watchdog = fs.Duration("watchdog", santa.DefaultWatchdog, "stop and report a stall when no session finishes for this long")
	)
	fs.Var(seed, "seed", "seed for the helpers' delays, "+seedUsage+" (default: from the clock, printed)")
	etcd := addEtcdFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage: stmbench santa [flags]\n       stmbench santa check FILE.jsonl\n\n"+
				"Runs the Santa Claus problem, checks properties S1-S9 on the trace and prints PASS/FAIL per property.\n"+
				"Exit status: 0 all passed, 1 a property failed (or the trace could not be written), 2 usage error, 3 watchdog,\n130 interrupted (what finished is printed).\n\nflags:\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return santaExitPass
		}
		return santaUsage(stderr, "%v", err)
	}
	if fs.NArg() > 0 {
		return santaUsage(stderr, "unexpected argument %q", fs.Arg(0))
	}
	seedSet := seed.set
	if !seedSet {
		seed.v = clockSeed()
	}
	// Zero means "default" to santa.Config; on the command line it is a
	// mistake, so catch it here.
	for _, f := range []struct {
		name string
		v    int
	}{{"-rounds", *rounds}, {"-reindeer", *reindeer}, {"-elves", *elves}, {"-group", *group}} {
		if f.v < 1 {
			return santaUsage(stderr, "%s %d: must be at least 1", f.name, f.v)
		}
	}
	if *watchdog <= 0 {
		return santaUsage(stderr, "-watchdog %v: must be positive", *watchdog)
	}
	cfg := santa.Config{
		Reindeer: *reindeer, Elves: *elves, GroupSize: *group, Rounds: *rounds,
		Seed: int64(seed.v), Variant: santa.Variant(*variant), Watchdog: *watchdog,
	}
	if *trace != "" {
		// Now, not after the run whose trace it would lose.
		if err := checkWritable(*trace); err != nil {
			return santaUsage(stderr, "-trace: %v", err)
		}
	}
	if _, err := etcd.on(); err != nil {
		return santaUsage(stderr, "%v", err)
	}
	rep, err := etcd.runSanta(ctx, cfg, stdout)
	var ce *santa.ConfigError
	interrupted := err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
	switch {
	case errors.As(err, &ce):
		name := santaFlagOf[ce.Field]
		if name == "" {
			name = ce.Field
		}
		return santaUsage(stderr, "%s %v: %s", name, ce.Value, ce.Reason)
	case err != nil && !interrupted:
		fmt.Fprintf(stderr, "stmbench santa: %v\n", err)
		return santaExitFail
	}
	cfg = rep.Config
	fmt.Fprintf(stdout, "santa: variant=%s reindeer=%d elves=%d group=%d rounds=%d seed=%d watchdog=%v\n",
		cfg.Variant, cfg.Reindeer, cfg.Elves, cfg.GroupSize, cfg.Rounds, cfg.Seed, cfg.Watchdog)
	fmt.Fprintf(stdout, "       %s GOMAXPROCS=%d exact-order=%v delays: vacation %v-%v, work %v-%v, santa %v-%v\n",
		runtime.Version(), runtime.GOMAXPROCS(0), !cfg.NoSeq,
		cfg.Vacation.Min, cfg.Vacation.Max, cfg.Work.Min, cfg.Work.Max, cfg.Santa.Min, cfg.Santa.Max)
	if !seedSet {
		fmt.Fprintf(stdout, "       (seed from the clock: replay with -seed %d)\n", cfg.Seed)
	}
	res := rep.Result
	nr := 0
	for _, s := range res.Sessions {
		if s.Kind == santa.KindReindeer {
			nr++
		}
	}
	fmt.Fprintf(stdout, "sessions: %d (reindeer %d, elves %d) in %v, %.0f sessions/s, %d events\n",
		len(res.Sessions), nr, len(res.Sessions)-nr, rep.Elapsed.Round(time.Microsecond),
		float64(len(res.Sessions))/rep.Elapsed.Seconds(), len(rep.Trace.Events))
	if interrupted {
		fmt.Fprintf(stdout, "PARTIAL RESULTS: interrupted after %d of %d sessions; the checks below cover the trace so far (S9 progress cannot pass)\n",
			len(res.Sessions), cfg.Rounds)
	}
	if *timeline {
		santaTimeline(stdout, res, cfg.Reindeer)
	}
	code := santaVerdict(stdout, res)
	s := rep.STM
	onEtcd, _ := etcd.on()
	switch {
	case onEtcd:
		fmt.Fprintf(stdout, "INFO  stm: not used: the state lived in etcd (gostm.dev/dstm)\n")
	case cfg.Variant == santa.VariantChannel:
		fmt.Fprintf(stdout, "INFO  stm: not used by the channel variant\n")
	default:
		fmt.Fprintf(stdout, "INFO  stm: %d logged commits, %d aborts (%d validation, %d lock, %d extend), %d blocks in Retry, %d wake-ups, %d irrevocable\n",
			rep.Commits, s.Aborts, s.ValidationFails, s.LockConflicts, s.ExtendFailures, s.Blocks, s.Wakeups, s.Irrevocable)
	}
	if *trace != "" {
		if err := santaWriteTrace(*trace, rep.Trace); err != nil {
			fmt.Fprintf(stderr, "stmbench santa: -trace %s: %v\n", *trace, err)
			return santaExitFail
		}
		fmt.Fprintf(stdout, "trace: %s (%d events)\n", *trace, len(rep.Trace.Events))
	}
	if interrupted {
		code = santaExitInterrupted
		fmt.Fprintln(stderr, "stmbench santa: interrupted; the results above are partial")
	}
	santaResultLine(stdout, code)
	return code
}

// santaCheck re-checks a saved trace.
func santaCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stdout, "usage: stmbench santa check FILE.jsonl\n\nRe-checks a trace written by stmbench santa -trace (or by hand) against S1-S9.")
		return santaExitPass
	}
	if len(args) != 1 {
		return santaUsage(stderr, "check wants exactly one FILE.jsonl, got %d arguments", len(args))
	}
	f, err := os.Open(args[0])
	if err != nil {
		return santaUsage(stderr, "check: %v", err)
	}
	defer f.Close()
	tr, err := santa.ReadTrace(f)
	if err != nil {
		return santaUsage(stderr, "check %s: %v", args[0], err)
	}
	m := tr.Meta
	fmt.Fprintf(stdout, "santa check %s: variant=%s reindeer=%d elves=%d group=%d rounds=%d seed=%d, %d events\n",
		args[0], m.Variant, m.Reindeer, m.Elves, m.GroupSize, m.Rounds, m.Seed, len(tr.Events))
	code := santaVerdict(stdout, santa.Check(tr, santa.CheckOptions{}))
	santaResultLine(stdout, code)
	return code
}

func santaUsage(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "stmbench santa: "+format+" (see stmbench santa -h)\n", args...)
	return santaExitUsage
}

// santaVerdict prints a line per property, then fairness, and returns the
// exit status the result calls for.
func santaVerdict(w io.Writer, res santa.Result) int {
	for _, p := range res.Properties {
		switch {
		case p.Skipped:
			fmt.Fprintf(w, "SKIP  %s %s: %s\n", p.ID, p.Name, p.Note)
		case p.Passed():
			fmt.Fprintf(w, "PASS  %s %s: %s\n", p.ID, p.Name, p.Note)
		default:
			fmt.Fprintf(w, "FAIL  %s %s: %d violation(s); first: %v\n", p.ID, p.Name, p.Violations, p.Example)
		}
	}
	fmt.Fprintf(w, "INFO  fairness (report only): consultations per elf min %d (%s) max %d (%s); trips per reindeer min %d max %d\n",
		res.Elves.Min, res.Elves.MinActor, res.Elves.Max, res.Elves.MaxActor, res.Reindeer.Min, res.Reindeer.Max)
	switch {
	case res.Stalled:
		return santaExitWatchdog
	case !res.OK():
		return santaExitFail
	}
	return santaExitPass
}

func santaResultLine(w io.Writer, code int) {
	verdict := map[int]string{santaExitPass: "PASS", santaExitFail: "FAIL", santaExitWatchdog: "STALLED (watchdog)", santaExitInterrupted: "INTERRUPTED"}[code]
	fmt.Fprintf(w, "result: %s (exit %d)\n", verdict, code)
}

// santaTimeline prints one row per session.
func santaTimeline(w io.Writer, res santa.Result, reindeer int) {
	fmt.Fprintf(w, "%5s %-9s %-6s %-30s %-9s %s\n", "sess", "kind", "gen", "members", "contested", "fill→choose")
	for _, s := range res.Sessions {
		gen := fmt.Sprintf("E#%d", s.Gen)
		members := santaShortNames(s.Members)
		if s.Kind == santa.KindReindeer {
			gen = fmt.Sprintf("R#%d", s.Gen)
			if len(s.Members) == reindeer {
				members = fmt.Sprintf("R1..R%d", reindeer)
			}
		}
		contested := "-"
		if s.Contested {
			contested = "both"
		}
		if !s.Complete {
			gen += "*"
		}
		fmt.Fprintf(w, "%5d %-9s %-6s %-30s %-9s %v\n", s.Index, s.Kind, gen, members, contested, s.FillToChoose.Round(time.Microsecond))
	}
}

// santaShortNames turns "elf-2", "reindeer-4" into "E2", "R4", in slot order.
func santaShortNames(actors []string) string {
	out := slices.Clone(actors)
	for i, a := range out {
		a = strings.Replace(a, "reindeer-", "R", 1)
		out[i] = strings.Replace(a, "elf-", "E", 1)
	}
	return strings.Join(out, " ")
}

func santaWriteTrace(path string, tr santa.Trace) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := santa.WriteTrace(f, tr); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
