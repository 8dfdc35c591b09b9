package santa

import (
	"context"
	"sync"
	"sync/atomic"
)

// The channel version. One coordinator goroutine owns both groups: helpers
// ask it to join, Santa asks it for his next session, and it answers from
// its own counts. That is what gives exact priority; see the package
// documentation for why two channels and a select cannot.

// chanGate is one gate of one generation: Santa closes open to let the
// members through, and each member sends once on done (buffered n, so
// a member never waits for Santa to count it).
type chanGate struct {
	open chan struct{}
	done chan struct{}
}

func newChanGate(n int) *chanGate {
	return &chanGate{open: make(chan struct{}), done: make(chan struct{}, n)}
}

type chanTicket struct {
	gen     int
	in, out *chanGate
}

type joinReq struct {
	k     int // 0 reindeer, 1 elves
	li    int // the helper's log
	actor string
	reply chan chanTicket
}

type chanBatch struct {
	k       int
	gen     int
	in, out *chanGate
}

// chanGroup is the coordinator's view of one group.
type chanGroup struct {
	kind    string
	n       int
	gen     int
	joined  int
	in, out *chanGate
	queue   []joinReq // joins waiting for the next generation
}

type chanRun struct {
	*runner
	seq    atomic.Int64
	joins  chan joinReq
	santas chan chan chanBatch
}

func (r *runner) startChannel(ctx context.Context, wg *sync.WaitGroup, done chan<- struct{}) {
	c := &chanRun{runner: r, joins: make(chan joinReq), santas: make(chan chan chanBatch)}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.coordinate(ctx)
	}()
	li := 1
	for k, n := range []int{r.cfg.Reindeer, r.cfg.Elves} {
		kind := KindReindeer
		if k == 1 {
			kind = KindElves
		}
		for i := 1; i <= n; i++ {
			wg.Add(1)
			go func(li int) {
				defer wg.Done()
				c.helper(ctx, li, k, kind, actorName(kind, i))
			}(li)
			li++
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if c.santa(ctx) {
			close(done)
		}
	}()
}

// log records e now. The sequence number is taken after the channel
// operation that caused the event and before the one it causes, so it
// respects happens-before; the coordinator takes it for join and choose,
// so those two are in the coordinator's decision order.
func (c *chanRun) log(li int, e Event) {
	if !c.cfg.NoSeq {
		e.Seq = c.seq.Add(1)
	}
	e.T = c.now()
	c.logs[li] = append(c.logs[li], e)
}

func (c *chanRun) coordinate(ctx context.Context) {
	gs := [2]*chanGroup{
		{kind: KindReindeer, n: c.cfg.Reindeer, gen: 1, in: newChanGate(c.cfg.Reindeer), out: newChanGate(c.cfg.Reindeer)},
		{kind: KindElves, n: c.cfg.GroupSize, gen: 1, in: newChanGate(c.cfg.GroupSize), out: newChanGate(c.cfg.GroupSize)},
	}
	// The coordinator's events go to the logs of the helpers and of Santa,
	// which it owns while they wait for its reply.
	admit := func(g *chanGroup, r joinReq) {
		g.joined++
		c.log(r.li, Event{Actor: r.actor, Ev: EvJoin, Kind: g.kind, Gen: g.gen, Slot: g.joined})
		r.reply <- chanTicket{gen: g.gen, in: g.in, out: g.out} // buffered: never blocks
	}
	var santa chan chanBatch // Santa's pending request, if any
	for {
		select {
		case r := <-c.joins:
			if g := gs[r.k]; g.joined < g.n {
				admit(g, r)
			} else {
				g.queue = append(g.queue, r)
			}
		case santa = <-c.santas:
		case <-ctx.Done():
			return
		}
		if santa == nil {
			continue
		}
		// Priority: the decision reads both counts in this one goroutine.
		rFull, eFull := gs[0].joined == gs[0].n, gs[1].joined == gs[1].n
		k := 0
		switch {
		case rFull:
		case eFull:
			k = 1
		default:
			continue
		}
		g := gs[k]
		c.log(0, Event{Actor: SantaActor, Ev: EvChoose, Kind: g.kind, Gen: g.gen,
			RJoined: gs[0].joined, EReady: eFull, Contested: rFull && eFull})
		santa <- chanBatch{k: k, gen: g.gen, in: g.in, out: g.out} // buffered
		santa = nil
		g.gen, g.joined = g.gen+1, 0
		g.in, g.out = newChanGate(g.n), newChanGate(g.n)
		for len(g.queue) > 0 && g.joined < g.n {
			admit(g, g.queue[0])
			g.queue = g.queue[1:]
		}
	}
}

func (c *chanRun) helper(ctx context.Context, li, k int, kind, name string) {
	rng := c.rng(li)
	reply := make(chan chanTicket, 1)
	ev := func(ev string, gen int) Event { return Event{Actor: name, Ev: ev, Kind: kind, Gen: gen} }
	for sleep(ctx, c.cfg.Vacation.draw(rng)) {
		var t chanTicket
		select {
		case c.joins <- joinReq{k: k, li: li, actor: name, reply: reply}:
		case <-ctx.Done():
			return
		}
		select {
		case t = <-reply:
		case <-ctx.Done():
			return
		}
		for _, step := range []struct {
			g    *chanGate
			ev   string
			work bool
		}{{t.in, EvEnter, true}, {t.out, EvLeave, false}} {
			select {
			case <-step.g.open:
			case <-ctx.Done():
				return
			}
			c.log(li, ev(step.ev, t.gen))
			step.g.done <- struct{}{}
			if step.work {
				if !sleep(ctx, c.cfg.Work.draw(rng)) {
					return
				}
				c.log(li, ev(EvWork, t.gen))
			}
		}
	}
}

func (c *chanRun) santa(ctx context.Context) bool {
	rng := c.rng(0)
	reply := make(chan chanBatch, 1)
	kinds := [2]string{KindReindeer, KindElves}
	for range c.cfg.Rounds {
		select {
		case c.santas <- reply:
		case <-ctx.Done():
			return false
		}
		var b chanBatch
		select {
		case b = <-reply:
		case <-ctx.Done():
			return false
		}
		if !sleep(ctx, c.cfg.Santa.draw(rng)) {
			return false
		}
		ev := func(ev string) Event { return Event{Actor: SantaActor, Ev: ev, Kind: kinds[b.k], Gen: b.gen} }
		for _, g := range []struct {
			gate          *chanGate
			evOpen, evAll string
		}{{b.in, EvOpenIn, EvAllIn}, {b.out, EvOpenOut, EvAllOut}} {
			c.log(0, ev(g.evOpen))
			close(g.gate.open)
			for range cap(g.gate.done) {
				select {
				case <-g.gate.done:
				case <-ctx.Done():
					return false
				}
			}
			c.log(0, ev(g.evAll))
		}
		c.sessionDone()
	}
	return true
}
