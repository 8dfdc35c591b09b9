package txcheck

import (
	"go/ast"
	"go/types"
)

// checkView reports, in fn, a function literal passed to stm.View, the
// calls that panic at run time because a View is read-only: Var.Set,
// Modify, Swap and Commute, stm.Add, tx.Retry and tx.Check, and returns of
// stm.ErrRetry from a Catch function (Catch turns them into Retry). View's
// own fn returns a T, not an error, so it cannot return ErrRetry itself.
//
// The code followed is what runs in the View's transaction: fn, the
// closures it calls and the OrElse and Catch alternatives in it, but not
// other bodies (a nested transaction is reported as such), code that runs
// later (AfterCommit callbacks, goroutines, functions passed to
// Var.Commute) or helpers declared elsewhere.
func (c *checker) checkView(fn *ast.FuncLit) {
	w := &walker{c: c, fn: fn, skip: map[ast.Node]bool{}}
	alts := map[*ast.FuncLit]string{} // OrElse and Catch alternatives: which of the two
	var stack []ast.Node
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		w.markDeferred(n)
		switch n := n.(type) {
		case *ast.FuncLit:
			if w.skip[n] || c.isBody(n.Type) && alts[n] == "" {
				return false
			}
		case *ast.CallExpr:
			g := c.callee(n)
			if g == nil {
				break
			}
			if name := viewPanics(g); name != "" {
				c.report(n.Pos(), "%s inside stm.View panics at run time: View is read-only; use Atomically (or Eval) to write or to wait in Retry", name)
			}
			if isStmFunc(g, "OrElse") || isStmFunc(g, "Catch") {
				for _, a := range n.Args[1:] {
					if lit, ok := ast.Unparen(a).(*ast.FuncLit); ok {
						alts[lit] = g.Name()
					}
				}
			}
		case *ast.ReturnStmt:
			if innermostLit(stack, fn) != nil && alts[innermostLit(stack, fn)] == "Catch" {
				for _, r := range n.Results {
					if c.code.isErrRetry(r) {
						c.report(r.Pos(), "stm.ErrRetry returned from a Catch function inside stm.View retries, which panics at run time: View is read-only; use Atomically (or Eval) to wait in Retry")
					}
				}
			}
		}
		stack = append(stack, n)
		return true
	})
}

// innermostLit returns the function literal of stack, the nodes being
// visited in fn, that is innermost, or nil in fn itself.
func innermostLit(stack []ast.Node, fn *ast.FuncLit) *ast.FuncLit {
	for i := len(stack) - 1; i >= 0; i-- {
		if lit, ok := stack[i].(*ast.FuncLit); ok && lit != fn {
			return lit
		}
	}
	return nil
}

// viewPanics returns the name of fn if calling it inside a View panics:
// it writes or waits.
func viewPanics(fn *types.Func) string {
	switch varMethod(fn) {
	case "Set", "Modify", "Swap", "Commute":
		return funcName(fn)
	}
	if isStmFunc(fn, "Add") {
		return funcName(fn)
	}
	if recv := fn.Signature().Recv(); recv != nil && isTx(recv.Type()) && (fn.Name() == "Retry" || fn.Name() == "Check") {
		return "tx." + fn.Name()
	}
	return ""
}

// isStmFunc reports whether fn is the function of package stm (not a
// method) called name.
func isStmFunc(fn *types.Func, name string) bool {
	return fn.Name() == name && fn.Signature().Recv() == nil && fn.Pkg() != nil && fn.Pkg().Path() == stmPath
}
