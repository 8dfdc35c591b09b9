package stmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTB records failures instead of failing, so that Check's own
// failure path can be tested.
type fakeTB struct {
	testing.TB
	dir    string
	errors []string
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) ArtifactDir() string { return f.dir }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
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
// it says, in a form that reloads to the same verdict.
func TestCheckFailsAndSavesHistory(t *testing.T) {
	fake := &fakeTB{TB: t, dir: t.TempDir()}
	r := Check(fake, loadFixture(t, "g2.jsonl"))
	if r.OK() || len(fake.errors) != 1 {
		t.Fatalf("Check reported %v with errors %q", r, fake.errors)
	}
	msg := fake.errors[0]
	if !strings.Contains(msg, "G2: ") || !strings.Contains(msg, "because") {
		t.Fatalf("no explanation in %q", msg)
	}
	_, path, ok := strings.Cut(msg, "history saved to ")
	if !ok || filepath.Dir(path) != fake.dir {
		t.Fatalf("no saved path in %q", msg)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	if again := CheckHistory(h); !again.Has(G2) {
		t.Fatalf("the saved history checks as %v", again)
	}

	clean := &fakeTB{TB: t, dir: t.TempDir()}
	if r := Check(clean, loadFixture(t, "clean.jsonl")); !r.OK() || len(clean.errors) != 0 {
		t.Fatalf("a clean history failed: %v %q", r, clean.errors)
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
