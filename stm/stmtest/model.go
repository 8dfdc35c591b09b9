package stmtest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

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
