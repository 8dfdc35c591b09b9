package tvar_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"gostm.dev/stm"
)

// Sequential model tests: gopter generates a program — a size parameter
// and a list of transactions, each a few operations and sometimes ending
// in an error — and runs it both on the real type and on a plain Go model.
// Every operation's result must match, and a transaction that returns an
// error must leave no trace (the model runs it on a copy and drops it).
// Blocking operations run as stm.OrElse(tx, op, "blocked"), so the model
// also pins down exactly when each one blocks.

type op struct{ k, a, b int }

type txn struct {
	ops  []op
	fail bool
}

type program struct {
	size int
	txs  []txn
}

// spec describes one type under test. S is the real thing, M the model;
// sut and model return each operation's result, rendered as a string.
type spec[S, M any] struct {
	kinds    []string // operation names, indexed by op.k
	sizes    [2]int   // range of program.size
	args     int      // op.a and op.b range over [0, args)
	newSUT   func(size int) S
	newModel func(size int) M
	clone    func(M) M
	sut      func(tx *stm.Tx, s S, o op) string
	model    func(m *M, o op) string
	// save, if set, snapshots test-side state kept next to S (such as
	// the list of a Chan's Readers) and returns what restores it after a
	// transaction that failed.
	save func(S) (restore func())
}

func (sp spec[S, M]) show(p program) string {
	var b strings.Builder
	fmt.Fprintf(&b, "size %d:", p.size)
	for _, t := range p.txs {
		b.WriteString(" [")
		for i, o := range t.ops {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s(%d,%d)", sp.kinds[o.k], o.a, o.b)
		}
		if t.fail {
			b.WriteString("; FAIL")
		}
		b.WriteString("]")
	}
	return b.String()
}

func (sp spec[S, M]) gen() gopter.Gen {
	genOp := gopter.CombineGens(gen.IntRange(0, len(sp.kinds)-1), gen.IntRange(0, sp.args-1), gen.IntRange(0, sp.args-1)).
		Map(func(v []any) op { return op{v[0].(int), v[1].(int), v[2].(int)} })
	genTx := gopter.CombineGens(gen.SliceOfN(3, genOp), gen.IntRange(1, 3), gen.IntRange(0, 9)).
		Map(func(v []any) txn {
			ops := v[0].([]op)
			return txn{ops[:min(len(ops), v[1].(int))], v[2].(int) == 0}
		})
	return gopter.CombineGens(gen.IntRange(sp.sizes[0], sp.sizes[1]), gen.SliceOf(genTx)).
		Map(func(v []any) program { return program{v[0].(int), v[1].([]txn)} })
}

// run executes p on both and returns a description of the first
// difference, or "".
func (sp spec[S, M]) run(p program) string {
	s, m := sp.newSUT(p.size), sp.newModel(p.size)
	for i, t := range p.txs {
		var got []string
		var restore func()
		if sp.save != nil {
			restore = sp.save(s)
		}
		err := stm.Atomically(func(tx *stm.Tx) error {
			got = got[:0]
			for _, o := range t.ops {
				got = append(got, sp.sut(tx, s, o))
			}
			if t.fail {
				return errAbort
			}
			return nil
		})
		if t.fail != errors.Is(err, errAbort) {
			return fmt.Sprintf("tx %d: err = %v", i, err)
		}
		if t.fail && restore != nil {
			restore()
		}
		next := sp.clone(m)
		var want []string
		for _, o := range t.ops {
			want = append(want, sp.model(&next, o))
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("tx %d: got %v, model says %v", i, got, want)
		}
		if !t.fail {
			m = next
		}
	}
	return ""
}

func checkModel[S, M any](t *testing.T, sp spec[S, M]) {
	t.Helper()
	params := gopter.DefaultTestParametersWithSeed(int64(testSeed(t)))
	params.MinSuccessfulTests = scale(300, 100, 150)
	params.MaxSize = 40
	props := gopter.NewProperties(params)
	props.Property("matches the model", prop.ForAll(func(p program) *gopter.PropResult {
		if d := sp.run(p); d != "" {
			return gopter.NewPropResult(false, d+"\nprogram: "+sp.show(p))
		}
		return gopter.NewPropResult(true, "")
	}, sp.gen()))
	props.TestingRun(t)
}

// blocking runs f as the first alternative of an OrElse whose second
// reports "blocked", so a model can say exactly when f must block.
func blocking(tx *stm.Tx, f func(tx *stm.Tx) string) string {
	return stm.OrElse(tx, f, func(*stm.Tx) string { return "blocked" })
}

func str(v any, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprint(v)
}
