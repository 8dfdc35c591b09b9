package txcheck

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// effectFact is exported for a function that is not a body but, when
// called, starts a transaction (or uses Load/Store) or does I/O. Each
// field is the chain of calls that leads there, "" if none.
type effectFact struct {
	Tx string
	IO string
}

// AFact marks effectFact as an analysis fact.
func (*effectFact) AFact() {}

func (f *effectFact) String() string {
	var parts []string
	if f.Tx != "" {
		parts = append(parts, "tx: "+f.Tx)
	}
	if f.IO != "" {
		parts = append(parts, "io: "+f.IO)
	}
	return strings.Join(parts, "; ")
}

// effects is what calling one of this package's functions does: for each
// kind, the chain of calls that leads to it ("" if none).
type effects struct {
	tx, io, sync string
	calls        []*types.Func // the functions it calls statically
}

// maxChain bounds the names a chain keeps, so messages stay short.
const maxChain = 4

func chain(fn *types.Func, rest string) string {
	if strings.Count(rest, " → ") >= maxChain-1 {
		return funcName(fn) + " → …"
	}
	return funcName(fn) + " → " + rest
}

// summarize computes the effects of this package's functions that are not
// bodies, following calls within the package to a fixed point and into
// other packages by their facts, then exports the facts.
//
// The standard library is not summarized: the deny-list says which of its
// functions have effects, and following its internals would find a
// goroutine behind every allocation (mallocgc starts the collector's
// workers) and a lock behind most caches.
func (c *checker) summarize(files []*ast.File) {
	if isStd(c.pass) {
		return
	}
	var order []*types.Func // deterministic iteration
	for _, f := range files {
		for _, d := range f.Decls {
			decl, ok := d.(*ast.FuncDecl)
			if !ok || decl.Body == nil || c.isBody(decl.Type) {
				continue
			}
			fn, ok := c.pass.TypesInfo.Defs[decl.Name].(*types.Func)
			if !ok {
				continue
			}
			e := &effects{}
			w := &walker{c: c, fn: decl, skip: map[ast.Node]bool{}}
			ast.Inspect(decl.Body, func(n ast.Node) bool { return w.summaryVisit(n, e) })
			c.effects[fn] = e
			order = append(order, fn)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, fn := range order {
			e := c.effects[fn]
			for _, g := range e.calls {
				tx, io, sync := c.calleeEffects(g)
				before := *e
				e.tx = cmp.Or(e.tx, chainIf(g, tx))
				e.io = cmp.Or(e.io, chainIf(g, io))
				e.sync = cmp.Or(e.sync, chainIf(g, sync))
				changed = changed || e.tx != before.tx || e.io != before.io || e.sync != before.sync
			}
		}
	}
	for _, fn := range order {
		if e := c.effects[fn]; fn.Exported() && (e.tx != "" || e.io != "") {
			c.pass.ExportObjectFact(fn, &effectFact{Tx: e.tx, IO: e.io})
		}
	}
}

// calleeEffects returns what calling fn does, from this package's
// summaries or from fn's fact. Sync effects are not followed out of the
// package (see catSync).
func (c *checker) calleeEffects(fn *types.Func) (tx, io, sync string) {
	if e, ok := c.effects[fn]; ok {
		return e.tx, e.io, e.sync
	}
	var f effectFact
	if fn.Pkg() != c.pass.Pkg && c.pass.ImportObjectFact(fn, &f) {
		return f.Tx, f.IO, ""
	}
	return "", "", ""
}

// walker holds what walking one function's code needs to know.
type walker struct {
	c  *checker
	fn ast.Node // the FuncDecl or FuncLit walked
	// skip holds function literals that do not run as part of this
	// function (they run later or elsewhere) and the select cases
	// already reported with their select.
	skip map[ast.Node]bool
}

// inside reports whether obj is declared inside the walked function.
func (w *walker) inside(obj types.Object) bool {
	return obj.Pos() >= w.fn.Pos() && obj.Pos() < w.fn.End()
}

// later marks the function literals that e evaluates to (directly, or as
// elements of composite literals) as code that runs later, not now.
func (w *walker) later(e ast.Expr) {
	switch e := ast.Unparen(e).(type) {
	case *ast.FuncLit:
		w.skip[e] = true
	case *ast.UnaryExpr:
		w.later(e.X)
	case *ast.CompositeLit:
		for _, x := range e.Elts {
			w.later(x)
		}
	case *ast.KeyValueExpr:
		w.later(e.Value)
	}
}

// outlives says where a store into lhs goes if the stored value outlives
// the walked function: a variable declared outside it, or memory reached
// through a field, an element or a pointer. Stores into local variables
// (and fields of local struct values) return "".
func (w *walker) outlives(lhs ast.Expr) string {
	info := w.c.pass.TypesInfo
	switch e := ast.Unparen(lhs).(type) {
	case *ast.Ident:
		if v, ok := info.ObjectOf(e).(*types.Var); ok && !w.inside(v) {
			return "variable " + e.Name
		}
		return ""
	case *ast.SelectorExpr:
		if sel := info.Selections[e]; sel != nil && !sel.Indirect() {
			if id, ok := ast.Unparen(e.X).(*ast.Ident); ok {
				if v, ok := info.ObjectOf(id).(*types.Var); ok && w.inside(v) {
					return ""
				}
			}
		}
		return "field " + types.ExprString(e)
	case *ast.IndexExpr:
		return "element " + types.ExprString(e)
	case *ast.StarExpr:
		return types.ExprString(e)
	}
	return ""
}

// markDeferred records, for an assignment, a return or a call, the
// function literals that run later rather than as part of this function:
// returned ones, stored ones, AfterCommit callbacks, goroutines, and
// functions passed to Var.Commute (which run at commit and are checked on
// their own: see checkCommute).
func (w *walker) markDeferred(n ast.Node) {
	switch n := n.(type) {
	case *ast.ReturnStmt:
		for _, r := range n.Results {
			w.later(r)
		}
	case *ast.AssignStmt:
		if len(n.Lhs) == len(n.Rhs) {
			for i, l := range n.Lhs {
				if w.outlives(l) != "" {
					w.later(n.Rhs[i])
				}
			}
		}
	case *ast.CallExpr:
		if fn := w.c.callee(n); fn != nil && (isAfterCommit(fn) || varMethod(fn) == "Commute") {
			for _, a := range n.Args {
				w.later(a)
			}
		}
	case *ast.GoStmt:
		w.later(n.Call.Fun)
	}
}

// isAfterCommit reports whether fn is (*stm.Tx).AfterCommit.
func isAfterCommit(fn *types.Func) bool {
	recv := fn.Signature().Recv()
	return recv != nil && fn.Name() == "AfterCommit" && isTx(recv.Type())
}

// summaryVisit records into e the direct effects of the node n of a
// function that is not a body, and the functions it calls.
func (w *walker) summaryVisit(n ast.Node, e *effects) bool {
	if n == nil {
		return false
	}
	w.markDeferred(n)
	direct := func(kind *string, what string) {
		if *kind == "" {
			*kind = what
		}
	}
	switch n := n.(type) {
	case *ast.FuncLit:
		return !w.skip[n] && !w.c.isBody(n.Type)
	case *ast.GoStmt:
		direct(&e.io, "go statement")
		return false
	case *ast.SendStmt:
		direct(&e.io, "channel send")
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			direct(&e.io, "channel receive")
		}
	case *ast.SelectStmt:
		direct(&e.io, "select")
	case *ast.RangeStmt:
		if isChan(w.c.pass.TypesInfo.TypeOf(n.X)) {
			direct(&e.io, "channel receive")
		}
	case *ast.CallExpr:
		if w.c.builtin(n) == "close" {
			direct(&e.io, "close of a channel")
			return true
		}
		fn := w.c.callee(n)
		if fn == nil {
			return true
		}
		switch k := w.c.classify(fn, n); k.kind {
		case kindTx:
			direct(&e.tx, k.name)
		case kindIO:
			direct(&e.io, k.name)
		case kindSync:
			direct(&e.sync, k.name)
		case kindCall:
			e.calls = append(e.calls, fn)
		}
	}
	return true
}

func isChan(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Chan)
	return ok
}

// callKind is what a call is to the checks.
type callKind uint8

const (
	kindNone callKind = iota // nothing to report, nothing to follow
	kindTx                   // starts a transaction, or Load/Store
	kindIO                   // denied, catIO
	kindSync                 // denied, catSync
	kindCall                 // a function whose own effects decide
)

type classified struct {
	kind callKind
	name string
}

// classify says what calling fn (in call) is.
func (c *checker) classify(fn *types.Func, call *ast.CallExpr) classified {
	name := funcName(fn)
	switch {
	case startsTx(fn):
		return classified{kindTx, name}
	case varMethod(fn) == "Load" || varMethod(fn) == "Store":
		return classified{kindTx, "stm.Var." + fn.Name()}
	case fn.Pkg() != nil && fn.Pkg().Path() == stmPath:
		return classified{kindNone, name}
	case sigHasTx(fn.Signature()):
		return classified{kindNone, name} // a body: checked where it is declared
	}
	if cat, ok := c.denied(fn, call); ok {
		if cat == catSync {
			return classified{kindSync, name}
		}
		return classified{kindIO, name}
	}
	if c.deny.allowed(fn) {
		return classified{kindNone, name}
	}
	return classified{kindCall, name}
}

// closureEffects returns the effects of calling the function variable v,
// if every value assigned to it (in this package) is a function literal
// that is not a body: its direct effects and those of what it calls.
func (c *checker) closureEffects(v *types.Var) *effects {
	vals := c.code.values[v]
	if len(vals) == 0 {
		return nil
	}
	all := &effects{}
	for _, x := range vals {
		lit, ok := ast.Unparen(x).(*ast.FuncLit)
		if !ok || c.isBody(lit.Type) {
			return nil
		}
		e := c.closures[lit]
		if e == nil {
			e = &effects{}
			w := &walker{c: c, fn: lit, skip: map[ast.Node]bool{}}
			ast.Inspect(lit.Body, func(n ast.Node) bool { return w.summaryVisit(n, e) })
			for _, g := range e.calls {
				tx, io, sync := c.calleeEffects(g)
				e.tx = cmp.Or(e.tx, chainIf(g, tx))
				e.io = cmp.Or(e.io, chainIf(g, io))
				e.sync = cmp.Or(e.sync, chainIf(g, sync))
			}
			c.closures[lit] = e
		}
		all.tx, all.io, all.sync = cmp.Or(all.tx, e.tx), cmp.Or(all.io, e.io), cmp.Or(all.sync, e.sync)
	}
	return all
}

// chainIf is chain(fn, rest), or "" if rest is.
func chainIf(fn *types.Func, rest string) string {
	if rest == "" {
		return ""
	}
	return chain(fn, rest)
}

// effectMessage says what to do about a call of name that leads to an
// effect along chain.
func effectMessage(kind callKind, name, chain string) string {
	switch kind {
	case kindTx:
		return fmt.Sprintf("%s uses Vars outside this transaction (%s → %s): "+
			"a body must not start transactions or call Load/Store, even through other functions; pass tx to it and use Get/Set", name, name, chain)
	case kindSync:
		return fmt.Sprintf("%s uses a lock or other sync primitive (%s → %s) inside a transaction body, which may run several times and is rolled back by aborting: "+
			"make the state it guards a Var, or call it in tx.AfterCommit", name, name, chain)
	}
	return fmt.Sprintf("%s has side effects (%s → %s) inside a transaction body, which may run several times: "+
		"call it in tx.AfterCommit or outside the transaction", name, name, chain)
}

// isStd reports whether the package is part of the standard library: its
// path starts without a domain and it belongs to no module (drivers give
// std packages no module, or an empty one, or "std"). A module called,
// say, "myapp" has a path without a domain too, but a module; in a driver
// that gives no module information it counts as standard, which only loses
// its facts.
func isStd(pass *analysis.Pass) bool {
	first, _, _ := strings.Cut(pass.Pkg.Path(), "/")
	return !strings.Contains(first, ".") && (pass.Module == nil || pass.Module.Path == "" || pass.Module.Path == "std")
}
