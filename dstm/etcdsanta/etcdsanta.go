// Package etcdsanta runs the Santa Claus problem of package santa on etcd
// through dstm transactions, and checks its trace with santa.Check (S1 to
// S9), as the in-memory run does.
//
// The solution is the in-memory one with named keys in place of anonymous
// Vars: a group is one key holding its generation and how many have joined,
// and the gates of generation g are the keys ".../gate/<kind>/<g>/in" and
// ".../out", which read as closed until Santa opens them. Nothing is created
// inside a transaction, and a late member of generation g can only ever
// pass generation g's gates. Santa's choice is one transaction: dstm.OrElse
// of the reindeer group's Await and the elves', reindeer first.
package etcdsanta

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gostm.dev/dstm"
	"gostm.dev/santa"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Prefix is the key prefix of a run's state; Run clears it before and after.
const Prefix = "stmbench/santa/"

// Variant is the variant name the run's trace and report carry.
const Variant santa.Variant = "etcd-dstm"

// Defaults that differ from package santa's: a commit on etcd takes about a
// millisecond, and every logged event takes a sequence number from one key,
// so a session takes tens of milliseconds.
const (
	DefaultRounds   = 20
	DefaultWatchdog = 30 * time.Second
)

type groupState struct {
	Gen    int `json:"gen"`
	Joined int `json:"joined"`
}

type gateState struct {
	Left int `json:"left"` // passes still available; 0: closed or used up
	Tag  int `json:"tag"`  // the generation it was opened for
}

// run is one run's shared state.
type run struct {
	c        *dstm.Client
	cfg      santa.Config
	start    time.Time
	seq      *dstm.Var[int64]
	groups   map[string]*dstm.Var[groupState]
	sizes    map[string]int
	logs     [][]santa.Event // one per actor, appended only by its goroutine
	sessions atomic.Int64
}

// gate returns the gate of a kind's generation.
func (r *run) gate(kind string, gen int, which string) *dstm.Var[gateState] {
	return dstm.NewVar(fmt.Sprintf("%sgate/%s/%d/%s", Prefix, kind, gen, which), gateState{})
}

// Run runs the problem with c's cluster holding the state and returns the
// checked report. cfg's zero fields take package santa's defaults, except
// Rounds (DefaultRounds) and Watchdog (DefaultWatchdog); cfg.Variant must be
// empty or santa.VariantSTM, and NoSeq is not supported (the ordering
// properties need the exact order). It returns an error for an invalid cfg
// or one from etcd; a stalled run is a report whose S9 failed.
func Run(ctx context.Context, c *dstm.Client, cfg santa.Config) (santa.Report, error) {
	if cfg.Variant != "" && cfg.Variant != santa.VariantSTM {
		return santa.Report{}, &santa.ConfigError{Field: "Variant", Value: cfg.Variant, Reason: "only the STM solution runs on etcd"}
	}
	if cfg.NoSeq {
		return santa.Report{}, &santa.ConfigError{Field: "NoSeq", Value: true, Reason: "the etcd run always records the exact order"}
	}
	cfg = withDefaults(cfg)
	for _, f := range []struct {
		name string
		v    int
	}{{"Reindeer", cfg.Reindeer}, {"Elves", cfg.Elves}, {"GroupSize", cfg.GroupSize}, {"Rounds", cfg.Rounds}} {
		if f.v < 1 {
			return santa.Report{}, &santa.ConfigError{Field: f.name, Value: f.v, Reason: "must be at least 1"}
		}
	}
	if cfg.GroupSize > cfg.Elves {
		return santa.Report{}, &santa.ConfigError{Field: "GroupSize", Value: cfg.GroupSize, Reason: fmt.Sprintf("must not exceed Elves (%d)", cfg.Elves)}
	}
	cli := c.Etcd()
	if _, err := cli.Delete(ctx, Prefix, clientv3.WithPrefix()); err != nil {
		return santa.Report{}, fmt.Errorf("etcdsanta: clearing %q: %w", Prefix, err)
	}
	defer cli.Delete(context.WithoutCancel(ctx), Prefix, clientv3.WithPrefix())

	r := &run{
		c: c, cfg: cfg, start: time.Now(), seq: dstm.NewVar(Prefix+"seq", int64(0)),
		groups: map[string]*dstm.Var[groupState]{
			santa.KindReindeer: dstm.NewVar(Prefix+"group/"+santa.KindReindeer, groupState{Gen: 1}),
			santa.KindElves:    dstm.NewVar(Prefix+"group/"+santa.KindElves, groupState{Gen: 1}),
		},
		sizes: map[string]int{santa.KindReindeer: cfg.Reindeer, santa.KindElves: cfg.GroupSize},
		logs:  make([][]santa.Event, 1+cfg.Reindeer+cfg.Elves),
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	fail := func(err error) {
		if err != nil && inner.Err() == nil {
			errMu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			errMu.Unlock()
			cancel()
		}
	}
	li := 1
	for _, k := range []struct {
		kind string
		n    int
		name string
	}{{santa.KindReindeer, cfg.Reindeer, "reindeer-%d"}, {santa.KindElves, cfg.Elves, "elf-%d"}} {
		for i := 1; i <= k.n; i++ {
			actor, name := li, fmt.Sprintf(k.name, i)
			wg.Go(func() { fail(r.helper(inner, actor, k.kind, name)) })
			li++
		}
	}
	done := make(chan struct{})
	wg.Go(func() {
		err := r.santa(inner)
		fail(err)
		if err == nil {
			close(done)
		}
	})
	stalled := r.watch(inner, done)
	cancel()
	wg.Wait()

	rep := santa.Report{Config: cfg, Elapsed: time.Since(r.start)}
	rep.Config.Variant = Variant
	rep.Trace = santa.Trace{Meta: santa.Meta{
		Variant: Variant, Reindeer: cfg.Reindeer, Elves: cfg.Elves, GroupSize: cfg.GroupSize,
		Rounds: cfg.Rounds, Seed: cfg.Seed, Stalled: stalled, Watchdog: cfg.Watchdog,
	}, Events: r.merge()}
	rep.Commits = len(rep.Trace.Events)
	// A commit takes milliseconds here, so Santa's idle time (S8) gets a
	// bound to match.
	rep.Result = santa.Check(rep.Trace, santa.CheckOptions{MaxIdle: 5 * time.Second})
	if firstErr != nil {
		return rep, firstErr
	}
	return rep, ctx.Err()
}

func withDefaults(c santa.Config) santa.Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Reindeer, santa.DefaultReindeer)
	def(&c.Elves, santa.DefaultElves)
	def(&c.GroupSize, santa.DefaultGroupSize)
	def(&c.Rounds, DefaultRounds)
	c.Variant = santa.VariantSTM
	if c.Vacation == (santa.Delay{}) {
		c.Vacation = santa.Delay{Max: time.Millisecond}
	}
	if c.Work == (santa.Delay{}) {
		c.Work = santa.Delay{Min: 20 * time.Microsecond, Max: 200 * time.Microsecond}
	}
	if c.Santa == (santa.Delay{}) {
		c.Santa = santa.Delay{Max: 50 * time.Microsecond}
	}
	if c.Watchdog == 0 {
		c.Watchdog = DefaultWatchdog
	}
	return c
}

// atomically runs fn as one logged transaction of actor li: the event gets
// the next sequence number in the same transaction (so Seq is the commit
// order) and is recorded once the transaction commits.
func (r *run) atomically(ctx context.Context, li int, fn func(tx *dstm.Tx) santa.Event) error {
	return dstm.Atomically(ctx, r.c, func(tx *dstm.Tx) error {
		e := fn(tx)
		e.Seq = r.seq.Get(tx) + 1
		r.seq.Set(tx, e.Seq)
		tx.AfterCommit(func() {
			e.T = time.Since(r.start)
			r.logs[li] = append(r.logs[li], e)
		})
		return nil
	})
}

// pass takes one pass of a gate, blocking while it is closed or used up,
// and returns the generation it was opened for.
func pass(tx *dstm.Tx, g *dstm.Var[gateState]) int {
	s := g.Get(tx)
	tx.Check(s.Left > 0)
	g.Set(tx, gateState{Left: s.Left - 1, Tag: s.Tag})
	return s.Tag
}

// helper is one reindeer or elf: vacation, join, in-gate, work, out-gate,
// until ctx ends. It returns an error only from etcd.
func (r *run) helper(ctx context.Context, li int, kind, name string) error {
	rng := r.rng(li)
	group, n := r.groups[kind], r.sizes[kind]
	ev := func(ev string, gen int) santa.Event { return santa.Event{Actor: name, Ev: ev, Kind: kind, Gen: gen} }
	for sleep(ctx, draw(rng, r.cfg.Vacation)) {
		var gen int
		if err := r.atomically(ctx, li, func(tx *dstm.Tx) santa.Event {
			s := group.Get(tx)
			tx.Check(s.Joined < n)
			s.Joined++
			group.Set(tx, s)
			gen = s.Gen
			e := ev(santa.EvJoin, s.Gen)
			e.Slot = s.Joined
			return e
		}); err != nil {
			return ignoreEnd(ctx, err)
		}
		var tag int
		if err := r.atomically(ctx, li, func(tx *dstm.Tx) santa.Event {
			tag = pass(tx, r.gate(kind, gen, "in"))
			return ev(santa.EvEnter, tag)
		}); err != nil {
			return ignoreEnd(ctx, err)
		}
		if !sleep(ctx, draw(rng, r.cfg.Work)) {
			return nil
		}
		if err := r.atomically(ctx, li, func(tx *dstm.Tx) santa.Event { return ev(santa.EvWork, tag) }); err != nil {
			return ignoreEnd(ctx, err)
		}
		if err := r.atomically(ctx, li, func(tx *dstm.Tx) santa.Event {
			return ev(santa.EvLeave, pass(tx, r.gate(kind, gen, "out")))
		}); err != nil {
			return ignoreEnd(ctx, err)
		}
	}
	return nil
}

// await is Group.Await: it retries until the kind's current generation is
// full, then starts the next one and returns the full one.
func (r *run) await(tx *dstm.Tx, kind string) int {
	g := r.groups[kind]
	s := g.Get(tx)
	tx.Check(s.Joined == r.sizes[kind])
	g.Set(tx, groupState{Gen: s.Gen + 1})
	return s.Gen
}

// santa runs the sessions.
func (r *run) santa(ctx context.Context) error {
	rng := r.rng(0)
	type choice struct {
		kind string
		gen  int
	}
	for range r.cfg.Rounds {
		var ch choice
		if err := r.atomically(ctx, 0, func(tx *dstm.Tx) santa.Event {
			rs, es := r.groups[santa.KindReindeer].Get(tx), r.groups[santa.KindElves].Get(tx)
			ch = dstm.OrElse(tx,
				func(tx *dstm.Tx) choice { return choice{santa.KindReindeer, r.await(tx, santa.KindReindeer)} },
				func(tx *dstm.Tx) choice { return choice{santa.KindElves, r.await(tx, santa.KindElves)} })
			rReady, eReady := rs.Joined == r.cfg.Reindeer, es.Joined == r.cfg.GroupSize
			return santa.Event{Actor: santa.SantaActor, Ev: santa.EvChoose, Kind: ch.kind, Gen: ch.gen,
				RJoined: rs.Joined, EReady: eReady, Contested: rReady && eReady}
		}); err != nil {
			return ignoreEnd(ctx, err)
		}
		if !sleep(ctx, draw(rng, r.cfg.Santa)) {
			return ctx.Err()
		}
		for _, step := range []struct {
			which, open, all string
		}{{"in", santa.EvOpenIn, santa.EvAllIn}, {"out", santa.EvOpenOut, santa.EvAllOut}} {
			g := r.gate(ch.kind, ch.gen, step.which)
			ev := func(name string) santa.Event {
				return santa.Event{Actor: santa.SantaActor, Ev: name, Kind: ch.kind, Gen: ch.gen}
			}
			// Two transactions: a Retry would discard the opening.
			if err := r.atomically(ctx, 0, func(tx *dstm.Tx) santa.Event {
				g.Set(tx, gateState{Left: r.sizes[ch.kind], Tag: ch.gen})
				return ev(step.open)
			}); err != nil {
				return ignoreEnd(ctx, err)
			}
			if err := r.atomically(ctx, 0, func(tx *dstm.Tx) santa.Event {
				tx.Check(g.Get(tx).Left == 0)
				return ev(step.all)
			}); err != nil {
				return ignoreEnd(ctx, err)
			}
		}
		r.sessions.Add(1)
	}
	return nil
}

// ignoreEnd drops the error of a transaction cut short because the run is
// ending.
func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// watch waits for Santa to finish and reports whether the watchdog fired:
// no session finished for cfg.Watchdog.
func (r *run) watch(ctx context.Context, done <-chan struct{}) bool {
	tick := time.NewTicker(r.cfg.Watchdog / 20)
	defer tick.Stop()
	last, since := r.sessions.Load(), time.Now()
	for {
		select {
		case <-done:
			return false
		case <-ctx.Done():
			return false
		case now := <-tick.C:
			if n := r.sessions.Load(); n != last {
				last, since = n, now
			} else if now.Sub(since) >= r.cfg.Watchdog {
				return true
			}
		}
	}
}

func (r *run) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(i)+1))
}

func (r *run) merge() []santa.Event {
	var all []santa.Event
	for _, l := range r.logs {
		all = append(all, l...)
	}
	slices.SortStableFunc(all, func(a, b santa.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return all
}

func draw(rng *rand.Rand, d santa.Delay) time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	return d.Min + time.Duration(rng.Int64N(int64(d.Max-d.Min)+1))
}

// sleep waits d unless ctx ends first; it reports whether ctx is live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
