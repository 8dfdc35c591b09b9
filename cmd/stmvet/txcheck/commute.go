package txcheck

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
)

// commuteRuns says why a function passed to Var.Commute must do nothing
// but compute its result. The engine applies it when the transaction
// commits, after the body has returned, while it holds the Var's lock; or,
// if the body later reads the Var, at that read instead (once per attempt),
// so it may never run at commit at all.
const commuteRuns = "it runs at commit, under the Var's lock, or not at all there if a later Get of the Var in the transaction turns the commute into an ordinary read, so it must be a short, pure function of its argument"

// commuteCheck is what checking one function passed to Var.Commute keeps.
type commuteCheck struct {
	// collect is set for a function declared away from the Commute call
	// (a named function, a method value, a variable): what it does wrong
	// is reported once, at the call, so found keeps the first finding
	// instead of reporting each where it is.
	collect bool
	found   string
	// stmCalls holds the stm calls reported: the Tx they are given is
	// not reported again.
	stmCalls []*ast.CallExpr
}

// checkCommute reports what f, the function passed to Var.Commute, must
// not do: use a *stm.Tx, call stm (any function, any Var method), do what a
// body must not do (I/O, channels, locks, goroutines, sleeping), assign to
// variables declared outside it, or change its argument in place, which is
// the Var's committed value and shared with every reader.
//
// A function literal is checked where it is written. A named function or
// method value, or a variable assigned only function literals, is checked
// through its code when this package declares it, through its facts when
// another package does, and reported at the call.
func (c *checker) checkCommute(f ast.Expr) {
	if lit, ok := ast.Unparen(f).(*ast.FuncLit); ok {
		c.checkCommuteCode(lit, lit.Type, lit.Body, false)
		return
	}
	if name, found := c.commuteFinding(f); found != "" {
		c.report(f.Pos(), "%s passed to Var.Commute is not a pure function (%s): %s; move that out of it", name, found, commuteRuns)
	}
}

// commuteFinding returns the name of the function f is, if it can be
// resolved, and the first thing it does that a function passed to
// Var.Commute must not do ("" if none).
func (c *checker) commuteFinding(f ast.Expr) (name, found string) {
	x := ast.Unparen(f)
	switch e := x.(type) { // an explicit instantiation: F[T]
	case *ast.IndexExpr:
		x = e.X
	case *ast.IndexListExpr:
		x = e.X
	}
	id := identOf(x)
	if id == nil {
		return "", ""
	}
	switch o := c.pass.TypesInfo.Uses[id].(type) {
	case *types.Func:
		fn := o.Origin()
		name = funcName(fn)
		if fn.Pkg() != nil && fn.Pkg().Path() == stmPath {
			return name, name
		}
		if d := c.code.decls[fn]; d != nil {
			if c.isBody(d.Type) {
				return name, ""
			}
			return name, c.checkCommuteCode(d, d.Type, d.Body, true)
		}
		tx, io, _ := c.calleeEffects(fn)
		return name, chainIf(fn, cmp.Or(tx, io))
	case *types.Var:
		for _, v := range c.code.values[o] {
			lit, ok := ast.Unparen(v).(*ast.FuncLit)
			if !ok || c.isBody(lit.Type) {
				continue
			}
			if found := c.checkCommuteCode(lit, lit.Type, lit.Body, true); found != "" {
				return id.Name, found
			}
		}
	}
	return "", ""
}

// checkCommuteCode walks the code of a function passed to Var.Commute, fn
// (a FuncLit or FuncDecl) with type ft, with the body checks in commute
// mode. With collect it reports nothing and returns the first finding.
func (c *checker) checkCommuteCode(fn ast.Node, ft *ast.FuncType, body *ast.BlockStmt, collect bool) string {
	b := &bodyChecker{
		walker:  walker{c: c, fn: fn, skip: map[ast.Node]bool{}},
		taint:   newTaintedValues(),
		commute: &commuteCheck{collect: collect},
	}
	// The argument is the Var's latest committed value, which every
	// transaction and View reading the Var shares.
	if ft.Params != nil && len(ft.Params.List) == 1 && len(ft.Params.List[0].Names) == 1 {
		b.taint.set(b.localVar(ft.Params.List[0].Names[0]), true)
	}
	ast.Inspect(body, b.visit)
	return b.commute.found
}

// commuteReport reports, in a function passed to Var.Commute, what it
// does wrong (a short phrase) with msg, or keeps what for the call.
func (b *bodyChecker) commuteReport(pos token.Pos, what, msg string) {
	if cc := b.commute; cc.collect {
		if cc.found == "" {
			cc.found = what
		}
		return
	}
	b.c.report(pos, "%s", msg)
}

// commuteStmCall reports a call of fn, a function or method of stm, in a
// function passed to Var.Commute.
func (b *bodyChecker) commuteStmCall(call *ast.CallExpr, fn *types.Func) {
	b.commute.stmCalls = append(b.commute.stmCalls, call)
	name := funcName(fn)
	b.commuteReport(call.Pos(), name, name+" in a function passed to Var.Commute: "+commuteRuns+
		"; it must not use Vars or transactions: read what it needs in the body and capture the values")
}

// checkTxUse reports, in a function passed to Var.Commute, an identifier
// of type *stm.Tx (the body's tx captured, or one reached otherwise) that
// no reported stm call was given.
func (b *bodyChecker) checkTxUse(id *ast.Ident) {
	if b.commute == nil {
		return
	}
	v, ok := b.c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || !isTx(v.Type()) {
		return
	}
	for _, call := range b.commute.stmCalls {
		if id.Pos() >= call.Pos() && id.End() <= call.End() {
			return
		}
	}
	b.commuteReport(id.Pos(), "use of "+id.Name, id.Name+" used in a function passed to Var.Commute: "+commuteRuns+
		"; a Tx is not valid there: read what it needs in the body and capture the values")
}

// checkOuterWrite reports, in a function passed to Var.Commute, an
// assignment to a variable declared outside it: a side effect that happens
// at commit, or once per attempt, or never.
func (b *bodyChecker) checkOuterWrite(lhs ast.Expr) {
	if b.commute == nil {
		return
	}
	id, ok := ast.Unparen(lhs).(*ast.Ident)
	if !ok {
		return
	}
	if where := b.outlives(id); where != "" {
		b.commuteReport(id.Pos(), "assignment to "+where, "assignment to "+where+" in a function passed to Var.Commute: "+commuteRuns+
			"; return the result instead of storing it")
	}
}

// commuteWrite reports, in a function passed to Var.Commute, what (a
// write, an append, a delete ...) that changes its argument in place.
func (b *bodyChecker) commuteWrite(pos token.Pos, what string) {
	b.commuteReport(pos, what, what+" changes the argument of a function passed to Var.Commute, the Var's committed value, "+
		"which other transactions and Views may be reading: change a copy (slices.Clone, maps.Clone, a new struct) and return it")
}
