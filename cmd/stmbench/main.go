// Command stmbench shows what software transactional memory buys and what
// it costs: it runs gostm and its alternatives (anacrolix/stm, mutexes,
// channels, atomics) on the standard STM workloads, checks each run's
// invariant, and prints the measurements.
//
// With no arguments it runs the tour: every registered workload and demo,
// briefly, ending in one summary table. "stmbench run" sweeps one workload
// in detail and writes text, Go benchmark format, CSV, JSON or a plot.
// "stmbench list" lists the workloads, engines and parameters.
//
// Exit status: 0 on success, 1 when an invariant check failed (the seed
// and a command that reproduces it are printed), 2 for a usage error, 130
// when interrupted (what finished is printed, marked partial).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"gostm.dev/bench"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // an invariant broke, or output could not be written
	exitUsage       = 2
	exitInterrupted = 130 // the shell's code for death by SIGINT
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C asks for the results so far; once it has, the
	// signals get their default action again, so a second one kills.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command, with its streams and arguments passed in so
// that tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{reg: bench.Default(), env: bench.CurrentEnv(), stdout: stdout, stderr: stderr}
	if f, ok := stderr.(*os.File); ok {
		a.tty = term.IsTerminal(int(f.Fd()))
		if a.tty {
			a.width, _, _ = term.GetSize(int(f.Fd()))
		}
	}
	return a.main(ctx, args)
}

// app carries what every subcommand needs; tests build one around their
// own registry.
type app struct {
	reg            *bench.Registry
	env            bench.Env
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: a progress bar may be drawn
	width          int  // the terminal's columns, or 0 if unknown
}

// usageError is a bad command line: reported in one line, exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const topUsage = `stmbench measures gostm against the other ways of sharing state in Go.

Usage:
  stmbench [tour flags]          the tour: every workload and demo, briefly (under a minute)
  stmbench tour [flags]          the same, with flags
  stmbench run -workload W [...] sweep one workload: goroutines × engines × repetitions
  stmbench list                  workloads, their engines and parameters
  stmbench bank [...]            the bank-account race in every synchronisation style, checked
  stmbench santa [...]           the Santa Claus problem on STM, with a trace checker

Run "stmbench <command> -h" for a command's flags.
Exit status: 0 ok, 1 invariant broken, 2 usage error, 130 interrupted.
`

func (a *app) main(ctx context.Context, args []string) int {
	cmd, rest := "tour", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(a.stdout, topUsage)
		return exitOK
	}
	if dc, ok := demoCommands[cmd]; ok {
		return dc.run(ctx, rest, a.stdout, a.stderr)
	}
	var err error
	switch cmd {
	case "tour":
		err = a.tour(ctx, rest)
	case "run":
		err = a.runCmd(ctx, rest)
	case "list":
		err = a.list(rest)
	default:
		err = usagef("unknown command %q (want tour, run, list, bank or santa)", cmd)
	}
	return a.exit(cmd, err)
}

// errHelp is returned after -h printed the flags.
var errHelp = errors.New("help shown")

// exit maps an error to the exit status, printing it in one line.
func (a *app) exit(cmd string, err error) int {
	var ue *usageError
	var fe *failedError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "stmbench %s: %v\n", cmd, err)
		return exitUsage
	case errors.As(err, &fe):
		fmt.Fprintf(a.stderr, "stmbench %s: %v\n", cmd, err)
		return exitFailed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(a.stderr, "stmbench %s: interrupted; the results above are partial\n", cmd)
		return exitInterrupted
	}
	fmt.Fprintf(a.stderr, "stmbench %s: %v\n", cmd, err)
	return exitFailed
}

// failedError is a broken invariant (or demo check), already explained on
// stderr with its reproduction; it maps to exit 1.
type failedError struct{ msg string }

func (e *failedError) Error() string { return e.msg }

func (a *app) list(args []string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprintln(a.stdout, "usage: stmbench list\n\nLists every registered workload with its engines and parameters, and every demo.")
			return errHelp
		}
		return usagef("unexpected argument %q", args[0])
	}
	for _, w := range a.reg.Workloads() {
		fmt.Fprintf(a.stdout, "%s: %s\n", w.Name, w.Doc)
		for _, e := range w.Engines {
			fmt.Fprintf(a.stdout, "  engine %-10s %s\n", e.Name, e.Doc)
		}
		for _, p := range w.Params {
			fmt.Fprintf(a.stdout, "  -%-16s %s (default %d)\n", p.Name, p.Usage, p.Default)
		}
	}
	for _, d := range a.reg.Demos() {
		fmt.Fprintf(a.stdout, "demo %s: %s\n", d.Name, d.Doc)
	}
	return nil
}
