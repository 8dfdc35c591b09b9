package santa

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// CheckOptions tunes [Check].
type CheckOptions struct {
	// MaxIdle is S8's bound on how long Santa may stay idle while a group
	// is ready (1s). It is deliberately generous: S8 is reported as a
	// measurement, and only a Santa that ignores a full group fails it.
	MaxIdle time.Duration
}

// A Property is the verdict on one of S1 to S9.
type Property struct {
	ID   string // "S1" … "S9"
	Name string // what it means, in a few words
	// Skipped is set when the trace cannot show the property: the
	// ordering properties need the exact order (Event.Seq).
	Skipped bool
	// Violations counts the violations found; the first is Example.
	Violations int
	Example    *Counterexample
	// Note says what was checked or measured, for a PASS line.
	Note string
}

// Passed reports whether the property was checked and held.
func (p Property) Passed() bool { return !p.Skipped && p.Violations == 0 }

// A Counterexample is the first event at which a property failed.
type Counterexample struct {
	Seq    int64 // the event's Seq, or 0 without exact order
	T      time.Duration
	Actor  string
	Detail string // what was wrong, naming the other events involved
}

// String gives the event's place (#seq, or +time without exact order),
// its actor and the detail.
func (c *Counterexample) String() string {
	at := fmt.Sprintf("+%v", c.T)
	if c.Seq > 0 {
		at = fmt.Sprintf("#%06d", c.Seq)
	}
	return fmt.Sprintf("%s %s: %s", at, c.Actor, c.Detail)
}

// A Session is one of Santa's sessions, for the timeline.
type Session struct {
	Index     int // from 1
	Kind      string
	Gen       int
	Members   []string // in slot order
	Contested bool     // the other group was full too when Santa chose
	// FillToChoose is how long the group was full while Santa was free
	// and had not chosen it yet (S8's measure).
	FillToChoose time.Duration
	ChooseSeq    int64
	Complete     bool // Santa logged all_out
}

// MinMax is the fewest and most sessions any one helper of a kind had.
type MinMax struct {
	Min, Max           int
	MinActor, MaxActor string
}

// Result is what [Check] found.
type Result struct {
	Properties []Property // S1 to S9, in order
	Sessions   []Session
	// Contested counts the choices made while both groups were ready
	// (recomputed from joins; every one must go to the reindeer).
	Contested int
	// MaxIdle and MeanIdle summarise Session.FillToChoose.
	MaxIdle, MeanIdle time.Duration
	// Fairness: sessions per elf and per reindeer (report only: STM
	// wake-ups are not FIFO, so an elf can be overtaken without bound).
	Elves, Reindeer MinMax
	Stalled         bool // the run's watchdog fired
	Ordered         bool // the trace had exact order (Seq)
}

// OK reports whether no property failed. Skipped properties do not count.
func (r Result) OK() bool { return len(r.Failed()) == 0 }

// Failed returns the IDs of the properties that failed.
func (r Result) Failed() []string {
	var ids []string
	for _, p := range r.Properties {
		if p.Violations > 0 {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// Property returns the verdict on id ("S1" … "S9"); ok is false for an
// unknown id.
func (r Result) Property(id string) (p Property, ok bool) {
	for _, p := range r.Properties {
		if p.ID == id {
			return p, true
		}
	}
	return Property{}, false
}

var propNames = [...]string{
	"group size and distinct members",
	"all reindeer on every trip",
	"Santa does one thing at a time",
	"the group acts together",
	"no sneaking in",
	"one group per helper",
	"reindeer priority",
	"Santa never idle while a group is ready",
	"progress",
}

type gkey struct {
	kind string
	gen  int
}

func (k gkey) String() string {
	if k.kind == KindReindeer {
		return fmt.Sprintf("R#%d", k.gen)
	}
	return fmt.Sprintf("E#%d", k.gen)
}

type genInfo struct {
	joins                []Event
	slots                map[int]bool
	members              map[string]bool
	enters, works, leave []Event
	chosen, allOut       bool
	openIn, openOut      bool
	fill                 *Event // the n-th join
}

// helperState is where a helper is in its (join enter work leave) cycle.
type helperState struct {
	next   int  // index into helperCycle of the event expected next
	member gkey // the generation it last joined
	joined bool
}

var helperCycle = [...]string{EvJoin, EvEnter, EvWork, EvLeave}

var santaCycle = [...]string{EvChoose, EvOpenIn, EvAllIn, EvOpenOut, EvAllOut}

// checker is one run of Check.
type checker struct {
	tr      Trace
	ordered bool
	props   [9]Property
	size    map[string]int // group size by kind
	gens    map[gkey]*genInfo
}

func (c *checker) gen(k gkey) *genInfo {
	g := c.gens[k]
	if g == nil {
		g = &genInfo{slots: map[int]bool{}, members: map[string]bool{}}
		c.gens[k] = g
	}
	return g
}

// fail records a violation of property n (1-based) at e.
func (c *checker) fail(n int, e Event, format string, args ...any) {
	p := &c.props[n-1]
	p.Violations++
	if p.Example == nil {
		p.Example = &Counterexample{Seq: e.Seq, T: e.T, Actor: e.Actor, Detail: fmt.Sprintf(format, args...)}
	}
}

func at(e Event) string {
	if e.Seq > 0 {
		return fmt.Sprintf("#%06d", e.Seq)
	}
	return fmt.Sprintf("+%v", e.T)
}

// Check checks a trace against S1 to S9 and measures S8, contested choices
// and fairness. It trusts nothing Santa reports about the groups: readiness
// is recomputed from the join events. Without exact order (events with no
// Seq), S4 and S7 are skipped, since cross-actor order is then unknown.
func Check(tr Trace, opt CheckOptions) Result {
	if opt.MaxIdle <= 0 {
		opt.MaxIdle = time.Second
	}
	m := tr.Meta
	if m.Reindeer == 0 {
		m.Reindeer = DefaultReindeer
	}
	if m.Elves == 0 {
		m.Elves = DefaultElves
	}
	if m.GroupSize == 0 {
		m.GroupSize = DefaultGroupSize
	}
	tr.Meta = m
	c := &checker{tr: tr, size: map[string]int{KindReindeer: m.Reindeer, KindElves: m.GroupSize}, gens: map[gkey]*genInfo{}}
	for i := range c.props {
		c.props[i].ID, c.props[i].Name = fmt.Sprintf("S%d", i+1), propNames[i]
	}
	events := slices.Clone(tr.Events)
	c.ordered = len(events) > 0
	for _, e := range events {
		if e.Seq <= 0 {
			c.ordered = false
		}
	}
	if c.ordered {
		slices.SortStableFunc(events, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	} else {
		slices.SortStableFunc(events, func(a, b Event) int { return cmp.Compare(a.T, b.T) })
	}
	res := Result{Stalled: m.Stalled, Ordered: c.ordered}

	helpers := map[string]*helperState{}
	santaNext := 0
	var cur *gkey // the session in progress or last finished
	lastChosen := map[string]int{}
	var freeAt time.Duration // when Santa last finished a session
	var idleSum time.Duration
	completed := 0

	for i, e := range events {
		if c.ordered && i > 0 && e.Seq == events[i-1].Seq {
			c.fail(3, e, "seq %d appears twice: the trace has no single order", e.Seq)
		}
		k := gkey{e.Kind, e.Gen}
		n, knownKind := c.size[e.Kind]
		if !knownKind {
			c.fail(1, e, "%s has unknown kind %q", e.Ev, e.Kind)
			continue
		}
		g := c.gen(k)
		if e.Actor == SantaActor {
			// S3: Santa's own events follow choose open_in all_in open_out
			// all_out, all about one generation per session.
			want := santaCycle[santaNext]
			switch {
			case e.Ev != want:
				c.fail(3, e, "Santa's %s %v where his %s was due (session %d)", e.Ev, k, want, len(res.Sessions))
			case e.Ev != EvChoose && cur != nil && *cur != k:
				c.fail(3, e, "Santa's %s %v in the middle of session %v", e.Ev, k, *cur)
			}
			if idx := slices.Index(santaCycle[:], e.Ev); idx >= 0 {
				santaNext = (idx + 1) % len(santaCycle)
			}
			switch e.Ev {
			case EvChoose:
				c.choose(e, k, g, n, cur, lastChosen)
				if want := lastChosen[e.Kind] + 1; e.Gen != want {
					c.fail(3, e, "Santa chose %v but %v was the next %s generation", k, gkey{e.Kind, want}, e.Kind)
				}
				lastChosen[e.Kind] = e.Gen
				g.chosen = true
				cur = &k
				s := Session{Index: len(res.Sessions) + 1, Kind: e.Kind, Gen: e.Gen, ChooseSeq: e.Seq}
				for _, j := range g.joins {
					s.Members = append(s.Members, j.Actor)
				}
				if g.fill != nil {
					s.FillToChoose = max(0, e.T-max(g.fill.T, freeAt))
					idleSum += s.FillToChoose
					res.MaxIdle = max(res.MaxIdle, s.FillToChoose)
					if s.FillToChoose > opt.MaxIdle {
						c.fail(8, e, "%v was full at %s and Santa was free, but he chose it only %v later (bound %v)",
							k, at(*g.fill), s.FillToChoose, opt.MaxIdle)
					}
				}
				s.Contested = c.contested(e, lastChosen)
				if s.Contested {
					res.Contested++
				}
				res.Sessions = append(res.Sessions, s)
			case EvOpenIn:
				g.openIn = true
			case EvAllIn:
				if c.ordered && len(g.enters) != n {
					c.fail(4, e, "all_in %v after %d of %d enters", k, len(g.enters), n)
				}
			case EvOpenOut:
				g.openOut = true
			case EvAllOut:
				if c.ordered && len(g.works) != n {
					c.fail(4, e, "all_out %v while %d of %d members had not finished working", k, n-len(g.works), n)
				}
				g.allOut = true
				completed++
				freeAt = e.T
				if len(res.Sessions) > 0 && res.Sessions[len(res.Sessions)-1].Kind == e.Kind &&
					res.Sessions[len(res.Sessions)-1].Gen == e.Gen {
					res.Sessions[len(res.Sessions)-1].Complete = true
				}
			}
			continue
		}

		// A helper's event. S6: each helper cycles join enter work leave.
		h := helpers[e.Actor]
		if h == nil {
			h = &helperState{}
			helpers[e.Actor] = h
		}
		idx := slices.Index(helperCycle[:], e.Ev)
		if idx < 0 {
			c.fail(6, e, "helper %s logged Santa's event %s", e.Actor, e.Ev)
			continue
		}
		if idx != h.next {
			c.fail(6, e, "%s %s %v where its %s was due", e.Actor, e.Ev, k, helperCycle[h.next])
		}
		h.next = (idx + 1) % len(helperCycle)
		notMember := func() string {
			if !h.joined {
				return "who never joined"
			}
			return "a member of " + h.member.String()
		}
		switch e.Ev {
		case EvJoin:
			h.member, h.joined = k, true
			if e.Slot < 1 || e.Slot > n {
				c.fail(1, e, "join %v slot %d of %d", k, e.Slot, n)
			} else if g.slots[e.Slot] {
				c.fail(1, e, "join %v slot %d, a slot already taken", k, e.Slot)
			}
			if g.members[e.Actor] {
				c.fail(1, e, "%s joined %v twice", e.Actor, k)
			}
			if len(g.joins) >= n {
				c.fail(1, e, "join %v: a member beyond its %d", k, n)
			}
			if c.ordered && g.chosen {
				c.fail(5, e, "join %v after Santa had taken it", k)
			}
			g.slots[e.Slot], g.members[e.Actor] = true, true
			g.joins = append(g.joins, e)
			if len(g.joins) == n {
				g.fill = &g.joins[n-1]
			}
		case EvEnter:
			if !h.joined || h.member != k {
				c.fail(5, e, "enter %v by %s, %s", k, e.Actor, notMember())
			}
			if len(g.enters) >= n {
				c.fail(5, e, "enter %v: more than %d enters", k, n)
			}
			if c.ordered && !g.openIn {
				c.fail(4, e, "enter %v before Santa opened its in-gate", k)
			}
			g.enters = append(g.enters, e)
		case EvWork:
			if c.ordered && g.allOut {
				c.fail(4, e, "%s finished working in %v after Santa's all_out", e.Actor, k)
			}
			g.works = append(g.works, e)
		case EvLeave:
			if !h.joined || h.member != k {
				c.fail(5, e, "leave %v by %s, %s", k, e.Actor, notMember())
			}
			if len(g.leave) >= n {
				c.fail(5, e, "leave %v: more than %d leaves", k, n)
			}
			if c.ordered && !g.openOut {
				c.fail(4, e, "leave %v before Santa opened its out-gate", k)
			}
			g.leave = append(g.leave, e)
		}
	}

	// Order-independent checks over the whole trace.
	allReindeer := make([]string, m.Reindeer)
	for i := range allReindeer {
		allReindeer[i] = actorName(KindReindeer, i+1)
	}
	perActor := map[string]int{}
	for _, s := range res.Sessions {
		k := gkey{s.Kind, s.Gen}
		g, n := c.gens[k], c.size[s.Kind]
		last := Event{Actor: SantaActor, Seq: s.ChooseSeq}
		if len(g.joins) != n {
			c.fail(1, last, "session %v had %d members, not %d", k, len(g.joins), n)
		}
		if s.Kind == KindReindeer {
			got := slices.Sorted(maps.Keys(g.members))
			want := slices.Sorted(slices.Values(allReindeer))
			if !slices.Equal(got, want) {
				c.fail(2, last, "trip %v took %s, not all %d reindeer", k, strings.Join(got, " "), m.Reindeer)
			}
		}
		if s.Complete {
			if len(g.enters) != n || len(g.leave) != n {
				c.fail(5, last, "session %v: %d enters and %d leaves, not %d of each", k, len(g.enters), len(g.leave), n)
			}
			for _, a := range s.Members {
				perActor[a]++
			}
		}
	}
	res.Elves = fairness(perActor, KindElves, m.Elves)
	res.Reindeer = fairness(perActor, KindReindeer, m.Reindeer)
	if len(res.Sessions) > 0 {
		res.MeanIdle = idleSum / time.Duration(len(res.Sessions))
	}

	last := Event{Actor: SantaActor}
	if len(events) > 0 {
		last = events[len(events)-1]
	}
	switch {
	case m.Stalled:
		c.fail(9, last, "the watchdog fired: no session finished for %v; %d of %d sessions done", m.Watchdog, completed, m.Rounds)
	case completed < m.Rounds:
		c.fail(9, last, "the trace ends after %d of %d sessions", completed, m.Rounds)
	}

	if !c.ordered {
		for _, i := range []int{4, 7} {
			c.props[i-1].Skipped = true
			c.props[i-1].Note = "needs the exact order (seq); the trace has none"
		}
	}
	c.props[0].Note = fmt.Sprintf("%d sessions, every slot used once by distinct members", len(res.Sessions))
	c.props[1].Note = fmt.Sprintf("every trip took all %d reindeer", m.Reindeer)
	c.props[2].Note = "choose, open_in, all_in, open_out, all_out, session after session"
	c.props[3].Note = "every enter after open_in, all_in after every enter, every work before all_out, every leave before the next choose"
	c.props[4].Note = "exactly n enters and leaves per session, all by its members"
	c.props[5].Note = fmt.Sprintf("%d helpers, each cycling join enter work leave", len(helpers))
	c.props[6].Note = fmt.Sprintf("%d contested choices, all to the reindeer", res.Contested)
	c.props[7].Note = fmt.Sprintf("fill→choose max %v, mean %v (bound %v)", res.MaxIdle, res.MeanIdle, opt.MaxIdle)
	c.props[8].Note = fmt.Sprintf("%d of %d sessions finished", completed, m.Rounds)
	res.Properties = c.props[:]
	return res
}

// choose checks Santa's choice of k against the join counts so far: the
// group must be full, the previous session's members must all have left
// (S4), and a full reindeer generation must win (S7).
func (c *checker) choose(e Event, k gkey, g *genInfo, n int, prev *gkey, lastChosen map[string]int) {
	if !c.ordered {
		return
	}
	if len(g.joins) != n {
		c.fail(1, e, "Santa chose %v with %d of %d joined", k, len(g.joins), n)
	}
	if prev != nil {
		if p := c.gens[*prev]; len(p.leave) != c.size[prev.kind] {
			c.fail(4, e, "choose %v while %d of %v's members had not left", k, c.size[prev.kind]-len(p.leave), *prev)
		}
	}
	if k.kind == KindElves {
		r := gkey{KindReindeer, lastChosen[KindReindeer] + 1}
		if g := c.gens[r]; g != nil && len(g.joins) == c.size[KindReindeer] {
			c.fail(7, e, "Santa chose %v while %v was full (since %s)", k, r, at(*g.fill))
		}
	}
}

// contested reports whether, when Santa made choice e (lastChosen not yet
// updated for it), the other kind's current generation was full too.
func (c *checker) contested(e Event, lastChosen map[string]int) bool {
	if !c.ordered {
		return false
	}
	other := KindElves
	if e.Kind == KindElves {
		other = KindReindeer
	}
	g := c.gens[gkey{other, lastChosen[other] + 1}]
	return g != nil && len(g.joins) == c.size[other]
}

func fairness(per map[string]int, kind string, n int) MinMax {
	var mm MinMax
	for i := 1; i <= n; i++ {
		a := actorName(kind, i)
		v := per[a]
		if i == 1 || v < mm.Min {
			mm.Min, mm.MinActor = v, a
		}
		if i == 1 || v > mm.Max {
			mm.Max, mm.MaxActor = v, a
		}
	}
	return mm
}
