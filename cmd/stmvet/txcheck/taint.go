package txcheck

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// taintedValues holds the variables of a body that hold a value read from
// a Var, or something reached through one: a slice, map or pointer shared
// with every other transaction that reads the Var. The walk follows the
// body in source order, so a variable stops being tainted when a copy is
// assigned to it (s = slices.Clone(s)).
//
// A field of a tainted struct value that was given a copy is clean:
// r.Items = slices.Clone(r.Items) makes r.Items[0] = 1 fine. Such fields
// are kept by their expression (r.Items) until r is assigned again.
type taintedValues struct {
	vars  map[*types.Var]bool
	clean map[string]bool
}

func newTaintedValues() taintedValues {
	return taintedValues{vars: map[*types.Var]bool{}, clean: map[string]bool{}}
}

func (t taintedValues) set(v *types.Var, shared bool) {
	if v == nil {
		return
	}
	if shared {
		t.vars[v] = true
	} else {
		delete(t.vars, v)
	}
	for k := range t.clean {
		if strings.HasPrefix(k, v.Name()+".") {
			delete(t.clean, k)
		}
	}
}

// setField records an assignment to the field path (x.f.g of a local
// struct value x, no pointers on the way).
func (t taintedValues) setField(path string, shared bool) {
	if shared {
		delete(t.clean, path)
	} else {
		t.clean[path] = true
	}
}

// shared reports whether e's value may share memory with a value read
// from a Var: a Get or Swap result, a variable holding one, or a field,
// element or slice of one.
func (b *bodyChecker) shared(e ast.Expr) bool {
	info := b.c.pass.TypesInfo
	if !mayAlias(info.TypeOf(e), nil) {
		return false
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		v, ok := info.ObjectOf(e).(*types.Var)
		return ok && b.taint.vars[v]
	case *ast.CallExpr:
		if tv, ok := info.Types[e.Fun]; ok && tv.IsType() {
			return len(e.Args) == 1 && b.shared(e.Args[0]) // a conversion
		}
		if name := b.c.builtin(e); name != "" {
			return name == "append" && len(e.Args) > 0 && !b.clipped(e.Args[0]) && b.shared(e.Args[0])
		}
		fn := b.c.callee(e)
		if fn == nil {
			return false
		}
		if m := varMethod(fn); m == "Get" || m == "Swap" {
			return true
		}
		return funcName(fn) == "slices.Clip" && len(e.Args) == 1 && b.shared(e.Args[0])
	case *ast.SelectorExpr:
		if sel := info.Selections[e]; sel != nil && sel.Kind() == types.FieldVal {
			return !b.taint.clean[types.ExprString(e)] && b.shared(e.X)
		}
	case *ast.IndexExpr:
		if _, ok := info.TypeOf(e.X).Underlying().(*types.Signature); ok {
			return false // an instantiation F[T]
		}
		return b.shared(e.X)
	case *ast.SliceExpr:
		return b.shared(e.X)
	case *ast.StarExpr:
		return b.shared(e.X)
	case *ast.TypeAssertExpr:
		return b.shared(e.X)
	case *ast.UnaryExpr:
		// &v points to the body's own copy; &v.f[i] into shared memory.
		if _, ok := ast.Unparen(e.X).(*ast.Ident); e.Op == token.AND && !ok {
			return b.shared(e.X)
		}
	}
	return false
}

// mayAlias reports whether values of type t can refer to memory they do
// not own: pointers, slices, maps, interfaces, or structs and arrays
// holding them. Type parameters count as not aliasing: generic code
// cannot write through them.
func mayAlias(t types.Type, seen map[types.Type]bool) bool {
	if t == nil {
		return false
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer, *types.Slice, *types.Map, *types.Interface:
		_, isParam := types.Unalias(t).(*types.TypeParam)
		return !isParam
	case *types.Array:
		return mayAlias(u.Elem(), seen)
	case *types.Struct:
		if seen[t] {
			return false
		}
		if seen == nil {
			seen = map[types.Type]bool{}
		}
		seen[t] = true
		for i := range u.NumFields() {
			if mayAlias(u.Field(i).Type(), seen) {
				return true
			}
		}
	}
	return false
}

// checkWrite reports an assignment to lhs that writes into memory shared
// with a value read from a Var: an element of a shared slice or map, or a
// field or target of a shared pointer.
func (b *bodyChecker) checkWrite(lhs ast.Expr) {
	info := b.c.pass.TypesInfo
	for e := ast.Unparen(lhs); ; {
		var through ast.Expr // the reference the write goes through
		switch x := e.(type) {
		case *ast.IndexExpr:
			switch info.TypeOf(x.X).Underlying().(type) {
			case *types.Slice, *types.Map, *types.Pointer:
				through = x.X
			case *types.Array:
				e = ast.Unparen(x.X)
				continue
			}
		case *ast.SelectorExpr:
			sel := info.Selections[x]
			if sel == nil || sel.Kind() != types.FieldVal {
				return
			}
			if !sel.Indirect() {
				e = ast.Unparen(x.X)
				continue
			}
			through = x.X
		case *ast.StarExpr:
			through = x.X
		}
		if through != nil && b.shared(through) {
			if b.commute != nil {
				b.commuteWrite(lhs.Pos(), "write to "+types.ExprString(lhs))
				return
			}
			b.c.report(lhs.Pos(), "write to %s changes a value read from a Var, which other transactions share: the write is neither isolated nor rolled back; change a copy (slices.Clone, maps.Clone, a new struct) and Set it",
				types.ExprString(lhs))
		}
		return
	}
}
