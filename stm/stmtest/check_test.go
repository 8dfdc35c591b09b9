package stmtest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fakeTB records failures and logs instead of failing, so that Check's
// own failure path can be tested.
type fakeTB struct {
	testing.TB
	errors, logs []string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Name() string      { return "TestFake/sub case" }
func (f *fakeTB) Error(args ...any) { f.errors = append(f.errors, fmt.Sprint(args...)) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func loadFixture(t *testing.T, name string) *History {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Check fails the test with the explanation and saves the history where
// it says (here, under $STMTEST_ARTIFACTS), in a form that reloads to the
// same verdict.
func TestCheckFailsAndSavesHistory(t *testing.T) {
	base := filepath.Join(t.TempDir(), "not", "yet")
	t.Setenv(ArtifactsEnv, base)
	fake := &fakeTB{TB: t}
	r := Check(fake, loadFixture(t, "g2.jsonl"))
	if r.OK() || len(fake.errors) != 1 || len(fake.logs) != 1 {
		t.Fatalf("Check reported %v with errors %q and logs %q", r, fake.errors, fake.logs)
	}
	if msg := fake.errors[0]; !strings.Contains(msg, "G2: ") || !strings.Contains(msg, "because") {
		t.Fatalf("no explanation in %q", msg)
	}
	_, path, ok := strings.Cut(fake.logs[0], "history saved to ")
	path, _, _ = strings.Cut(path, " (")
	if want := filepath.Join(base, "TestFake__sub_case"); !ok || filepath.Dir(path) != want {
		t.Fatalf("saved path in %q, want a file in %s", fake.logs[0], want)
	}
	checkSavedHistory(t, path, G2)

	clean := &fakeTB{TB: t}
	if r := Check(clean, loadFixture(t, "clean.jsonl")); !r.OK() || len(clean.errors)+len(clean.logs) != 0 {
		t.Fatalf("a clean history failed: %v %q %q", r, clean.errors, clean.logs)
	}
}

// checkSavedHistory reloads a saved history and checks it shows class.
func checkSavedHistory(t *testing.T, path string, class Class) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	if again := CheckHistory(h); !again.Has(class) {
		t.Fatalf("the saved history %s checks as %v, want %s", path, again, class)
	}
}

// childEnv selects, in a re-executed test binary, the deliberately failing
// check of TestChildFailingCheck.
const childEnv = "STMTEST_FAILING_CHILD"

// TestChildFailingCheck fails on purpose, and only in the child processes
// that TestFailingCheckKeepsHistory starts.
func TestChildFailingCheck(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as a child of TestFailingCheckKeepsHistory")
	}
	Check(t, loadFixture(t, "g-single.jsonl"))
}

// A failing Check in a real test binary prints the explanation and saves
// the history in a file that is still there after the test binary has
// exited, in each of the three places Check's documentation names.
func TestFailingCheckKeepsHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts test binaries")
	}
	tmp := t.TempDir()
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		under string // the saved file must be below this directory
	}{
		{"artifacts flag, missing outputdir", []string{"-test.artifacts", "-test.outputdir=" + filepath.Join(tmp, "a", "out")}, nil,
			filepath.Join(tmp, "a", "out", "_artifacts")},
		{"environment variable", nil, []string{ArtifactsEnv + "=" + filepath.Join(tmp, "b", "dir")}, filepath.Join(tmp, "b", "dir", "TestChildFailingCheck")},
		{"neither: a kept temporary directory", nil, []string{"TMPDIR=" + filepath.Join(tmp, "c")}, filepath.Join(tmp, "c", "stmtest-artifacts", "TestChildFailingCheck")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.args) > 0 && flag.Lookup("test.artifacts") == nil {
				t.Skip("this Go has no -test.artifacts")
			}
			if err := os.MkdirAll(filepath.Join(tmp, "c"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestChildFailingCheck$", "-test.count=1"}, tc.args...)...)
			cmd.Env = append(os.Environ(), append([]string{childEnv + "=1"}, tc.env...)...)
			cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool {
				// The child must not inherit the parent's choice of directory.
				return strings.HasPrefix(kv, ArtifactsEnv+"=") && !slices.Contains(tc.env, kv)
			})
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the child did not fail: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "G-single: ") || !strings.Contains(string(out), "because") {
				t.Errorf("no explanation in the child's output:\n%s", out)
			}
			m := regexp.MustCompile(`history saved to (\S+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no saved path in the child's output:\n%s", out)
			}
			path := string(m[1])
			if rel, err := filepath.Rel(tc.under, path); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("history saved to %s, want it under %s", path, tc.under)
			}
			checkSavedHistory(t, path, GSingle)
		})
	}
}

func TestReadJSONLRejectsBadInput(t *testing.T) {
	for _, in := range []string{
		`{"txn":{"id":1,"bogus":2}}`,
		`{"history":{"format":9}}`,
		`{}`,
		`not json`,
	} {
		if _, err := ReadJSONL(strings.NewReader(in)); err == nil {
			t.Errorf("ReadJSONL accepted %q", in)
		}
	}
}

// The sequential reference interpreter is a check of its own: a history
// whose committed write disagrees with its program is rejected even
// though it is perfectly serializable.
func TestModelCatchesWrongPayload(t *testing.T) {
	w := Workload{Vars: 1, Goroutines: [][]Program{{{{Code: Modify, Arg: 5}}}, {{{Code: Get}}}}}
	res := RunWorkload(w, RunOptions{})
	if !res.Report.OK() {
		t.Fatal(res.Report)
	}
	for ti := range res.History.Txns {
		a := res.History.Txns[ti].Final()
		for oi := range a.Ops {
			if a.Ops[oi].Kind == Write {
				v := mustInt(a.Ops[oi].Value) + 1 // payload 6, not 5
				a.Ops[oi].Value = []byte(fmt.Sprint(v))
				res.Final[0] = v
			}
		}
	}
	var r Report
	checkModel(w, res, &r)
	if !r.Has(Model) {
		t.Fatalf("a write of payload 6 for x+=5 passed the model: %v", r)
	}
	t.Log(r)
}

// Generated workloads hold unique written values and respect the
// configuration.
func TestGeneratedWorkloads(t *testing.T) {
	cfg := GenConfig{Vars: 2, MinGoroutines: 3, MaxGoroutines: 5, MaxTxns: 2, MaxLen: 3, NoFailures: true}
	params := gopterParams(t)
	for range 200 {
		w := GenWorkload(cfg)(params).Result.(Workload)
		if w.Vars != 2 || len(w.Goroutines) < 3 || len(w.Goroutines) > 5 {
			t.Fatalf("out of range: %s", w)
		}
		for _, txs := range w.Goroutines {
			if len(txs) < 1 || len(txs) > 2 {
				t.Fatalf("bad transaction count: %s", w)
			}
			for _, p := range txs {
				if strings.Contains(p.String(), "fail") || strings.Contains(p.String(), "panic") {
					t.Fatalf("NoFailures ignored: %s", p)
				}
			}
		}
		w2, err := ParseWorkload(mustJSON(w))
		if err != nil || w2.String() != w.String() {
			t.Fatalf("JSON round trip: %v\n%s\n%s", err, w, w2)
		}
	}
}

func TestOutputDirToCreate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-test.artifacts=true", "-test.outputdir=/x/out"}, "/x/out"},
		{[]string{"-test.outputdir", "/x/out", "-test.artifacts"}, "/x/out"},
		{[]string{"--test.artifacts=1", "--test.outputdir=rel"}, "rel"},
		{[]string{"-test.outputdir=/x/out"}, ""},
		{[]string{"-test.artifacts=false", "-test.outputdir=/x/out"}, ""},
		{[]string{"-test.artifacts", "--", "-test.outputdir=/x/out"}, ""},
	} {
		if got := outputDirToCreate(tc.args); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
}

// A commute applied to a stale value is a lost update, and both checkers
// say so: a real history of commutes, each applied to the value the one
// before left, is clean; making one of them apply to the value before
// that (as an engine that took a Var's value before locking it would)
// must be reported by the white-box check as serializability and by the
// black-box check as a cycle. The same for a commute that read a value
// nobody committed at the version it names.
func TestCheckersCatchStaleCommute(t *testing.T) {
	w := Workload{Vars: 1, Goroutines: [][]Program{make([]Program, 6)}}
	for i := range w.Goroutines[0] {
		w.Goroutines[0][i] = Program{{Code: Commute, Arg: i + 1}}
	}
	res := RunWorkload(w, RunOptions{})
	if !res.Report.OK() {
		t.Fatal(res.Report)
	}
	h := res.History
	commuted := func(ti int) *Op {
		ops := h.Txns[ti].Final().Ops
		if len(ops) != 1 || ops[0].Kind != Commuted {
			t.Fatalf("T%d recorded %+v, want one Commuted operation", ti+1, ops)
		}
		return &ops[0]
	}
	if got := payload(res.Final[0]); got != 21 {
		t.Fatalf("x payload %d, want 1+2+...+6", got)
	}
	prev, stale := commuted(3), commuted(4) // T4 and T5: T5 applies to T3's value too
	stale.Old, stale.Version = prev.Old, prev.Version
	r := CheckHistory(h)
	if !r.Has(Serializability) || !r.Has(G2, GSingle, G2.Realtime(), GSingle.Realtime()) {
		t.Fatalf("a commute applied to a stale value passed: %v", r)
	}
	t.Log(r)

	// A value that no commit wrote at that version (a torn read).
	stale.Old, stale.Version = commuted(2).Old, prev.Version // T2's value at T3's version
	if r := CheckWhiteBox(h); !r.Has(DirtyRead) {
		t.Fatalf("a commute of the wrong value at a version passed: %v", r)
	}
}
