package santa

import (
	"context"

	"gostm.dev/stm"
)

// A Gate lets exactly n helpers through each time Santa operates it.
//
// A new Gate is closed. [Gate.Operate] opens it for n passes and returns
// once all n have passed, so Santa knows the whole group is through;
// [Gate.Pass] blocks until the gate is open and takes one of its passes.
type Gate struct {
	n  int
	st *stm.Var[gateState]
}

// gateState is one immutable value so that a pass reads the count and the
// tag together.
type gateState struct {
	left int // passes still available; 0 means closed or used up
	tag  int // which opening the passes belong to (a generation, for traces)
}

// NewGate returns a closed gate for groups of n. It panics if n < 1.
func NewGate(n int) *Gate {
	if n < 1 {
		panic("santa: NewGate needs n >= 1")
	}
	return &Gate{n: n, st: stm.NewVar(gateState{})}
}

// Pass blocks until the gate is open and has a pass left, and takes it.
func (g *Gate) Pass() {
	_ = g.PassContext(context.Background())
}

// PassContext is Pass that gives up, returning ctx.Err(), when ctx ends.
func (g *Gate) PassContext(ctx context.Context) error {
	return stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		g.pass(tx)
		return nil
	})
}

// Operate opens the gate for n passes and waits until all n have been
// taken.
//
// It is two transactions on purpose: the wait retries until the count is
// back to 0, and a Retry discards the transaction's own writes, so opening
// and waiting in one transaction would throw away the opening and block
// forever (see operateOneTx in the tests).
func (g *Gate) Operate() {
	_ = g.OperateContext(context.Background())
}

// OperateContext is Operate that gives up, returning ctx.Err(), when ctx
// ends. The gate may then be left open with passes unused.
func (g *Gate) OperateContext(ctx context.Context) error {
	if err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		g.open(tx, g.st.Get(tx).tag+1)
		return nil
	}); err != nil {
		return err
	}
	return stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		g.waitUsed(tx)
		return nil
	})
}

// pass takes one pass, retrying while there is none, and returns the tag
// of the opening it belonged to.
func (g *Gate) pass(tx *stm.Tx) int {
	s := g.st.Get(tx)
	tx.Check(s.left > 0)
	g.st.Set(tx, gateState{left: s.left - 1, tag: s.tag})
	return s.tag
}

// open makes n passes available, labelled tag.
func (g *Gate) open(tx *stm.Tx, tag int) {
	g.st.Set(tx, gateState{left: g.n, tag: tag})
}

// waitUsed retries until every pass of the last opening has been taken.
func (g *Gate) waitUsed(tx *stm.Tx) {
	tx.Check(g.st.Get(tx).left == 0)
}
