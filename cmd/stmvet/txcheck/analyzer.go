// Package txcheck is the analyzer behind the stmvet command: it checks that
// gostm transaction bodies have no effects but their Var writes.
//
// A transaction body is any function (declaration or literal) with a
// *stm.Tx parameter: the functions passed to stm.Atomically,
// stm.AtomicallyContext, stm.Eval, stm.View, stm.OrElse and stm.Catch, and
// every helper that takes a Tx. The engine may run a body several times (after conflicts and
// Retry) and throws away all but the last run, so anything a body does
// besides reading and writing Vars happens once per attempt and is never
// rolled back. The analyzer reports, with a message that says what to do:
//
//   - go statements in a body, and a *stm.Tx that escapes its attempt:
//     captured by a goroutine or an AfterCommit callback, stored in a
//     variable or field outside the body, sent on a channel, returned;
//   - stm.Atomically, stm.AtomicallyContext, stm.Eval, stm.View, Var.Load
//     and Var.Store inside a body, directly or through calls of functions
//     (in this package or, through analysis facts, in any other);
//   - channel operations, select, sync.Mutex/RWMutex/WaitGroup/Once/Cond
//     methods, time.Sleep and I/O (os, net, net/http, os/exec, fmt.Print*,
//     fmt.Fprint* to files, log, slog) in a body, from a deny-list that the
//     -deny and -allow flags extend; AfterCommit callbacks are exempt;
//   - writes through a slice, map or pointer read from a Var (index and
//     field assignments, append, delete, clear, copy, in-place sorts),
//     which mutate a value other transactions share;
//   - the error result of stm.Atomically or stm.AtomicallyContext ignored;
//   - a function passed to Var.Commute that is not a pure function of its
//     argument: one that uses a *stm.Tx, calls anything in stm (Get, Set,
//     Load, Add, Atomically ...), does what a body must not (I/O,
//     channels, locks, go statements, time.Sleep), assigns to variables
//     declared outside it, or changes its argument in place. The engine
//     runs it at commit, under the Var's lock, and not at all there if a
//     later Get of the Var turns the commute into an ordinary read. A
//     function literal is checked where it is written; a named function,
//     method value or variable through its code (or facts) and reported
//     at the call;
//   - in a function literal passed to stm.View (and the closures, OrElse
//     and Catch alternatives it runs), what panics because a View is
//     read-only: Var.Set, Modify, Swap and Commute, stm.Add, tx.Retry,
//     tx.Check, and stm.ErrRetry returned from a Catch function. Helpers
//     it calls are not followed.
//
// A line with a //stmvet:ignore comment (or the line after one) is not
// reported; say why in the comment.
package txcheck

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// stmPath is the import path of the engine whose transactions are checked.
const stmPath = "gostm.dev/stm"

// Analyzer checks gostm transaction bodies. See the package documentation.
var Analyzer = &analysis.Analyzer{
	Name:      "stmvet",
	Doc:       doc,
	URL:       "https://pkg.go.dev/gostm.dev/cmd/stmvet",
	Run:       run,
	FactTypes: []analysis.Fact{new(effectFact)},
}

const doc = `check gostm transaction bodies for side effects

A transaction body (any function with a *stm.Tx parameter) may run several
times; only its Var writes are undone and made atomic. stmvet reports go
statements and escaping *stm.Tx values, nested transactions (stm.Atomically,
AtomicallyContext, Eval, View, Var.Load, Var.Store, also through calls),
channel operations, locks, time.Sleep and I/O (a deny-list: see -deny and
-allow), writes into slices, maps and pointers read from Vars, and ignored
errors of stm.Atomically. Code in tx.AfterCommit callbacks is exempt.

Functions passed to Var.Commute run at commit, under the Var's lock (or not
then at all, if a later Get turns the commute into a read): stmvet reports
those that use a *stm.Tx, call stm, do what a body must not, assign to outer
variables or change their argument in place. In a function literal passed
to stm.View, which is read-only, it reports Set, Modify, Swap, Commute, Add,
Retry, Check and stm.ErrRetry returned from Catch: they panic there.

A //stmvet:ignore comment on a line or the line above silences it.`

var (
	denyFlag  patternList
	allowFlag patternList
)

func init() {
	Analyzer.Flags.Var(&denyFlag, "deny", "comma-separated functions to report in transaction bodies, added to the built-in deny-list: "+
		"PKG (every function and method of the package), PKG.Func or PKG.Type.Method; * matches any run of characters, as in net/http.Client.* or fmt.Print*")
	Analyzer.Flags.Var(&allowFlag, "allow", "comma-separated functions never to report (same syntax as -deny); they win over the deny-list, for example -allow=time.Sleep")
}

// patternList is a flag holding comma-separated deny or allow patterns.
type patternList []string

func (p *patternList) String() string { return strings.Join(*p, ",") }

func (p *patternList) Set(s string) error {
	for _, x := range strings.Split(s, ",") {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		if err := checkPattern(x); err != nil {
			return err
		}
		*p = append(*p, x)
	}
	return nil
}

// checker holds what one pass knows: the deny-list and the effects of
// this package's functions.
type checker struct {
	pass    *analysis.Pass
	deny    *denyList
	effects map[*types.Func]*effects // this package's functions that are not bodies
	ignored map[string]map[int]bool  // file name -> lines silenced by //stmvet:ignore
	code    *bodyCode
	// closures holds the effects of function literals called through
	// local variables, computed when first needed.
	closures map[*ast.FuncLit]*effects
}

func run(pass *analysis.Pass) (any, error) {
	c := &checker{
		pass:     pass,
		deny:     newDenyList(denyFlag, allowFlag),
		effects:  make(map[*types.Func]*effects),
		ignored:  make(map[string]map[int]bool),
		closures: make(map[*ast.FuncLit]*effects),
	}
	engine := pass.Pkg.Path() == stmPath || strings.HasPrefix(pass.Pkg.Path(), stmPath+"/internal/")
	var files []*ast.File
	for _, f := range pass.Files {
		// The engine's own code uses channels, locks and Tx internals by
		// design; its tests are checked like any user code.
		if engine && !strings.HasSuffix(pass.Fset.File(f.Pos()).Name(), "_test.go") {
			continue
		}
		files = append(files, f)
		c.collectIgnores(f)
	}
	c.summarize(files)
	c.code = newBodyCode(pass.TypesInfo, files)
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Body != nil && c.isBody(n.Type) {
					c.checkBody(n, n.Body)
				}
			case *ast.FuncLit:
				if c.isBody(n.Type) {
					c.checkBody(n, n.Body)
				}
			case *ast.CallExpr:
				c.checkSpecialCall(n)
			}
			return true
		})
		c.checkIgnoredErrors(f)
	}
	return nil, nil
}

// checkSpecialCall checks the functions given to the stm calls that run
// them differently from a body: the function passed to Var.Commute, which
// runs at commit, and the body of stm.View, which is read-only. They are
// checked wherever the call is, in a body or not.
func (c *checker) checkSpecialCall(call *ast.CallExpr) {
	fn := c.callee(call)
	if fn == nil {
		return
	}
	switch {
	case varMethod(fn) == "Commute" && len(call.Args) == 2:
		c.checkCommute(call.Args[1])
	case isStmFunc(fn, "View") && len(call.Args) == 1:
		if lit, ok := ast.Unparen(call.Args[0]).(*ast.FuncLit); ok {
			c.checkView(lit)
		}
	}
}

// collectIgnores records the lines of f that //stmvet:ignore silences: its
// own and the next.
func (c *checker) collectIgnores(f *ast.File) {
	for _, g := range f.Comments {
		for _, cm := range g.List {
			if !strings.HasPrefix(cm.Text, "//stmvet:ignore") {
				continue
			}
			p := c.pass.Fset.Position(cm.Pos())
			m := c.ignored[p.Filename]
			if m == nil {
				m = make(map[int]bool)
				c.ignored[p.Filename] = m
			}
			m[p.Line] = true
			m[p.Line+1] = true
		}
	}
}

// report reports a diagnostic at pos unless //stmvet:ignore silences it.
func (c *checker) report(pos token.Pos, format string, args ...any) {
	p := c.pass.Fset.Position(pos)
	if c.ignored[p.Filename][p.Line] {
		return
	}
	c.pass.Report(analysis.Diagnostic{Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// isBody reports whether a function of type ft is a transaction body: it
// has a *stm.Tx parameter.
func (c *checker) isBody(ft *ast.FuncType) bool {
	if ft.Params == nil {
		return false
	}
	for _, f := range ft.Params.List {
		if isTx(c.pass.TypesInfo.TypeOf(f.Type)) {
			return true
		}
	}
	return false
}

// isTx reports whether t is *stm.Tx.
func isTx(t types.Type) bool {
	p, ok := types.Unalias(t).(*types.Pointer)
	if !ok {
		return false
	}
	return isStmNamed(p.Elem(), "Tx")
}

// isStmNamed reports whether t is the stm type called name.
func isStmNamed(t types.Type, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	o := n.Origin().Obj()
	return o.Name() == name && o.Pkg() != nil && o.Pkg().Path() == stmPath
}

// sigHasTx reports whether sig has a *stm.Tx parameter.
func sigHasTx(sig *types.Signature) bool {
	for i := range sig.Params().Len() {
		if isTx(sig.Params().At(i).Type()) {
			return true
		}
	}
	return false
}

// startsTx reports whether fn is an stm function that runs a transaction of
// its own: one that takes a body (a func with a *Tx parameter) and no Tx.
// That is Atomically, AtomicallyContext, Eval and View, and any such
// function the engine adds later; OrElse and Catch take the enclosing Tx
// and are fine.
func startsTx(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Pkg().Path() != stmPath {
		return false
	}
	sig := fn.Signature()
	if sig.Recv() != nil || sigHasTx(sig) {
		return false
	}
	for i := range sig.Params().Len() {
		if f, ok := sig.Params().At(i).Type().Underlying().(*types.Signature); ok && sigHasTx(f) {
			return true
		}
	}
	return false
}

// returnsTxError reports whether fn starts a transaction and returns its
// error: Atomically and AtomicallyContext.
func returnsTxError(fn *types.Func) bool {
	if !startsTx(fn) {
		return false
	}
	r := fn.Signature().Results()
	return r.Len() == 1 && types.Identical(r.At(0).Type(), types.Universe.Lookup("error").Type())
}

// varMethod returns the name of the method of stm.Var that fn is, or "".
func varMethod(fn *types.Func) string {
	recv := fn.Signature().Recv()
	if recv == nil {
		return ""
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if !isStmNamed(t, "Var") {
		return ""
	}
	return fn.Name()
}

// callee returns the function or method a call statically names (interface
// methods included), or nil for builtins, conversions and function values.
func (c *checker) callee(call *ast.CallExpr) *types.Func {
	var id *ast.Ident
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	case *ast.IndexExpr: // explicit instantiation: F[T](...)
		id = identOf(f.X)
	case *ast.IndexListExpr:
		id = identOf(f.X)
	}
	if id == nil {
		return nil
	}
	fn, _ := c.pass.TypesInfo.Uses[id].(*types.Func)
	if fn == nil {
		return nil
	}
	return fn.Origin()
}

func identOf(e ast.Expr) *ast.Ident {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return e
	case *ast.SelectorExpr:
		return e.Sel
	}
	return nil
}

// builtin returns the name of the builtin a call invokes, or "".
func (c *checker) builtin(call *ast.CallExpr) string {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return ""
	}
	if b, ok := c.pass.TypesInfo.Uses[id].(*types.Builtin); ok {
		return b.Name()
	}
	return ""
}

// funcName is how messages name fn: pkg.Func or pkg.Type.Method.
func funcName(fn *types.Func) string {
	_, name := qualified(fn)
	if fn.Pkg() != nil {
		name = fn.Pkg().Name() + "." + name
	}
	return name
}
