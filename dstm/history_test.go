package dstm

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gostm.dev/internal/testseed"
	"gostm.dev/stm/stmtest"
)

// histRecorder builds an stmtest.History from transactions run on dstm:
// each attempt's reads (with the etcd mod-revision they came from) and
// writes, the attempt's snapshot and commit revisions, and logical ticks for
// real-time order.
type histRecorder struct {
	tick atomic.Uint64
	mu   sync.Mutex
	txns []stmtest.Txn
	vars []*Var[int64]
}

// txnRec records one transaction of one goroutine.
type txnRec struct {
	r   *histRecorder
	txn stmtest.Txn
	cur *stmtest.Attempt
}

func (r *histRecorder) begin(client int) *txnRec {
	return &txnRec{r: r, txn: stmtest.Txn{Client: client, Invoke: r.tick.Add(1)}}
}

// attempt starts a new attempt; the previous one, if any, aborted.
func (t *txnRec) attempt(tx *Tx) {
	t.endAttempt(stmtest.AttemptAbort)
	t.txn.Attempts = append(t.txn.Attempts, stmtest.Attempt{Start: t.r.tick.Add(1), Outcome: stmtest.AttemptUnknown})
	t.cur = &t.txn.Attempts[len(t.txn.Attempts)-1]
	tx.AfterCommit(func() {
		t.cur.RV = uint64(tx.rev)
		if len(tx.writes) > 0 {
			t.cur.WV = uint64(tx.commitRev)
		}
	})
}

func (t *txnRec) endAttempt(o stmtest.AttemptOutcome) {
	if t.cur != nil && t.cur.End == 0 {
		t.cur.End, t.cur.Outcome = t.r.tick.Add(1), o
	}
}

func (t *txnRec) get(tx *Tx, i int) int64 {
	v := t.r.vars[i]
	_, own := tx.written(v.key)
	x := v.Get(tx)
	op := stmtest.Op{Kind: stmtest.Read, Var: i, Value: json.RawMessage(strconv.FormatInt(x, 10)), Own: own}
	if !own {
		op.Version = uint64(tx.reads[v.key].mod)
	}
	t.cur.Ops = append(t.cur.Ops, op)
	return x
}

func (t *txnRec) set(tx *Tx, i int, x int64) {
	t.r.vars[i].Set(tx, x)
	t.cur.Ops = append(t.cur.Ops, stmtest.Op{Kind: stmtest.Write, Var: i, Value: json.RawMessage(strconv.FormatInt(x, 10))})
}

func (t *txnRec) end(err error) {
	if err == nil {
		t.endAttempt(stmtest.AttemptCommit)
		t.txn.Outcome = stmtest.Committed
	} else {
		t.endAttempt(stmtest.AttemptError)
		t.txn.Outcome, t.txn.Err = stmtest.Failed, err.Error()
	}
	t.txn.Complete = t.r.tick.Add(1)
	t.r.mu.Lock()
	t.r.txns = append(t.r.txns, t.txn)
	t.r.mu.Unlock()
}

func (r *histRecorder) history() *stmtest.History {
	h := &stmtest.History{Versioned: true}
	for i, v := range r.vars {
		h.Vars = append(h.Vars, stmtest.VarInfo{ID: i, Name: v.key})
	}
	txns := r.txns
	// Order of invocation, IDs from 1.
	slices.SortFunc(txns, func(a, b stmtest.Txn) int { return int(a.Invoke) - int(b.Invoke) })
	for i := range txns {
		txns[i].ID = i + 1
	}
	h.Txns = txns
	return h
}

// TestHistoryChecked runs random read-modify-write and read-only
// transactions on a few keys from 4 goroutines, records every attempt, and
// has stmtest check the history: black-box (values only: dependency cycles,
// aborted and intermediate reads) and white-box (etcd revisions as versions:
// every attempt, aborted ones included, read one snapshot; every commit's
// reads were current at its commit; commit order respects real time).
// DSTM_LONG=1 runs ten times as many transactions.
func TestHistoryChecked(t *testing.T) {
	c, key := testClient(t)
	seed := testseed.Get(t, "DSTM_SEED")
	perG, limit := 250, time.Minute
	if os.Getenv("DSTM_LONG") != "" {
		perG, limit = 2500, 10*time.Minute
	}
	ctx := testCtxFor(t, limit)
	const goroutines, nvars = 4, 6
	r := &histRecorder{}
	for i := range nvars {
		r.vars = append(r.vars, NewVar(key(fmt.Sprint("v", i)), int64(0)))
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for n := range perG {
				rec := r.begin(g)
				readOnly := rng.IntN(4) == 0
				reads := rng.Perm(nvars)[:1+rng.IntN(3)]
				writeVal := int64(g+1)<<32 | int64(n+1) // unique per write, as the black-box check needs
				err := Atomically(ctx, c, func(tx *Tx) error {
					rec.attempt(tx)
					for _, i := range reads {
						rec.get(tx, i)
					}
					if !readOnly {
						rec.set(tx, reads[0], writeVal)
					}
					return nil
				})
				rec.end(err)
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	h := r.history()
	rep := stmtest.Check(t, h)
	t.Logf("%d transactions, %d attempts checked (%v); client stats %+v", rep.Txns, rep.Attempts, rep.Checked, c.Stats())
	if rep.Txns < goroutines*perG {
		t.Fatalf("checked %d transactions, want %d", rep.Txns, goroutines*perG)
	}
}
