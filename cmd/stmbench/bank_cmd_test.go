package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gostm.dev/bank"
)

func runBank(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = bankCommand(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBankUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // what the one-line error must name
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"-mode", "fast"}, `"fast"`},
		{[]string{"-accounts", "0"}, "-accounts 0"},
		{[]string{"-accounts", "x"}, "-accounts"},
		{[]string{"-workers", "0"}, "-workers 0"},
		{[]string{"-ops", "-5"}, "-ops -5"},
		{[]string{"-ops", "10", "-duration", "1s"}, "-ops and -duration"},
		{[]string{"-duration", "-1s"}, "-duration"},
		{[]string{"-audit", "101"}, "-audit 101"},
		{[]string{"-initial", "-1"}, "-initial -1"},
		{[]string{"-max-amount", "0"}, "-max-amount 0"},
		{[]string{"-format", "xml"}, `"xml"`},
		{[]string{"extra"}, `"extra"`},
		{[]string{"-stall", "0s"}, "-stall 0s: must be positive"},
		{[]string{"-stall", "-1s"}, "-stall -1s: must be positive"},
		{[]string{"-seed", "-1"}, "a seed is an integer from 0 to 9007199254740991"},
		{[]string{"-seed", "9007199254740992"}, "a seed is an integer from 0 to 9007199254740991"},
	} {
		code, out, errOut := runBank(t, c.args...)
		if code != bankExitUsage {
			t.Errorf("%q: exit %d, want %d", c.args, code, bankExitUsage)
		}
		if out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: stdout %q, stderr %q; want one line on stderr naming %s", c.args, out, errOut, c.want)
		}
	}
}

func TestBankHelp(t *testing.T) {
	code, out, _ := runBank(t, "-h")
	if code != bankExitOK {
		t.Errorf("-h: exit %d", code)
	}
	for _, want := range []string{"-accounts", "(default 16)", "-mode", "-overdraft", "-compose", "-duration", "Exit status"} {
		if !strings.Contains(out, want) {
			t.Errorf("-h output lacks %q:\n%s", want, out)
		}
	}
}

func TestBankSingleMode(t *testing.T) {
	code, out, errOut := runBank(t, "-mode", "stm", "-ops", "5000", "-seed", "5", "-accounts", "8")
	if code != bankExitOK {
		t.Fatalf("stm: exit %d; stderr %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"mode=stm", "seed=5", "GOMAXPROCS=", "B1 conservation", "B5 progress", "throughput", "stm: commits=", "verdict: PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, " PASS "); n != 5 {
		t.Errorf("%d PASS lines, want 5:\n%s", n, out)
	}

	code, out, _ = runBank(t, "-mode", "unsync", "-seed", "5")
	if code != bankExitFailed || !strings.Contains(out, "FAIL") || !strings.Contains(out, "first: ") ||
		!strings.Contains(out, "as expected") {
		t.Errorf("unsync: exit %d, want 1 with a counterexample:\n%s", code, out)
	}
}

func TestBankJSON(t *testing.T) {
	code, out, _ := runBank(t, "-mode", "channel", "-duration", "50ms", "-format", "json", "-overdraft")
	if code != bankExitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var r bank.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.Config.Mode != bank.Channel || r.Config.Duration != 50*time.Millisecond || !r.Config.Overdraft ||
		len(r.Checks) != 5 || r.Check("B3").Status != bank.Skip || r.Ops == 0 {
		t.Errorf("decoded report %+v", r)
	}
}

func TestBankCompose(t *testing.T) {
	code, out, errOut := runBank(t, "-compose")
	if code != bankExitOK {
		t.Fatalf("exit %d; stderr %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"BLOCK", "WAKE", "OrElse", "all or nothing", "WithdrawTx", "PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("compose output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a compose step failed:\n%s", out)
	}
}

func TestBankInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := bankCommand(ctx, []string{"-mode", "stm", "-duration", "1h"}, &out, &errOut)
	if code != bankExitInterrupted || !strings.Contains(errOut.String(), "partial") {
		t.Errorf("exit %d, stderr %q; want %d and a partial-results note", code, errOut.String(), bankExitInterrupted)
	}
}

const bankChildEnv = "STMBENCH_BANK_CHILD_ARGS"

// Runs that include lock-naive leave deadlocked goroutines behind, so
// they run in a child process: this test binary, re-executed.
func bankChild(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBankChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), bankChildEnv+"="+strings.Join(args, "\x1f"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("child %q: %v\n%s", args, err, out)
	return 0, ""
}

// TestBankChild runs bankCommand with the arguments its parent passed and
// exits with its status; on its own it does nothing.
func TestBankChild(t *testing.T) {
	args := os.Getenv(bankChildEnv)
	if args == "" {
		t.Skip("runs only as a child of the lock-naive tests")
	}
	os.Exit(bankCommand(context.Background(), strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
}

func TestBankDeadlockExit(t *testing.T) {
	start := time.Now()
	code, out := bankChild(t, "-mode", "lock-naive", "-stall", "200ms")
	if code != bankExitDeadlock || !strings.Contains(out, "B5 progress") || !strings.Contains(out, "DEADLOCK") {
		t.Errorf("lock-naive: exit %d, want %d:\n%s", code, bankExitDeadlock, out)
	}
	// The stuck workers' tallies are lost: the line must not report them
	// as zero transfers and audits.
	if strings.Contains(out, "0 transfers") || !strings.Contains(out, "then the workers deadlocked") {
		t.Errorf("lock-naive's throughput line reports tallies it cannot know:\n%s", out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the watchdog took %v", d)
	}
}

func TestBankAllModes(t *testing.T) {
	code, out := bankChild(t, "-mode", "all", "-ops", "20000", "-stall", "300ms")
	if code != bankExitOK {
		t.Errorf("-mode all: exit %d, want 0 (every mode as expected):\n%s", code, out)
	}
	for _, m := range bank.Modes() {
		want := " ok"
		if !m.Correct() {
			want = " caught"
		}
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, string(m)+" ") {
				line = l
				break
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("row for %s = %q, want it to say%s:\n%s", m, line, want, out)
		}
	}
}
