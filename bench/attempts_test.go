package bench

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gostm.dev/stm"
)

func TestAttemptsArithmetic(t *testing.T) {
	a := Attempts{Name: "audit", ByAttempts: []uint64{10, 2, 0, 1}}
	if a.Total() != 13 || a.Retried() != 3 || a.Max() != 4 {
		t.Errorf("total %d retried %d max %d, want 13 3 4", a.Total(), a.Retried(), a.Max())
	}
	if z := (Attempts{Name: "audit"}); z.Total() != 0 || z.Retried() != 0 || z.Max() != 0 {
		t.Errorf("empty: total %d retried %d max %d, want 0 0 0", z.Total(), z.Retried(), z.Max())
	}
	old := []Attempts{{Name: "audit", ByAttempts: []uint64{4, 2}}, {Name: "scan", ByAttempts: []uint64{1}}}
	now := []Attempts{{Name: "audit", ByAttempts: []uint64{10, 2, 0, 1}}, {Name: "scan", ByAttempts: []uint64{1}}}
	d := SubAttempts(now, old)
	// The 2-attempt audits all happened before old: the difference has
	// none, and the 4-attempt one keeps its place.
	if len(d) != 2 || d[0].Name != "audit" || !slices.Equal(d[0].ByAttempts, []uint64{6, 0, 0, 1}) || d[1].Total() != 0 {
		t.Errorf("SubAttempts = %+v", d)
	}
	s := AddAttempts([]Attempts{{Name: "audit", ByAttempts: []uint64{1}}}, now)
	if len(s) != 2 || !slices.Equal(s[0].ByAttempts, []uint64{11, 2, 0, 1}) || s[1].Name != "scan" || s[1].Total() != 1 {
		t.Errorf("AddAttempts = %+v", s)
	}
	if AddAttempts(nil, nil) != nil || SubAttempts(nil, nil) != nil {
		t.Error("no kinds on either side must give nil, which JSON leaves out")
	}
}

// Attempt counts past the last tracked one go into it, so Max says "at
// least that many" rather than losing them.
func TestAttemptTallyClamps(t *testing.T) {
	tally := newAttemptTally("audit", 2)
	tally.record(0, 1)
	tally.record(1, 1)
	tally.record(1, 3)
	tally.record(0, MaxTrackedAttempts+5)
	a := tally.read()
	if a.Total() != 4 || a.Retried() != 2 || a.Max() != MaxTrackedAttempts || a.ByAttempts[0] != 2 || a.ByAttempts[2] != 1 {
		t.Errorf("read %+v: total %d retried %d max %d", a, a.Total(), a.Retried(), a.Max())
	}
}

// The runner reports the attempts of the measured interval only: an
// instance that counts one attempt per operation reports about as many as
// the operations measured, not those of the warm-up too.
func TestRunnerCountsAttemptsOfTheMeasuredInterval(t *testing.T) {
	reg := NewRegistry()
	reg.Register(Workload{Name: "tally", Doc: "one counted attempt per operation", Engines: []Engine{{Name: Mutex, New: func(s Setup) (Instance, error) {
		tally := newAttemptTally("op", s.Goroutines)
		return &Funcs{
			WorkerFunc: func(g int, _ *rand.Rand) func() bool {
				return func() bool { tally.record(g, 1); return true }
			},
			AttemptsFunc: func() []Attempts { return []Attempts{tally.read()} },
		}, nil
	}}}})
	const g = 2
	rep, err := reg.RunOne(context.Background(), "tally", Mutex, g, Options{Ops: 20000, Warmup: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Attempts) != 1 || rep.Attempts[0].Name != "op" {
		t.Fatalf("attempts %+v, want one kind, op", rep.Attempts)
	}
	// Operations done while the tallies are read at the start may be
	// tallied in the interval without being counted in it (the reads take
	// microseconds, longer under the race detector): allow 5%. The 20 ms
	// warm-up alone holds many times the measured operations.
	if n := rep.Attempts[0].Total(); n+g < rep.Ops || n > rep.Ops+rep.Ops/20+g {
		t.Errorf("%d attempts counted over %d measured ops", n, rep.Ops)
	}
}

// gostm's bank audits count their attempts; engines that do not count
// report none.
func TestBankGostmCountsAuditAttempts(t *testing.T) {
	res, err := Default().Run(context.Background(), "bank", []string{Gostm, FineLock}, Options{
		Goroutines: []int{2}, Ops: 4000, Count: 1, Seed: 3, Params: map[string]int{"accounts": 64, "audit": 50},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, f := res.Points[0], res.Points[1]
	if len(g.Attempts) != 1 || g.Attempts[0].Name != "audit" {
		t.Fatalf("gostm attempts %+v, want the audits'", g.Attempts)
	}
	a := g.Attempts[0]
	// Half the operations audit; the count is exact up to the audits
	// that straddle the interval's ends.
	if a.Total() == 0 || a.Total() > g.Ops+2 {
		t.Errorf("%d audits counted in %d operations", a.Total(), g.Ops)
	}
	// A View restarts at most SerialAfter times, then runs irrevocably.
	if a.Max() < 1 || a.Max() > stm.SerialAfter+1 {
		t.Errorf("an audit took %d attempts, want 1 to %d", a.Max(), stm.SerialAfter+1)
	}
	if f.Attempts != nil {
		t.Errorf("finelock reports attempts %+v, want none", f.Attempts)
	}
}
