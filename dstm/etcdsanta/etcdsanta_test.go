package etcdsanta

import (
	"testing"

	"gostm.dev/dstm"
	"gostm.dev/dstm/internal/dstmtest"
	"gostm.dev/santa"
)

func TestSantaOnEmbeddedEtcd(t *testing.T) {
	e, ctx := dstmtest.Embedded(t)
	c := dstm.New(e.Client(), e.Options()...)
	rep, err := Run(ctx, c, santa.Config{Rounds: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Result
	t.Logf("%d sessions in %v, %d events, contested %d; dstm %+v", len(res.Sessions), rep.Elapsed, len(rep.Trace.Events), res.Contested, c.Stats())
	for _, p := range res.Properties {
		if !p.Passed() {
			t.Errorf("%s %s failed: %d violations, first %v", p.ID, p.Name, p.Violations, p.Example)
		}
	}
	if len(res.Sessions) != 8 || res.Stalled || !res.Ordered {
		t.Fatalf("%d sessions, stalled %v, ordered %v: want 8 sessions in exact order", len(res.Sessions), res.Stalled, res.Ordered)
	}
	// The checker is not asleep: a trace with an elf's enter before its
	// gate opened must fail S4.
	tr := rep.Trace
	tr.Events = append([]santa.Event(nil), tr.Events...)
	for i, ev := range tr.Events {
		if ev.Ev == santa.EvOpenIn && ev.Kind == santa.KindElves {
			for j := i + 1; j < len(tr.Events); j++ {
				if tr.Events[j].Ev == santa.EvEnter && tr.Events[j].Gen == ev.Gen && tr.Events[j].Kind == ev.Kind {
					tr.Events[i].Seq, tr.Events[j].Seq = tr.Events[j].Seq, tr.Events[i].Seq
					tr.Events[i], tr.Events[j] = tr.Events[j], tr.Events[i]
					break
				}
			}
			break
		}
	}
	if failed := santa.Check(tr, santa.CheckOptions{}).Failed(); len(failed) == 0 {
		t.Fatal("the checker passed a trace with an enter before its gate opened")
	}
}
