package stmtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
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
}

// RunResult is what RunWorkload observed.
type RunResult struct {
	History *History
	// Final holds the Vars' values after the run.
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
// Canceled), so a workload always ends.
func RunWorkload(w Workload, opts RunOptions) *RunResult {
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = 2 * time.Second
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
	var stop atomic.Bool // set after a lost wake-up: the run is over
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
	wd := &watchdog{rec: rec, done: done, cancels: cancels, stop: &stop, grace: opts.StallTimeout, finished: make(chan struct{})}
	var wdDone sync.WaitGroup
	wdDone.Go(wd.run)
	close(start)
	wg.Wait()
	close(wd.finished)
	wdDone.Wait()
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

// watchdog keeps runs moving. When every goroutine not finished is
// blocked in Retry, either all their reads are current, and no commit can
// ever wake them (the workload deadlocked: cancel those transactions at
// once and let the goroutines go on), or one of them read a Var that has
// changed since and must have been woken; if the run still makes no
// progress after the grace period, the wake-up was lost and the run ends.
type watchdog struct {
	rec      *Recorder
	done     []atomic.Bool
	cancels  []atomic.Pointer[context.CancelFunc]
	stop     *atomic.Bool
	grace    time.Duration
	finished chan struct{}

	deadlocks int
	lost      []staleRead
}

// cancelBlocked cancels the transaction of every unfinished goroutine.
func (wd *watchdog) cancelBlocked() {
	for g := range wd.cancels {
		if c := wd.cancels[g].Load(); c != nil && !wd.done[g].Load() {
			(*c)()
		}
	}
}

type staleRead struct {
	client       int
	v            *varInfo
	read, latest uint64
}

func (wd *watchdog) run() {
	var timer *time.Timer
	var timerC <-chan time.Time
	var armedAt uint64
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		fired := false
		select {
		case <-wd.finished:
			return
		case <-wd.rec.notify:
		case <-timerC:
			fired = true
			timerC = nil
		}
		stale, blocked := wd.inspect()
		switch {
		case blocked == 0:
			continue // someone is running, or everyone has finished
		case len(stale) == 0:
			wd.deadlocks++
			wd.cancelBlocked()
		case fired && wd.rec.clock.Load() == armedAt:
			wd.lost = stale
			wd.stop.Store(true)
			wd.cancelBlocked()
			return
		case timerC == nil:
			armedAt = wd.rec.clock.Load()
			timer = time.NewTimer(wd.grace)
			timerC = timer.C
		}
	}
}

// inspect returns how many goroutines are blocked in Retry, or 0 unless
// every unfinished one is, and which of their reads are stale.
func (wd *watchdog) inspect() (stale []staleRead, blocked int) {
	wd.rec.stateMu.Lock()
	defer wd.rec.stateMu.Unlock()
	for g := range wd.done {
		if wd.done[g].Load() {
			continue
		}
		c := wd.rec.Client(g)
		if c.state.Load() != clientBlocked {
			return nil, 0
		}
		blocked++
		for _, r := range *c.blocked.Load() {
			if l := r.v.latest.Load(); l > r.ver {
				stale = append(stale, staleRead{g, r.v, r.ver, l})
			}
		}
	}
	return stale, blocked
}

// checkModel replays the run on the sequential reference interpreter: the
// committed transactions one at a time in their serialization order
// (update commits by write version, read-only ones after the newest
// version they read) must reproduce every value read, every write's
// payload and every outcome, and end in the final state; the attempts that
// did not commit must follow the program's semantics given what they read.
func checkModel(w Workload, res *RunResult, r *Report) {
	h := res.History
	progs := map[int]Program{} // txn ID -> program
	next := make([]int, len(w.Goroutines))
	for _, t := range h.Txns {
		if t.Client >= 0 && t.Client < len(w.Goroutines) && next[t.Client] < len(w.Goroutines[t.Client]) {
			progs[t.ID] = w.Goroutines[t.Client][next[t.Client]]
			next[t.Client]++
		}
	}
	type serial struct {
		key uint64
		txn *Txn
	}
	var order []serial
	for i := range h.Txns {
		t := &h.Txns[i]
		for ai := range t.Attempts {
			a := &t.Attempts[ai]
			if a.Outcome == AttemptCommit && ai == len(t.Attempts)-1 {
				key := a.WV * 2
				if a.WV == 0 {
					var lo uint64
					for _, op := range a.Ops {
						if op.Kind == Read && !op.Own {
							lo = max(lo, op.Version)
						}
					}
					key = lo*2 + 1
				}
				order = append(order, serial{key, t})
				continue
			}
			if why := replayAttempt(progs[t.ID], a, nil); why != "" {
				r.add(Model, []int{t.ID}, "%s of %s: %s", attemptName(t, ai), progs[t.ID], why)
			}
		}
	}
	slices.SortStableFunc(order, func(a, b serial) int { return cmp.Compare(a.key, b.key) })
	state := make([]int64, w.Vars)
	for _, s := range order {
		a := s.txn.Final()
		if why := replayAttempt(progs[s.txn.ID], a, state); why != "" {
			r.add(Model, []int{s.txn.ID}, "T%d %s, run serially after the commits before it: %s", s.txn.ID, progs[s.txn.ID], why)
			return
		}
		for _, i := range a.liveWrites() {
			v, _ := strconv.ParseInt(string(a.Ops[i].Value), 10, 64)
			state[a.Ops[i].Var-1] = v
		}
	}
	for i, v := range res.Final {
		if state[i] != v {
			r.add(Model, nil, "after every commit in serial order %s should be %d, but the engine holds %d", varName(i), state[i], v)
		}
	}
}

// replayAttempt runs p against the recorded attempt a, in lock step,
// and explains the first disagreement ("" if none). With state, reads
// outside the attempt's own writes must return state's values; without,
// the first read of each Var sets its value. An attempt that did not end
// by itself (aborted) may stop anywhere.
func replayAttempt(p Program, a *Attempt, state []int64) (why string) {
	ls := &lockstep{ops: a.Ops, state: state, first: map[int]int64{}, pending: map[int][]int{},
		prefix: a.Outcome == AttemptAbort || a.Outcome == AttemptUnknown}
	out := AttemptCommit
	func() {
		defer func() {
			switch x := recover().(type) {
			case nil:
			case lockstepStop:
				if x.why != "" {
					why = x.why
				}
				out = x.out
			default:
				panic(x)
			}
		}()
		if err := ls.run(p); err != nil {
			out = AttemptError
			return
		}
		ls.commit()
	}()
	if why != "" || ls.ended {
		return why
	}
	if ls.i != len(a.Ops) {
		return fmt.Sprintf("the history has %d operations more than the program made", len(a.Ops)-ls.i)
	}
	if out != a.Outcome && !ls.prefix {
		return fmt.Sprintf("the program ends in %s, the engine reported %s", out, a.Outcome)
	}
	return ""
}

type lockstep struct {
	ops     []Op
	i       int
	state   []int64
	first   map[int]int64
	own     []Op // live own writes
	nWrites int  // every write so far, live or not: how the engine numbers them
	// pending holds, per Var, the Args of the Commutes not yet applied: a
	// Get applies them to the snapshot's value, the commit to the latest.
	pending map[int][]int
	prefix  bool
	ended   bool // the ops of an aborted attempt ran out
}

// lockstepStop unwinds the replay: with an outcome (retry, panic) or an
// explanation of a disagreement.
type lockstepStop struct {
	out AttemptOutcome
	why string
}

func (ls *lockstep) next(kind OpKind, v int) Op {
	if ls.i == len(ls.ops) {
		if ls.prefix {
			ls.ended = true
			panic(lockstepStop{})
		}
		panic(lockstepStop{why: fmt.Sprintf("the program makes a %s of %s that the history lacks", kind, varName(v))})
	}
	op := ls.ops[ls.i]
	if op.Kind != kind || (kind != Rollback && op.Var != v+1) {
		panic(lockstepStop{why: fmt.Sprintf("operation %d: the program makes a %s of %s, the history has %+v", ls.i, kind, varName(v), op)})
	}
	ls.i++
	return op
}

// read models a Get of v: if Commutes of v are pending, the engine first
// reads v in the snapshot and writes them applied to it.
func (ls *lockstep) read(v int) int64 {
	if args, ok := ls.pending[v]; ok {
		delete(ls.pending, v)
		ls.write(v, fold(payload(ls.readOnce(v)), args))
	}
	return ls.readOnce(v)
}

// fold applies the Args of Commutes, in order, to payload p.
func fold(p int, args []int) int {
	for _, a := range args {
		p = commuted(p, a)
	}
	return p
}

// commute models a Commute of v: applied at once to the transaction's own
// write of v if there is one, else left pending.
func (ls *lockstep) commute(v, arg int) {
	if _, ok := ls.pending[v]; !ok {
		if w, ok := ls.lastOwn(v + 1); ok {
			ls.write(v, commuted(payload(w), arg))
			return
		}
	}
	ls.pending[v] = append(ls.pending[v], arg)
}

// commit models the commit of an attempt whose body returned: one
// Commuted operation per Var with pending Commutes, in any order, each
// applied to the Var's latest value (in serial order, the model's state).
// An aborted attempt may lack them.
func (ls *lockstep) commit() {
	done := map[int]bool{}
	for ls.i < len(ls.ops) && ls.ops[ls.i].Kind == Commuted {
		op := ls.ops[ls.i]
		v := op.Var - 1
		args, ok := ls.pending[v]
		if !ok || done[v] {
			panic(lockstepStop{why: fmt.Sprintf("operation %d: the history commutes %s, which has no pending Commute", ls.i, varName(v))})
		}
		done[v] = true
		ls.i++
		old := mustInt(op.Old)
		if ls.state != nil && old != ls.state[v] {
			panic(lockstepStop{why: fmt.Sprintf("the commit commuted %s from %d, the model has %d", varName(v), old, ls.state[v])})
		}
		if got, want := payload(mustInt(op.Value)), fold(payload(old), args); got != want {
			panic(lockstepStop{why: fmt.Sprintf("the commit commuted %s to payload %d, the model computes %d", varName(v), got, want)})
		}
	}
	if ls.prefix {
		return
	}
	for v := range ls.pending {
		if !done[v] {
			panic(lockstepStop{why: fmt.Sprintf("the commit should apply the Commutes of %s, the history lacks them", varName(v))})
		}
	}
}

// readOnce models one Read event of v.
func (ls *lockstep) readOnce(v int) int64 {
	op := ls.next(Read, v)
	got, err := strconv.ParseInt(string(op.Value), 10, 64)
	if err != nil {
		panic(lockstepStop{why: fmt.Sprintf("read of %s returned %s, not an int64", varName(v), op.Value)})
	}
	want, known := int64(0), false
	if w, ok := ls.lastOwn(v + 1); ok {
		want, known = w, true
	} else if ls.state != nil {
		want, known = ls.state[v], true
	} else if f, ok := ls.first[v]; ok {
		want, known = f, true
	} else {
		ls.first[v] = got
	}
	if known && got != want {
		panic(lockstepStop{why: fmt.Sprintf("read of %s returned %d, the model has %d", varName(v), got, want)})
	}
	return got
}

func (ls *lockstep) write(v, p int) {
	op := ls.next(Write, v)
	ls.nWrites++
	if got := payload(mustInt(op.Value)); got != p {
		panic(lockstepStop{why: fmt.Sprintf("write of %s has payload %d, the model computes %d", varName(v), got, p)})
	}
	ls.own = append(ls.own, op)
}

func (ls *lockstep) lastOwn(v int) (int64, bool) {
	for i := len(ls.own) - 1; i >= 0; i-- {
		if ls.own[i].Var == v {
			return mustInt(ls.own[i].Value), true
		}
	}
	return 0, false
}

func mustInt(raw []byte) int64 {
	v, _ := strconv.ParseInt(string(raw), 10, 64)
	return v
}

func (ls *lockstep) run(p Program) error {
	for _, in := range p {
		switch in.Code {
		case Get:
			ls.read(in.Var)
		case Set:
			delete(ls.pending, in.Var) // a Set replaces pending Commutes
			ls.write(in.Var, in.Arg)
		case Modify:
			old := ls.read(in.Var)
			ls.write(in.Var, commuted(payload(old), in.Arg))
		case Commute:
			ls.commute(in.Var, in.Arg)
		case Await:
			if payload(ls.read(in.Var))%2 != in.Arg%2 {
				panic(lockstepStop{out: AttemptRetry})
			}
		case Retry:
			panic(lockstepStop{out: AttemptRetry})
		case Fail:
			return errProgramFail
		case Panic:
			panic(lockstepStop{out: AttemptPanic})
		case OrElse:
			if err := ls.orElse(in.Alts); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ls *lockstep) orElse(alts []Program) error {
	for k, alt := range alts {
		if k == len(alts)-1 {
			return ls.run(alt) // a retry here retries the enclosing code
		}
		keep, live, pending := ls.nWrites, len(ls.own), clonePending(ls.pending)
		retried, err := ls.try(alt)
		if !retried {
			return err
		}
		if op := ls.next(Rollback, 0); op.Keep != keep {
			panic(lockstepStop{why: fmt.Sprintf("an OrElse alternative retried: the model keeps %d writes, the engine %d", keep, op.Keep)})
		}
		ls.own, ls.pending = ls.own[:live], pending
	}
	return nil
}

// clonePending copies a pending map, for an OrElse rollback to restore:
// it drops the alternative's Commutes and brings back those that a Get or
// Set in it had applied or replaced.
func clonePending(m map[int][]int) map[int][]int {
	c := make(map[int][]int, len(m))
	for v, args := range m {
		c[v] = slices.Clone(args)
	}
	return c
}

// try runs an alternative, reporting whether it retried.
func (ls *lockstep) try(p Program) (retried bool, err error) {
	defer func() {
		if x := recover(); x != nil {
			if s, ok := x.(lockstepStop); ok && s.why == "" && s.out == AttemptRetry {
				retried = true
				return
			}
			panic(x)
		}
	}()
	return false, ls.run(p)
}
