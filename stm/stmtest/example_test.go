package stmtest_test

import (
	"fmt"
	"sync"

	"gostm.dev/stm"
	"gostm.dev/stm/stmtest"
)

// Two goroutines move units between two accounts while recording; the
// history is then checked. Each written value is unique (balance times
// 1000 plus a serial number), as the black-box check requires.
func Example() {
	rec := stmtest.NewRecorder()
	defer rec.Stop()
	a, b := stm.NewVar(100_000), stm.NewVar(100_000)
	stmtest.Name(rec, a, "a")
	stmtest.Name(rec, b, "b")

	var wg sync.WaitGroup
	for g := range 2 {
		c := rec.Client(g)
		wg.Go(func() {
			for i := range 50 {
				serial := g*100 + i + 1 // below 1000: the balance stays readable
				_ = c.Atomically(func(tx *stm.Tx) error {
					from, to := a, b
					if i%2 == 1 {
						from, to = b, a
					}
					from.Set(tx, (from.Get(tx)/1000-1)*1000+serial)
					to.Set(tx, (to.Get(tx)/1000+1)*1000+serial)
					return nil
				})
			}
		})
	}
	wg.Wait()
	rec.Stop()

	h := rec.History()
	r := stmtest.CheckHistory(h)
	fmt.Println(len(h.Txns), "transactions, anomalies:", len(r.Anomalies))
	fmt.Println("total:", a.Load()/1000+b.Load()/1000)
	// Output:
	// 100 transactions, anomalies: 0
	// total: 200
}

// A hand-written history of a lost update: both transactions read x's
// initial value and wrote x.
func ExampleCheckBlackBox() {
	rd := func(v int) stmtest.Op { return stmtest.Op{Kind: stmtest.Read, Var: 1, Value: []byte(fmt.Sprint(v))} }
	wr := func(v int) stmtest.Op { return stmtest.Op{Kind: stmtest.Write, Var: 1, Value: []byte(fmt.Sprint(v))} }
	txn := func(id int, invoke, complete uint64, ops ...stmtest.Op) stmtest.Txn {
		return stmtest.Txn{ID: id, Invoke: invoke, Complete: complete, Outcome: stmtest.Committed,
			Attempts: []stmtest.Attempt{{Outcome: stmtest.AttemptCommit, Ops: ops}}}
	}
	h := &stmtest.History{
		Vars: []stmtest.VarInfo{{ID: 1, Name: "x"}},
		Txns: []stmtest.Txn{txn(1, 1, 3, rd(0), wr(1)), txn(2, 2, 4, rd(0), wr(2))},
	}
	for _, a := range stmtest.CheckBlackBox(h).Anomalies {
		fmt.Println(a)
	}
	// Output:
	// G2: T2 < T1 because T2 read a version of x that T1 overwrote (with 1); T1 < T2 because T1 read a version of x that T2 overwrote (with 2); a cycle: T2 -> T1 -> T2
}
