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

// Commutes are recorded as the engine applies them: at commit as one
// Commuted operation per Var (its latest value and version, and the value
// written); after a Get as an ordinary read and write; applied at once
// after a Set; brought back by an OrElse rollback of the Get that had
// applied them. A View is marked, reads at its snapshot and writes nothing.
func TestRecorderRecordsCommuteAndView(t *testing.T) {
	rec := NewRecorder()
	defer rec.Stop()
	x, y := stm.NewVar(0), stm.NewVar(0)
	Name(rec, x, "x")
	Name(rec, y, "y")
	c := rec.Client(0)
	plus := func(d int) func(int) int { return func(v int) int { return v + d } }
	run := func(fn func(tx *stm.Tx)) {
		t.Helper()
		if err := c.Atomically(func(tx *stm.Tx) error { fn(tx); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	run(func(tx *stm.Tx) { x.Commute(tx, plus(1)); stm.Add(tx, y, 5) }) // x 1, y 5
	run(func(tx *stm.Tx) { x.Commute(tx, plus(10)); x.Get(tx) })        // x 11
	run(func(tx *stm.Tx) { y.Set(tx, 100); y.Commute(tx, plus(1)) })    // y 101
	var sum int
	c.View(func(tx *stm.Tx) { sum = x.Get(tx) + y.Get(tx) })
	run(func(tx *stm.Tx) { // x 12
		x.Commute(tx, plus(1))
		stm.OrElse(tx, func(tx *stm.Tx) int { x.Get(tx); tx.Retry(); return 0 }, func(tx *stm.Tx) int { return 0 })
	})
	rec.Stop()
	if sum != 112 || x.Load() != 12 || y.Load() != 101 {
		t.Fatalf("sum %d, x %d, y %d", sum, x.Load(), y.Load())
	}
	h := rec.History()
	// Ver is the number of the transaction that wrote the version read (0
	// for the initial one): the clock is shared with the package's other
	// tests, so versions themselves vary.
	type opv struct {
		Kind     OpKind
		Var      int
		Old, Val string
		Ver      uint64
		Own      bool
	}
	want := [][]opv{
		{{Commuted, 1, "0", "1", 0, false}, {Commuted, 2, "0", "5", 0, false}},
		{{Read, 1, "", "1", 1, false}, {Write, 1, "", "11", 0, false}, {Read, 1, "", "11", 0, true}},
		{{Write, 2, "", "100", 0, false}, {Write, 2, "", "101", 0, false}},
		{{Read, 1, "", "11", 2, false}, {Read, 2, "", "101", 3, false}},
		{{Read, 1, "", "11", 2, false}, {Write, 1, "", "12", 0, false}, {Read, 1, "", "12", 0, true}, {Rollback, 0, "", "", 0, false},
			{Commuted, 1, "11", "12", 2, false}},
	}
	if len(h.Txns) != len(want) {
		t.Fatalf("%d txns, want %d", len(h.Txns), len(want))
	}
	for i, w := range want {
		a := h.Txns[i].Final()
		var got []opv
		for _, op := range a.Ops {
			got = append(got, opv{op.Kind, op.Var, string(op.Old), string(op.Value), op.Version, op.Own})
		}
		for j := range w {
			if n := w[j].Ver; n > 0 {
				w[j].Ver = h.Txns[n-1].Final().WV
			}
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("T%d recorded %v, want %v", i+1, got, w)
		}
		if view := i == 3; h.Txns[i].View != view || (a.WV == 0) != view {
			t.Errorf("T%d: view %v, wv %d", i+1, h.Txns[i].View, a.WV)
		}
	}
	if a := h.Txns[3].Final(); a.RV != h.Txns[2].Final().WV {
		t.Errorf("the View's snapshot is version %d, want %d", a.RV, h.Txns[2].Final().WV)
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
