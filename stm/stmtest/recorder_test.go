package stmtest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"gostm.dev/stm"
)

var errBoom = errors.New("boom")

// One goroutine, every kind of attempt: the history must hold exactly what
// happened, with versions, rollbacks and outcomes.
func TestRecorderRecordsAttempts(t *testing.T) {
	rec := NewRecorder()
	defer rec.Stop()
	x, y := stm.NewVar(0), stm.NewVar(0)
	Name(rec, x, "x")
	Name(rec, y, "y")
	c := rec.Client(0)
	if err := c.Atomically(func(tx *stm.Tx) error {
		x.Set(tx, 1)
		stm.OrElse(tx, func(tx *stm.Tx) int {
			y.Set(tx, 2)
			tx.Retry()
			return 0
		}, func(tx *stm.Tx) int {
			return y.Get(tx)
		})
		if x.Get(tx) != 1 {
			t.Error("read-your-writes broken")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Atomically(func(tx *stm.Tx) error { x.Set(tx, 3); return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = c.Atomically(func(tx *stm.Tx) error { y.Get(tx); panic("p") })
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.AtomicallyContext(ctx, func(tx *stm.Tx) error { return nil }); err == nil {
		t.Fatal("canceled context ran")
	}
	rec.Stop()
	h := rec.History()
	if !h.Versioned || len(h.Vars) != 2 || h.VarName(1) != "x" || h.VarName(2) != "y" {
		t.Fatalf("vars %+v", h.Vars)
	}
	want := []Outcome{Committed, Failed, Panicked, Canceled}
	if len(h.Txns) != len(want) {
		t.Fatalf("%d txns, want %d", len(h.Txns), len(want))
	}
	for i, o := range want {
		if h.Txns[i].Outcome != o {
			t.Errorf("T%d outcome %s, want %s", i+1, h.Txns[i].Outcome, o)
		}
	}
	a := h.Txns[0].Final()
	kinds := []OpKind{}
	for _, op := range a.Ops {
		kinds = append(kinds, op.Kind)
	}
	if !reflect.DeepEqual(kinds, []OpKind{Write, Write, Rollback, Read, Read}) || a.Ops[2].Keep != 1 || a.WV == 0 {
		t.Fatalf("first transaction recorded as %+v", a)
	}
	if !a.Ops[4].Own || a.Ops[3].Own {
		t.Errorf("own flags wrong: %+v", a.Ops)
	}
	if r := CheckHistory(h); !r.OK() {
		t.Fatal(r)
	}
	var buf bytes.Buffer
	if err := h.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	h2, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h, h2) {
		t.Fatalf("JSONL round trip changed the history:\n%+v\n%+v", h, h2)
	}
}

// Transactions not run through the recorder leave no trace, even when they
// reuse a pooled Tx that a recorded one used.
func TestRecorderIgnoresOthers(t *testing.T) {
	rec := NewRecorder()
	defer rec.Stop()
	x := stm.NewVar(0)
	for i := range 100 {
		_ = rec.Atomically(0, func(tx *stm.Tx) error { x.Set(tx, x.Get(tx)+1); return nil })
		_ = stm.Atomically(func(tx *stm.Tx) error { x.Set(tx, -i); return nil })
		_ = rec.Atomically(0, func(tx *stm.Tx) error { x.Set(tx, i+1000); return nil })
	}
	h := rec.History()
	if len(h.Txns) != 200 {
		t.Fatalf("%d txns, want 200", len(h.Txns))
	}
	for _, tx := range h.Txns {
		for _, a := range tx.Attempts {
			for _, op := range a.Ops {
				if op.Kind == Write && op.Value[0] == '-' {
					t.Fatalf("recorded an unrecorded write: %+v", tx)
				}
			}
		}
	}
}

// A concurrent bank: transfers conserve the total, audits read it all.
// The history of a correct engine is clean in both modes.
func TestConcurrentBankIsClean(t *testing.T) {
	rec := NewRecorder()
	defer rec.Stop()
	h := runBank(rec, 4, 200)
	if r := Check(t, h); !r.OK() {
		t.Fatal("see above")
	}
}

// runBank runs goroutines clients doing n transfers or audits each over 4
// accounts; every written value is unique (an account's value is its
// balance times 1e6 plus a serial number).
func runBank(rec *Recorder, goroutines, n int) *History {
	acct := make([]*stm.Var[int], 4)
	for i := range acct {
		acct[i] = stm.NewVar(100 * 1_000_000)
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		c := rec.Client(g)
		wg.Go(func() {
			serial := g * 100_000
			for i := range n {
				from, to := (i+g)%4, (i*3+g+1)%4
				_ = c.Atomically(func(tx *stm.Tx) error {
					if i%5 == 0 {
						total := 0
						for _, a := range acct {
							total += a.Get(tx) / 1_000_000
						}
						if total != 400 {
							return errors.New("audit: total changed")
						}
						return nil
					}
					if from == to {
						return nil
					}
					serial++
					acct[from].Set(tx, (acct[from].Get(tx)/1_000_000-1)*1_000_000+serial)
					serial++
					acct[to].Set(tx, (acct[to].Get(tx)/1_000_000+1)*1_000_000+serial)
					return nil
				})
			}
		})
	}
	wg.Wait()
	return rec.History()
}
