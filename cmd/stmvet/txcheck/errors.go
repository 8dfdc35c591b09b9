package txcheck

import (
	"go/ast"
	"go/types"
)

// bodyCode finds the code of the functions an expression can be: a
// function literal, a function declared in this package, or a variable
// assigned only such functions.
type bodyCode struct {
	info   *types.Info
	decls  map[*types.Func]*ast.FuncDecl
	values map[*types.Var][]ast.Expr // every value assigned to the variable
}

func newBodyCode(info *types.Info, files []*ast.File) *bodyCode {
	bc := &bodyCode{info: info, decls: map[*types.Func]*ast.FuncDecl{}, values: map[*types.Var][]ast.Expr{}}
	record := func(lhs, rhs []ast.Expr) {
		for i, l := range lhs {
			id, ok := ast.Unparen(l).(*ast.Ident)
			if !ok {
				continue
			}
			if v, ok := info.ObjectOf(id).(*types.Var); ok {
				var x ast.Expr // nil: a value we cannot see (a tuple)
				if len(lhs) == len(rhs) {
					x = rhs[i]
				}
				bc.values[v] = append(bc.values[v], x)
			}
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if fn, ok := info.Defs[n.Name].(*types.Func); ok && n.Body != nil {
					bc.decls[fn] = n
				}
			case *ast.AssignStmt:
				record(n.Lhs, n.Rhs)
			case *ast.ValueSpec:
				names := make([]ast.Expr, len(n.Names))
				for i, id := range n.Names {
					names[i] = id
				}
				record(names, n.Values)
			}
			return true
		})
	}
	return bc
}

// onlyNil reports whether e is a function every return statement of which
// returns nil or stm.ErrRetry (Atomically never returns that one: it
// blocks and runs the body again), as far as can be seen: a function
// literal, a function declared in this package, or a local variable
// assigned only such functions.
func (bc *bodyCode) onlyNil(e ast.Expr, depth int) bool {
	if depth > 3 {
		return false
	}
	var body *ast.BlockStmt
	switch e := ast.Unparen(e).(type) {
	case *ast.FuncLit:
		body = e.Body
	case *ast.Ident:
		switch o := bc.info.ObjectOf(e).(type) {
		case *types.Func:
			if d := bc.decls[o]; d != nil {
				body = d.Body
			}
		case *types.Var:
			vals := bc.values[o]
			for _, x := range vals {
				if x == nil || !bc.onlyNil(x, depth+1) {
					return false
				}
			}
			return len(vals) > 0
		}
	}
	if body == nil {
		return false
	}
	only := true
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if len(n.Results) != 1 || !(bc.info.Types[n.Results[0]].IsNil() || bc.isErrRetry(n.Results[0])) {
				only = false
			}
		}
		return only
	})
	return only
}

// checkIgnoredErrors reports calls of Atomically and AtomicallyContext
// whose error is dropped: as a statement, assigned to _, or in go/defer.
//
// A body that can only return nil (see onlyNil) has no error to ignore.
func (c *checker) checkIgnoredErrors(f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		var call *ast.CallExpr
		switch n := n.(type) {
		case *ast.ExprStmt:
			call, _ = ast.Unparen(n.X).(*ast.CallExpr)
		case *ast.GoStmt:
			call = n.Call
		case *ast.DeferStmt:
			call = n.Call
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
				if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "_" {
					call, _ = ast.Unparen(n.Rhs[0]).(*ast.CallExpr)
				}
			}
		}
		if call == nil {
			return true
		}
		if fn := c.callee(call); fn != nil && returnsTxError(fn) && !(fn.Name() == "Atomically" && c.code.onlyNil(call.Args[len(call.Args)-1], 0)) {
			c.report(call.Pos(), "the error returned by %s is ignored: it is the error the body returned (or the context's), "+
				"and nothing was committed when it is not nil; handle it", funcName(fn))
		}
		return true
	})
}

// isErrRetry reports whether e is stm.ErrRetry.
func (bc *bodyCode) isErrRetry(e ast.Expr) bool {
	sel, ok := ast.Unparen(e).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	v, ok := bc.info.Uses[sel.Sel].(*types.Var)
	return ok && v.Name() == "ErrRetry" && v.Pkg() != nil && v.Pkg().Path() == stmPath
}
