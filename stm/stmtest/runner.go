package stmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gostm.dev/stm"
)

// RunOptions tune RunWorkload. The zero value is ready to use.
type RunOptions struct {
	// StallTimeout bounds how long the watchdog lets every goroutine stay
	// blocked in Retry while one of them has read a Var that has changed
	// since (it should have been woken) before declaring a lost wake-up
	// (default 2s). It is never waited for unless the engine misbehaves:
	// goroutines blocked on Vars that nobody will write again are detected
	// at once and cancelled.
	StallTimeout time.Duration
	// HangTimeout bounds how long the run may go with some goroutine
	// running (not blocked in Retry) but no transaction or attempt
	// beginning or ending (default 10s): the engine is then stuck, and
	// RunWorkload returns at once with a Hang anomaly, leaving the stuck
	// goroutines behind (nothing can stop them).
	HangTimeout time.Duration
}

// RunResult is what RunWorkload observed.
type RunResult struct {
	History *History
	// Final holds the Vars' values after the run (zeros if it hung).
	Final []int64
	// Report combines the white-box and black-box checks, the sequential
	// reference interpreter and the watchdog's findings.
	Report Report
	// Deadlocks counts the times the watchdog found every running
	// goroutine blocked for good (the workload's Awaits could not all be
	// satisfied) and cancelled their transactions.
	Deadlocks int
}

var (
	errProgramFail = errors.New("stmtest: program failed")
	// programPanic is the value generated programs panic with.
	programPanic = &struct{ s string }{"stmtest: program panicked"}
)

// RunWorkload runs w on the engine, each goroutine's transactions in order
// on a goroutine of its own, all starting together, under a Recorder, and
// checks the history. Transactions blocked in Retry on Vars that no running
// goroutine can change any more are cancelled (they are recorded as
// Canceled), so a workload always ends; if the engine itself gets stuck,
// RunWorkload gives up on the run after opts.HangTimeout and reports a
// Hang, with an empty History, and so does every later call in the
// process, at once and without running anything (see stuck).
func RunWorkload(w Workload, opts RunOptions) *RunResult {
	if s := stuck.Load(); s != nil {
		return hungResult(w, 0, "not run: an earlier run left the engine stuck, and nothing after that can be trusted "+
			"(or even finish): "+*s)
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = 2 * time.Second
	}
	if opts.HangTimeout <= 0 {
		opts.HangTimeout = 10 * time.Second
	}
	vars := make([]*stm.Var[int64], w.Vars)
	rec := NewRecorder()
	defer rec.Stop()
	rec.notify = make(chan struct{}, 1)
	for i := range vars {
		vars[i] = stm.NewVar(int64(0))
		Name(rec, vars[i], varName(i))
	}
	done := make([]atomic.Bool, len(w.Goroutines))
	cancels := make([]atomic.Pointer[context.CancelFunc], len(w.Goroutines))
	gids := make([]atomic.Uint64, len(w.Goroutines))
	var stop atomic.Bool // set after a lost wake-up or a hang: the run is over
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g, txs := range w.Goroutines {
		c := rec.Client(g)
		wg.Go(func() {
			defer func() {
				rec.stateMu.RLock()
				done[g].Store(true)
				rec.stateMu.RUnlock()
				select {
				case rec.notify <- struct{}{}:
				default:
				}
			}()
			e := executor{vars: vars, uniq: int64(g+1) << 32}
			gids[g].Store(goroutineID())
			<-start
			for _, p := range txs {
				if stop.Load() {
					return
				}
				// A context per transaction, so that the watchdog can
				// cancel one blocked for good and the goroutine go on.
				ctx, cancel := context.WithCancel(context.Background())
				cancels[g].Store(&cancel)
				e.runTxn(ctx, c, p)
				cancel()
			}
		})
	}
	wd := &watchdog{rec: rec, done: done, cancels: cancels, gids: gids, stop: &stop,
		grace: opts.StallTimeout, hang: opts.HangTimeout, finished: make(chan struct{})}
	go func() {
		wg.Wait()
		close(wd.finished)
	}()
	var wdDone sync.WaitGroup
	wdDone.Go(wd.run)
	close(start)
	wdDone.Wait() // the watchdog returns when the workers have, or on a lost wake-up or a hang
	if wd.hung != "" {
		j, _ := json.Marshal(w)
		msg := fmt.Sprintf("%s\n  in the run of %s", wd.hung, j)
		stuck.CompareAndSwap(nil, &msg)
		return hungResult(w, wd.deadlocks, wd.hung)
	}
	<-wd.finished
	rec.Stop()

	res := &RunResult{History: rec.History(), Final: make([]int64, len(vars)), Deadlocks: wd.deadlocks}
	for i, v := range vars {
		res.Final[i] = v.Load()
	}
	res.Report = CheckHistory(res.History)
	for _, s := range wd.lost {
		id := 0
		for _, t := range res.History.Txns {
			if t.Client == s.client {
				id = t.ID
			}
		}
		res.Report.add(LostWakeup, []int{id}, "T%d (goroutine %d) stayed blocked in Retry for %v with no goroutine running, "+
			"although %s, which it read at version %d, had been committed at version %d since",
			id, s.client, opts.StallTimeout, varName(s.v.id-1), s.read, s.latest)
	}
	if res.Report.OK() {
		checkModel(w, res, &res.Report)
	}
	return res
}

// stuck holds, once a run has hung, what the watchdog found and the
// workload: the goroutines stuck in the engine may hold its global locks
// for good (an irrevocable transaction holds serial mode, which every
// transaction may have to wait for), so that a later run could hang
// before its watchdog even starts, as the whole test binary would.
var stuck atomic.Pointer[string]

// hungResult is the result of a run that hung: the stuck goroutines still
// hold their logs and the Vars' locks, so neither the history nor the
// final values can be read.
func hungResult(w Workload, deadlocks int, why string) *RunResult {
	res := &RunResult{History: &History{Versioned: true}, Final: make([]int64, w.Vars), Deadlocks: deadlocks}
	res.Report = Report{Checked: []string{"watchdog"}}
	res.Report.add(Hang, nil, "%s", why)
	return res
}

// commuted is the payload a Commute (or Modify) of arg makes of payload p.
func commuted(p, arg int) int { return (p + arg) % (1 << payloadBits) }

// executor runs programs on the engine for one goroutine.
type executor struct {
	vars []*stm.Var[int64]
	uniq int64 // high bits of this goroutine's written values
	n    int64 // values written so far
}

func (e *executor) fresh(p int) int64 {
	e.n++
	return (e.uniq|e.n)<<payloadBits | int64(p)
}

func (e *executor) runTxn(ctx context.Context, c *Client, p Program) {
	defer func() {
		// An Await of a Var the transaction wrote itself reads nothing
		// from the shared state; if it retries with no other read, the
		// engine panics, rightly (nothing could wake it).
		if r := recover(); r != nil && r != programPanic && !strings.HasPrefix(fmt.Sprint(r), "stm: Retry called with nothing read") {
			panic(r)
		}
	}()
	if p.IsView() {
		c.View(func(tx *stm.Tx) { _ = e.run(tx, p[1:]) })
		return
	}
	_ = c.AtomicallyContext(ctx, func(tx *stm.Tx) error { return e.run(tx, p) })
}

func (e *executor) run(tx *stm.Tx, p Program) error {
	for _, in := range p {
		switch in.Code {
		case Get:
			e.vars[in.Var].Get(tx)
		case Set:
			e.vars[in.Var].Set(tx, e.fresh(in.Arg))
		case Modify:
			e.vars[in.Var].Modify(tx, func(old int64) int64 { return e.fresh((payload(old) + in.Arg) % (1 << payloadBits)) })
		case Commute:
			// The engine may apply f more than once (to the snapshot on a
			// Get, then again at commit if an OrElse rolled that back), so
			// f must be pure: its high bits are fixed here, per call.
			stamp := e.fresh(0)
			e.vars[in.Var].Commute(tx, func(old int64) int64 { return stamp | int64(commuted(payload(old), in.Arg)) })
		case Await:
			tx.Check(payload(e.vars[in.Var].Get(tx))%2 == in.Arg%2)
		case Retry:
			tx.Retry()
		case Fail:
			return errProgramFail
		case Panic:
			panic(programPanic)
		case Yield:
			runtime.Gosched()
		case OrElse:
			alts := make([]func(*stm.Tx) error, len(in.Alts))
			for i, alt := range in.Alts {
				alts[i] = func(tx *stm.Tx) error { return e.run(tx, alt) }
			}
			if err := stm.OrElse(tx, alts[0], alts[1:]...); err != nil {
				return err
			}
		}
	}
	return nil
}
