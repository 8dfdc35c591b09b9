package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gostm.dev/santa"
)

func runSanta(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = santaCommand(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSantaCommandPasses(t *testing.T) {
	code, out, errs := runSanta(t, "-rounds", "12", "-seed", "42", "-timeline")
	if code != santaExitPass || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, want := range []string{
		"variant=stm reindeer=9 elves=10 group=3 rounds=12 seed=42", "GOMAXPROCS=",
		"sess kind", "R1..R9", "PASS  S1 ", "PASS  S7 ", "PASS  S9 progress: 12 of 12 sessions finished",
		"INFO  fairness", "INFO  stm:", "result: PASS (exit 0)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\nPASS  S"); n != 9 {
		t.Errorf("%d PASS lines, want 9:\n%s", n, out)
	}
}

// The negative control fails on priority, and the saved trace re-checks
// to the same verdict.
func TestSantaCommandCatchesRandomChoiceAndRechecks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	code, out, _ := runSanta(t, "-variant", "random-choice", "-rounds", "60", "-seed", "3", "-trace", path)
	if code != santaExitFail || !strings.Contains(out, "FAIL  S7 reindeer priority") || !strings.Contains(out, "Santa chose E#") {
		t.Fatalf("exit %d, want 1 with S7 failed:\n%s", code, out)
	}
	code, out, errs := runSanta(t, "check", path)
	if code != santaExitFail || !strings.Contains(out, "FAIL  S7") || !strings.Contains(out, "variant=random-choice") {
		t.Fatalf("check: exit %d, stderr %q:\n%s", code, errs, out)
	}
}

func TestSantaCheckWatchdogTrace(t *testing.T) {
	rep, err := santa.Run(santa.Config{Rounds: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stalled.jsonl")
	rep.Trace.Meta.Stalled = true
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := santa.WriteTrace(f, rep.Trace); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, out, _ := runSanta(t, "check", path); code != santaExitWatchdog || !strings.Contains(out, "FAIL  S9") {
		t.Fatalf("exit %d, want 3 with S9 failed:\n%s", code, out)
	}
}

func TestSantaCommandUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"ev\":\"meta\"}\n{\"ev\":\"dance\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rounds", "0"}, "-rounds 0"},
		{[]string{"-rounds", "x"}, "-rounds"},
		{[]string{"-reindeer", "-2"}, "-reindeer -2"},
		{[]string{"-group", "11"}, "-group 11"},
		{[]string{"-variant", "lock"}, `-variant "lock"`},
		{[]string{"-watchdog", "0s"}, "-watchdog"},
		{[]string{"-frobnicate"}, "-frobnicate"},
		{[]string{"extra"}, `"extra"`},
		{[]string{"-seed", "-1"}, "a seed is an integer from 0 to 9007199254740991"},
		{[]string{"-trace", "/nonexistent/dir/t.jsonl"}, "-trace: open /nonexistent/dir/t.jsonl"},
		{[]string{"-trace", os.TempDir()}, "-trace: open " + os.TempDir()},
		{[]string{"check"}, "exactly one FILE"},
		{[]string{"check", "/nonexistent/t.jsonl"}, "/nonexistent/t.jsonl"},
		{[]string{"check", bad}, `line 2: unknown event "dance"`},
	} {
		code, out, errs := runSanta(t, tc.args...)
		if code != santaExitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestSantaCommandHelp(t *testing.T) {
	code, out, _ := runSanta(t, "-h")
	if code != santaExitPass || !strings.Contains(out, "(default 50)") || !strings.Contains(out, "random-choice") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// Each flag's placeholder says what kind of value it takes.
	for _, want := range []string{"-rounds int", "-reindeer int", "-elves int", "-watchdog duration", "-seed n", "-trace FILE"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("-h lacks %q:\n%s", want, out)
		}
	}
}
