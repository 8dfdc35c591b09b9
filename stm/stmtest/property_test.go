package stmtest

import (
	"encoding/json"
	"testing"

	"github.com/leanovate/gopter"
)

// Generated workloads on the engine as it is give clean histories, and
// they exercise Views, Commutes and snapshot reads of old versions.
func TestPropertyCleanEngine(t *testing.T) {
	cases := 200
	if testing.Short() {
		cases = 50
	}
	var views, commutes, oldReads int
	RunProperty(t, PropertyOptions{Observe: func(_ Workload, res *RunResult) {
		v, c, o := coverage(res.History)
		views, commutes, oldReads = views+v, commutes+c, oldReads+o
	}}, cases)
	t.Logf("%d committed Views, %d Commuted operations, %d reads of a replaced version", views, commutes, oldReads)
	if views == 0 || commutes == 0 {
		t.Fatal("the generated workloads ran no View or no Commute")
	}
}

func gopterParams(t *testing.T) *gopter.GenParameters {
	p := gopter.DefaultGenParameters()
	p.Rng.Seed(Seed(t))
	return p
}

func mustJSON(w Workload) string {
	b, err := json.Marshal(w)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Replay reruns one workload from its printed form.
func TestReplay(t *testing.T) {
	res := Replay(t, MustParseWorkload(`{"vars":2,"goroutines":[[[{"op":"modify","arg":3},{"op":"set","var":1,"arg":7}]],[[{"op":"get"},{"op":"get","var":1}]]]}`))
	if payload(res.Final[0]) != 3 || payload(res.Final[1]) != 7 {
		t.Fatalf("final %v", res.Final)
	}
	// Commutes on two goroutines, and a View.
	res = Replay(t, MustParseWorkload(`{"vars":2,"goroutines":[[[{"op":"commute","arg":3},{"op":"commute","var":1,"arg":7}]],`+
		`[[{"op":"commute","arg":1000}]],[[{"op":"view"},{"op":"get"},{"op":"yield"},{"op":"get","var":1}]]]}`))
	if payload(res.Final[0]) != 1003%1024 || payload(res.Final[1]) != 7 {
		t.Fatalf("final %v", res.Final)
	}
	if v, c, _ := coverage(res.History); v != 1 || c != 3 {
		t.Fatalf("%d Views and %d Commuted operations, want 1 and 3", v, c)
	}
}

// ParseWorkload rejects programs the runner cannot run: a View that
// writes or blocks (stm.View panics), a View not at the start of a
// transaction, an OrElse of one alternative, a Var out of range.
func TestParseWorkloadRejectsBadPrograms(t *testing.T) {
	for _, p := range []string{
		`[{"op":"view"},{"op":"set"}]`,
		`[{"op":"view"},{"op":"commute"}]`,
		`[{"op":"view"},{"op":"await"}]`,
		`[{"op":"get"},{"op":"view"}]`,
		`[{"op":"orelse","alts":[[{"op":"view"},{"op":"get"}],[{"op":"get"}]]}]`,
		`[{"op":"orelse","alts":[[{"op":"get"}]]}]`,
		`[{"op":"get","var":2}]`,
		`[{"op":"bogus"}]`,
	} {
		if _, err := ParseWorkload(`{"vars":2,"goroutines":[[` + p + `]]}`); err == nil {
			t.Errorf("ParseWorkload accepted %s", p)
		}
	}
	if _, err := ParseWorkload(`{"vars":2,"goroutines":[[[{"op":"view"},{"op":"get","var":1},{"op":"yield"},{"op":"panic"}]]]}`); err != nil {
		t.Error(err)
	}
}

// coverage counts what a history exercised of the engine's newer paths:
// committed Views, Commuted operations, and reads by committed read-only
// attempts of a version that a commit after their snapshot had replaced
// before they ended (snapshot reads of an old version, as far as the
// ticks can tell).
func coverage(h *History) (views, commutes, oldReads int) {
	type commit struct{ wv, end uint64 }
	byVar := map[int][]commit{}
	for i := range h.Txns {
		if a, ok := committedTxn(&h.Txns[i]); ok {
			for _, oi := range a.liveWrites() {
				byVar[a.Ops[oi].Var] = append(byVar[a.Ops[oi].Var], commit{a.WV, a.End})
			}
		}
	}
	for i := range h.Txns {
		t := &h.Txns[i]
		a, ok := committedTxn(t)
		if !ok {
			continue
		}
		if t.View {
			views++
		}
		for _, op := range a.Ops {
			switch {
			case op.Kind == Commuted:
				commutes++
			case op.Kind == Read && !op.Own && a.WV == 0:
				for _, c := range byVar[op.Var] {
					if c.wv > op.Version && c.wv > a.RV && c.end < a.End {
						oldReads++
						break
					}
				}
			}
		}
	}
	return views, commutes, oldReads
}
