package santa

import (
	"context"
	"sync"

	"gostm.dev/stm"
)

// stmRun is one run of the STM version or of one of its broken variants.
type stmRun struct {
	*runner
	seq             *stm.Var[int64] // nil unless in exact-order mode
	reindeer, elves *Group
}

func (r *runner) startSTM(ctx context.Context, wg *sync.WaitGroup, done chan<- struct{}) {
	shared := r.cfg.Variant == VariantSharedGates
	s := &stmRun{runner: r, reindeer: newGroup(r.cfg.Reindeer, shared), elves: newGroup(r.cfg.GroupSize, shared)}
	if !r.cfg.NoSeq {
		s.seq = stm.NewVar[int64](0)
	}
	li := 1
	for _, k := range []struct {
		kind string
		n    int
		g    *Group
	}{{KindReindeer, r.cfg.Reindeer, s.reindeer}, {KindElves, r.cfg.Elves, s.elves}} {
		kind, g := k.kind, k.g
		for i := 1; i <= k.n; i++ {
			wg.Add(1)
			go func(li int) {
				defer wg.Done()
				s.helper(ctx, li, kind, actorName(kind, i), g)
			}(li)
			li++
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if s.santa(ctx) {
			close(done)
		}
	}()
}

// log adds e to the transaction: in exact-order mode it takes the next
// sequence number in the same transaction, so the number is the commit
// order; the event itself is recorded only once the transaction commits.
func (s *stmRun) log(tx *stm.Tx, li int, e Event) {
	if s.seq != nil {
		e.Seq = s.seq.Get(tx) + 1
		s.seq.Set(tx, e.Seq)
	}
	tx.AfterCommit(func() {
		e.T = s.now()
		s.logs[li] = append(s.logs[li], e)
	})
}

// note records an event that has no transaction of its own (work, and the
// missing gate passes of no-out-gate). In exact-order mode it still needs
// one, to take a sequence number.
func (s *stmRun) note(ctx context.Context, li int, e Event) error {
	if s.seq == nil {
		e.T = s.now()
		s.logs[li] = append(s.logs[li], e)
		return nil
	}
	return stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		s.log(tx, li, e)
		return nil
	})
}

// helper is one reindeer or elf: vacation, join, in-gate, work, out-gate,
// until ctx ends.
func (s *stmRun) helper(ctx context.Context, li int, kind, name string, g *Group) {
	rng := s.rng(li)
	ev := func(ev string, gen int) Event { return Event{Actor: name, Ev: ev, Kind: kind, Gen: gen} }
	for sleep(ctx, s.cfg.Vacation.draw(rng)) {
		var t Ticket
		if stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			t = g.join(tx)
			e := ev(EvJoin, t.Gen)
			e.Slot = t.Slot
			s.log(tx, li, e)
			return nil
		}) != nil {
			return
		}
		var gen int
		if stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			gen = t.In.pass(tx)
			s.log(tx, li, ev(EvEnter, gen))
			return nil
		}) != nil {
			return
		}
		if !sleep(ctx, s.cfg.Work.draw(rng)) || s.note(ctx, li, ev(EvWork, gen)) != nil {
			return
		}
		if s.cfg.Variant == VariantNoOutGate {
			if s.note(ctx, li, ev(EvLeave, gen)) != nil {
				return
			}
			continue
		}
		if stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			s.log(tx, li, ev(EvLeave, t.Out.pass(tx)))
			return nil
		}) != nil {
			return
		}
	}
}

// santa runs the sessions; it reports whether all of them finished.
func (s *stmRun) santa(ctx context.Context) bool {
	rng := s.rng(0)
	for range s.cfg.Rounds {
		groups, kinds := []*Group{s.reindeer, s.elves}, []string{KindReindeer, KindElves}
		if s.cfg.Variant == VariantRandomChoice && rng.IntN(2) == 0 {
			// What a select over two ready channels does: no priority.
			groups[0], groups[1], kinds[0], kinds[1] = groups[1], groups[0], kinds[1], kinds[0]
		}
		var b Batch
		var kind string
		if stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			rs, es := s.reindeer.peek(tx), s.elves.peek(tx)
			i, batch := Choose(tx, groups...)
			b, kind = batch, kinds[i]
			rReady, eReady := rs.joined == s.reindeer.n, es.joined == s.elves.n
			s.log(tx, 0, Event{Actor: SantaActor, Ev: EvChoose, Kind: kind, Gen: b.Gen,
				RJoined: rs.joined, EReady: eReady, Contested: rReady && eReady})
			return nil
		}) != nil {
			return false
		}
		if !sleep(ctx, s.cfg.Santa.draw(rng)) || !s.operate(ctx, kind, b.Gen, b.In, EvOpenIn, EvAllIn, false) ||
			!s.operate(ctx, kind, b.Gen, b.Out, EvOpenOut, EvAllOut, s.cfg.Variant == VariantNoOutGate) {
			return false
		}
		s.sessionDone()
	}
	return true
}

// operate is Gate.Operate with events: open (first transaction), then
// wait until every pass is used (second transaction). With skip, Santa
// logs both events without touching the gate (the no-out-gate variant).
func (s *stmRun) operate(ctx context.Context, kind string, gen int, g *Gate, evOpen, evAll string, skip bool) bool {
	ev := func(ev string) Event { return Event{Actor: SantaActor, Ev: ev, Kind: kind, Gen: gen} }
	return stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		if !skip {
			g.open(tx, gen)
		}
		s.log(tx, 0, ev(evOpen))
		return nil
	}) == nil && stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		if !skip {
			g.waitUsed(tx)
		}
		s.log(tx, 0, ev(evAll))
		return nil
	}) == nil
}
