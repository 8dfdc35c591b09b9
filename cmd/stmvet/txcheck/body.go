package txcheck

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// bodyChecker checks one transaction body.
type bodyChecker struct {
	walker
	isLit bool          // the body is a function literal (a Tx it returns escapes)
	stack []ast.Node    // the nodes being visited, outermost first
	taint taintedValues // values read from Vars
	// commute is set when the code checked is not a body but a function
	// passed to Var.Commute: the same operations are reported, with
	// messages that say why they do not belong there (see commute.go).
	commute *commuteCheck
}

// checkBody reports what the body fn (a FuncDecl or FuncLit) must not do.
// Nested function literals are part of the body unless they run later
// (AfterCommit callbacks, goroutines, returned or stored closures,
// functions passed to Var.Commute) or are bodies themselves: those are
// checked on their own.
func (c *checker) checkBody(fn ast.Node, body *ast.BlockStmt) {
	b := &bodyChecker{walker: walker{c: c, fn: fn, skip: map[ast.Node]bool{}}, taint: newTaintedValues()}
	_, b.isLit = fn.(*ast.FuncLit)
	ast.Inspect(body, b.visit)
}

func (b *bodyChecker) visit(n ast.Node) bool {
	if n == nil {
		b.stack = b.stack[:len(b.stack)-1]
		return false
	}
	if !b.check(n) {
		return false
	}
	b.stack = append(b.stack, n)
	return true
}

// walk visits the subtrees xs, in order.
func (b *bodyChecker) walk(xs ...ast.Expr) {
	for _, x := range xs {
		ast.Inspect(x, b.visit)
	}
}

// check reports what n does wrong and says whether to visit n's children.
func (b *bodyChecker) check(n ast.Node) bool {
	b.markDeferred(n)
	c := b.c
	info := c.pass.TypesInfo
	switch n := n.(type) {
	case *ast.FuncLit:
		return !b.skip[n] && !c.isBody(n.Type)
	case *ast.GoStmt:
		msg := "go statement in a transaction body: the body runs once per attempt and attempts can abort, so the goroutine could start several times or for a transaction that never commits; start it in tx.AfterCommit"
		if b.usesOuterTx(n.Call) != "" {
			msg += " (and do not give it tx: a Tx is valid only on the goroutine running the body)"
		}
		b.effect(n.Pos(), "go statement", msg)
		return false
	case *ast.SendStmt:
		if b.skip[n] {
			return true
		}
		if b.commute == nil && b.escapes(n.Value) {
			c.report(n.Pos(), "*stm.Tx sent on a channel: a Tx is valid only on the goroutine running the body, during the attempt; pass it as a parameter to helpers instead")
		} else {
			b.effect(n.Pos(), "channel send", "channel send in a transaction body: it happens once per attempt and is not rolled back; use a transactional queue (tvar.Queue, tvar.Chan) or send in tx.AfterCommit")
		}
	case *ast.UnaryExpr:
		if n.Op == token.ARROW && !b.skip[n] {
			b.effect(n.Pos(), "channel receive", "channel receive in a transaction body: it blocks the attempt and is not rolled back; to wait, read Vars and call tx.Retry or tx.Check (tvar.Chan and tvar.Queue are transactional channels)")
		}
	case *ast.SelectStmt:
		b.effect(n.Pos(), "select", "select in a transaction body: channel operations are not transactional; choose between alternatives with stm.OrElse and block with tx.Retry")
		for _, cl := range n.Body.List {
			b.skipComm(cl.(*ast.CommClause).Comm)
		}
	case *ast.RangeStmt:
		if isChan(info.TypeOf(n.X)) {
			b.effect(n.Pos(), "range over a channel", "range over a channel in a transaction body: each receive blocks the attempt and is not rolled back; use tvar.Chan or tvar.Queue, or receive outside the transaction")
		}
		b.walk(n.X)
		if n.Tok == token.DEFINE || n.Tok == token.ASSIGN {
			shared := b.shared(n.X)
			b.taint.set(b.localVar(n.Key), shared)
			b.taint.set(b.localVar(n.Value), shared)
		}
		ast.Inspect(n.Body, b.visit)
		return false
	case *ast.ReturnStmt:
		if b.isLit && b.innermostFunc() == b.fn {
			for _, r := range n.Results {
				if isTx(info.TypeOf(r)) {
					c.report(r.Pos(), "*stm.Tx returned from a transaction body: it is invalid once the transaction ends; return the values you need instead")
				} else if lit, ok := ast.Unparen(r).(*ast.FuncLit); ok && b.usesOuterTx(lit) != "" {
					c.report(r.Pos(), "function literal that uses tx returned from a transaction body: tx is invalid once the transaction ends; capture the values it needs instead")
				}
			}
		}
	case *ast.AssignStmt:
		b.assign(n)
		return false
	case *ast.IncDecStmt:
		b.checkWrite(n.X)
		b.checkOuterWrite(n.X)
	case *ast.ValueSpec:
		b.walk(n.Values...)
		if len(n.Names) == len(n.Values) {
			for i, id := range n.Names {
				b.taint.set(b.localVar(id), b.shared(n.Values[i]))
			}
		}
		return false
	case *ast.CallExpr:
		b.checkCall(n)
	case *ast.Ident:
		b.checkTxUse(n)
	}
	return true
}

// effect reports an operation that code run in a body must not do: with
// msg in a body, or as what in a function passed to Var.Commute.
func (b *bodyChecker) effect(pos token.Pos, what, msg string) {
	if b.commute != nil {
		b.commuteReport(pos, what, what+" in a function passed to Var.Commute: "+commuteRuns+"; do side effects in tx.AfterCommit")
		return
	}
	b.c.report(pos, "%s", msg)
}

// skipComm marks the channel operation of a select case, reported with
// its select.
func (b *bodyChecker) skipComm(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.SendStmt:
		b.skip[s] = true
	case *ast.ExprStmt:
		b.skip[ast.Unparen(s.X)] = true
	case *ast.AssignStmt:
		b.skip[ast.Unparen(s.Rhs[0])] = true
	}
}

// innermostFunc returns the function literal being visited, or the body.
func (b *bodyChecker) innermostFunc() ast.Node {
	for i := len(b.stack) - 1; i >= 0; i-- {
		if lit, ok := b.stack[i].(*ast.FuncLit); ok {
			return lit
		}
	}
	return b.fn
}

// usesOuterTx returns the name of a *stm.Tx variable declared outside n
// that n uses, or "".
func (b *bodyChecker) usesOuterTx(n ast.Node) string {
	var name string
	ast.Inspect(n, func(m ast.Node) bool {
		id, ok := m.(*ast.Ident)
		if !ok || name != "" {
			return name == ""
		}
		if v, ok := b.c.pass.TypesInfo.Uses[id].(*types.Var); ok && isTx(v.Type()) && (v.Pos() < n.Pos() || v.Pos() >= n.End()) {
			name = id.Name
		}
		return true
	})
	return name
}

// escapes reports whether storing or sending e lets a Tx outlive the
// attempt: e is a Tx, a function literal that uses one, or a composite
// literal or append holding either.
func (b *bodyChecker) escapes(e ast.Expr) bool {
	if isTx(b.c.pass.TypesInfo.TypeOf(e)) {
		return true
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.FuncLit:
		return b.usesOuterTx(e) != ""
	case *ast.UnaryExpr:
		return e.Op == token.AND && b.escapes(e.X)
	case *ast.CallExpr:
		if b.c.builtin(e) == "append" {
			for _, x := range e.Args[1:] {
				if b.escapes(x) {
					return true
				}
			}
		}
	case *ast.CompositeLit:
		for _, x := range e.Elts {
			if kv, ok := x.(*ast.KeyValueExpr); ok {
				x = kv.Value
			}
			if b.escapes(x) {
				return true
			}
		}
	}
	return false
}

// assign checks an assignment: a Tx stored where it outlives the body,
// writes through values read from Vars, and what the operands do; then it
// records which variables now hold values read from Vars.
func (b *bodyChecker) assign(n *ast.AssignStmt) {
	if len(n.Lhs) == len(n.Rhs) && b.commute == nil {
		for i, l := range n.Lhs {
			if where := b.outlives(l); where != "" && b.escapes(n.Rhs[i]) {
				b.c.report(n.Rhs[i].Pos(), "*stm.Tx stored in %s, which outlives the transaction: a Tx is valid only during its attempt; pass it as a parameter instead", where)
			}
		}
	}
	if n.Tok != token.DEFINE {
		for _, l := range n.Lhs {
			b.checkWrite(l)
			b.checkOuterWrite(l)
		}
	}
	b.walk(n.Rhs...)
	for _, l := range n.Lhs {
		if _, ok := ast.Unparen(l).(*ast.Ident); !ok {
			b.walk(l)
		}
	}
	switch {
	case len(n.Lhs) == len(n.Rhs):
		for i, l := range n.Lhs {
			if path := b.localField(l); path != "" {
				b.taint.setField(path, b.shared(n.Rhs[i]))
			}
			b.taint.set(b.localVar(l), b.shared(n.Rhs[i]))
		}
	case len(n.Rhs) == 1 && len(n.Lhs) == 2:
		// v, ok := m[k] and x, ok := y.(T) share like their operand.
		shared := false
		switch r := ast.Unparen(n.Rhs[0]).(type) {
		case *ast.IndexExpr, *ast.TypeAssertExpr:
			shared = b.shared(r)
		}
		b.taint.set(b.localVar(n.Lhs[0]), shared)
		b.taint.set(b.localVar(n.Lhs[1]), false)
	default:
		for _, l := range n.Lhs {
			b.taint.set(b.localVar(l), false)
		}
	}
}

// localVar returns the variable e names, or nil.
func (b *bodyChecker) localVar(e ast.Expr) *types.Var {
	id, ok := e.(*ast.Ident)
	if !ok || e == nil {
		return nil
	}
	v, _ := b.c.pass.TypesInfo.ObjectOf(id).(*types.Var)
	return v
}

// localField returns the path of e if it is a field of a local struct
// value reached without pointers (r.Items, r.In.Items), or "".
func (b *bodyChecker) localField(e ast.Expr) string {
	info := b.c.pass.TypesInfo
	x := ast.Unparen(e)
	for {
		sel, ok := x.(*ast.SelectorExpr)
		if !ok {
			break
		}
		if s := info.Selections[sel]; s == nil || s.Kind() != types.FieldVal || s.Indirect() {
			return ""
		}
		x = ast.Unparen(sel.X)
	}
	if x == ast.Unparen(e) || b.localVar(x) == nil {
		return ""
	}
	return types.ExprString(e)
}

// checkCall reports a call the body must not make.
func (b *bodyChecker) checkCall(call *ast.CallExpr) {
	c := b.c
	if name := c.builtin(call); name != "" {
		b.checkBuiltin(name, call)
		return
	}
	fn := c.callee(call)
	if fn == nil {
		b.checkClosureCall(call)
		return
	}
	if b.commute != nil && fn.Pkg() != nil && fn.Pkg().Path() == stmPath {
		b.commuteStmCall(call, fn)
		return
	}
	if isAfterCommit(fn) {
		for _, a := range call.Args {
			if lit, ok := ast.Unparen(a).(*ast.FuncLit); ok {
				if name := b.usesOuterTx(lit); name != "" {
					c.report(lit.Pos(), "%s used in an AfterCommit callback, which runs after the transaction has ended: read what the callback needs in the body and capture the values", name)
				}
			}
		}
		return
	}
	if varMethod(fn) == "Modify" && len(call.Args) == 2 {
		// Modify's function receives the Var's current, shared value.
		if lit, ok := ast.Unparen(call.Args[1]).(*ast.FuncLit); ok && len(lit.Type.Params.List) == 1 && len(lit.Type.Params.List[0].Names) == 1 {
			b.taint.set(b.localVar(lit.Type.Params.List[0].Names[0]), true)
		}
	}
	if inPlace[funcName(fn)] && len(call.Args) > 0 && b.shared(call.Args[0]) {
		b.reportShared(call.Pos(), funcName(fn), call.Args[0])
	}
	name := funcName(fn)
	switch k := c.classify(fn, call); k.kind {
	case kindTx:
		switch varMethod(fn) {
		case "Load":
			c.report(call.Pos(), "Var.Load inside a transaction body reads outside the transaction, so the value is not part of its consistent snapshot and a change to it will not retry the body: use Get(tx)")
		case "Store":
			c.report(call.Pos(), "Var.Store inside a transaction body commits on its own, at once, even if this transaction later aborts or fails: use Set(tx, x)")
		default:
			c.report(call.Pos(), "%s inside a transaction body starts a separate transaction, which breaks atomicity and can deadlock: do the work in this transaction (pass tx to helpers that take *stm.Tx)", name)
		}
	case kindIO:
		if name == "time.Sleep" {
			b.effect(call.Pos(), name, "time.Sleep inside a transaction body delays the commit and runs once per attempt: to wait for a condition, read Vars and call tx.Retry or tx.Check")
		} else {
			b.effect(call.Pos(), name, name+" inside a transaction body, which may run several times and is not rolled back: do I/O in tx.AfterCommit or outside the transaction")
		}
	case kindSync:
		b.effect(call.Pos(), name, name+" inside a transaction body, which may run several times and can abort at any Var access: a lock could be left held or a wait repeated; keep the guarded state in Vars, or call it in tx.AfterCommit")
	case kindCall:
		tx, io, sync := c.calleeEffects(fn)
		b.reportEffects(call, name, tx, io, sync)
	}
}

// reportEffects reports a call of name that leads to effects, the most
// serious kind only.
func (b *bodyChecker) reportEffects(call *ast.CallExpr, name, tx, io, sync string) {
	switch {
	case tx != "":
		b.effect(call.Pos(), name+" ("+name+" → "+tx+")", effectMessage(kindTx, name, tx))
	case io != "":
		b.effect(call.Pos(), name+" ("+name+" → "+io+")", effectMessage(kindIO, name, io))
	case sync != "":
		b.effect(call.Pos(), name+" ("+name+" → "+sync+")", effectMessage(kindSync, name, sync))
	}
}

// checkClosureCall reports a call, through a variable declared outside the
// body, of function literals that have effects. (A literal declared in
// the body is checked as part of it.)
func (b *bodyChecker) checkClosureCall(call *ast.CallExpr) {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return
	}
	v, ok := b.c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || b.inside(v) {
		return
	}
	if e := b.c.closureEffects(v); e != nil {
		b.reportEffects(call, id.Name, e.tx, e.io, e.sync)
	}
}

// inPlace lists functions that modify their first argument's elements.
var inPlace = map[string]bool{
	"sort.Ints": true, "sort.Strings": true, "sort.Float64s": true, "sort.Slice": true, "sort.SliceStable": true,
	"slices.Sort": true, "slices.SortFunc": true, "slices.SortStableFunc": true, "slices.Reverse": true,
	"slices.Insert": true, "slices.Delete": true, "slices.DeleteFunc": true, "slices.Compact": true,
	"slices.CompactFunc": true, "slices.Replace": true, "maps.Copy": true, "maps.DeleteFunc": true,
}

// checkBuiltin reports builtins that close channels or write into values
// read from Vars.
func (b *bodyChecker) checkBuiltin(name string, call *ast.CallExpr) {
	if len(call.Args) == 0 {
		return
	}
	a := call.Args[0]
	switch name {
	case "close":
		b.effect(call.Pos(), "close of a channel", "close of a channel in a transaction body cannot be undone if the attempt aborts or retries: close it in tx.AfterCommit")
	case "append":
		if b.shared(a) && !b.clipped(a) {
			s := types.ExprString(a)
			if b.commute != nil {
				b.commuteReport(call.Pos(), "append to "+s, fmt.Sprintf("append to %s may write into the backing array of the argument of a function passed to Var.Commute, the Var's committed value, which other transactions and Views may be reading (when cap > len): append to a copy (slices.Clone(%s)) or to slices.Clip(%s) and return that", s, s, s))
				return
			}
			b.c.report(call.Pos(), "append to %s, which was read from a Var, may write into the backing array it shares with other transactions (when cap > len): append to a copy (slices.Clone(%s)) or to slices.Clip(%s)", s, s, s)
		}
	case "delete", "clear", "copy":
		if b.shared(a) {
			b.reportShared(call.Pos(), name, a)
		}
	}
}

func (b *bodyChecker) reportShared(pos token.Pos, what string, x ast.Expr) {
	if b.commute != nil {
		b.commuteWrite(pos, what+"("+types.ExprString(x)+")")
		return
	}
	b.c.report(pos, "%s modifies %s, which was read from a Var and is shared with other transactions; the change is neither isolated nor rolled back: modify a copy (slices.Clone, maps.Clone) and Set it", what, types.ExprString(x))
}

// clipped reports whether appending to e always copies: e is a slice
// expression with a capacity bound or a call of slices.Clip.
func (b *bodyChecker) clipped(e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.SliceExpr:
		return e.Slice3
	case *ast.CallExpr:
		fn := b.c.callee(e)
		return fn != nil && funcName(fn) == "slices.Clip"
	}
	return false
}
