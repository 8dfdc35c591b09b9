package santa

import (
	"context"

	"gostm.dev/stm"
)

// A Group collects helpers n at a time. Each full generation is handed to
// Santa by [Group.Await] together with the pair of gates its members were
// given, and the next generation gets new gates: with gates shared between
// generations, a member of the next generation could take a pass meant for
// this one (the shared-gates variant of [Run] shows that).
type Group struct {
	n      int
	shared bool // reuse the gates across generations (a broken variant)
	st     *stm.Var[groupState]
}

// groupState is replaced whole on every change, never mutated.
type groupState struct {
	gen     int // current generation, from 1
	joined  int // members of gen so far
	in, out *Gate
}

// A Ticket is what [Group.Join] gives a member: its generation, its slot
// in it (1 to n, in join order), and the gates it must pass to enter
// Santa's presence and to leave.
type Ticket struct {
	Gen, Slot int
	In, Out   *Gate
}

// A Batch is what [Group.Await] gives Santa: the generation he takes and
// the gates he must operate for it.
type Batch struct {
	Gen     int
	In, Out *Gate
}

// NewGroup returns an empty group of n (generation 1). It panics if n < 1.
func NewGroup(n int) *Group {
	return newGroup(n, false)
}

func newGroup(n int, shared bool) *Group {
	if n < 1 {
		panic("santa: NewGroup needs n >= 1")
	}
	return &Group{n: n, shared: shared, st: stm.NewVar(groupState{gen: 1, in: NewGate(n), out: NewGate(n)})}
}

// Size returns n, the number of members of each generation.
func (g *Group) Size() int { return g.n }

// Join blocks while the current generation is full (until Santa takes it
// with Await) and then joins it.
func (g *Group) Join() Ticket {
	t, _ := g.JoinContext(context.Background())
	return t
}

// JoinContext is Join that gives up, returning ctx.Err(), when ctx ends.
func (g *Group) JoinContext(ctx context.Context) (Ticket, error) {
	var t Ticket
	err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		t = g.join(tx)
		return nil
	})
	return t, err
}

func (g *Group) join(tx *stm.Tx) Ticket {
	s := g.st.Get(tx)
	tx.Check(s.joined < g.n)
	s.joined++
	g.st.Set(tx, s)
	return Ticket{Gen: s.gen, Slot: s.joined, In: s.in, Out: s.out}
}

// Await is a transaction fragment: it retries until the current generation
// is full, then starts the next generation with fresh gates and returns the
// full one. Being a fragment rather than a transaction is what lets Santa
// put two Awaits in one [stm.OrElse] and wait for whichever fills first.
//
// The fresh gates are allocated inside the transaction; an attempt that
// does not commit just leaves them to the garbage collector, since nothing
// outside the transaction can have seen them.
func (g *Group) Await(tx *stm.Tx) Batch {
	s := g.st.Get(tx)
	tx.Check(s.joined == g.n)
	next := groupState{gen: s.gen + 1, in: s.in, out: s.out}
	if !g.shared {
		next.in, next.out = NewGate(g.n), NewGate(g.n)
	}
	g.st.Set(tx, next)
	return Batch{Gen: s.gen, In: s.in, Out: s.out}
}

// peek returns the group's state as tx sees it, for Santa's report of what
// he saw when he chose.
func (g *Group) peek(tx *stm.Tx) groupState { return g.st.Get(tx) }

// Choose is Santa's choice as a transaction fragment: it takes the first
// of groups, in priority order, whose current generation is full, and
// returns its index and batch. If none is full it retries, and the
// enclosing transaction wakes when any of the groups changes, because
// OrElse keeps the reads of every alternative that retried.
func Choose(tx *stm.Tx, groups ...*Group) (int, Batch) {
	type choice struct {
		i int
		b Batch
	}
	if len(groups) == 0 {
		panic("santa: Choose needs at least one group")
	}
	alts := make([]func(*stm.Tx) choice, len(groups))
	for i, g := range groups {
		alts[i] = func(tx *stm.Tx) choice { return choice{i, g.Await(tx)} }
	}
	c := stm.OrElse(tx, alts[0], alts[1:]...)
	return c.i, c.b
}
