package lockfree

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"
)

// Sequential model test: gopter generates (and shrinks) operation sequences;
// each is applied to the map under test and to a Go map, and every result
// must agree.

// hashModes are the hash functions the model and linearizability tests run
// under: the default one, a constant (every key collides), and one where
// keys differ only in high bits (defeats index bits, exercises tags/depth).
var hashModes = []struct {
	name string
	opts []Option
}{
	{"default", nil},
	{"const", []Option{WithHasher(func(int) uint64 { return 0x9e3779b97f4a7c15 })}},
	{"highbits", []Option{WithHasher(func(k int) uint64 { return uint64(k) << 48 })}},
}

// computeFn is the deterministic function the Compute ops use in every test
// and in the model: it creates, updates, deletes or cancels depending on a.
func computeFn(a int) func(old int, loaded bool) (int, ComputeOp) {
	return func(old int, loaded bool) (int, ComputeOp) {
		if !loaded {
			if a%3 == 0 {
				return a, CancelOp
			}
			return a, UpdateOp
		}
		nv := old + a
		switch {
		case nv%4 == 0:
			return 0, DeleteOp
		case a%5 == 0:
			return nv, CancelOp
		}
		return nv, UpdateOp
	}
}

func loadOrComputeFn(a int) func() (int, bool) {
	return func() (int, bool) { return a, a%3 == 0 }
}

// cell is one key's state in a model: its value and whether it is present.
type cell struct {
	v  int
	ok bool
}

// applyModel applies op to the model m (mutating it) and returns the
// result the map must give.
func applyModel(m map[int]int, op opKind, k, a, b int) cell {
	cur, ok := m[k]
	switch op {
	case opLoad:
		return cell{cur, ok}
	case opStore:
		m[k] = a
		return cell{}
	case opLoadOrStore:
		if ok {
			return cell{cur, true}
		}
		m[k] = a
		return cell{a, false}
	case opLoadAndDelete:
		delete(m, k)
		return cell{cur, ok}
	case opDelete:
		delete(m, k)
		return cell{}
	case opSwap:
		m[k] = a
		return cell{cur, ok}
	case opCAS:
		if ok && cur == a {
			m[k] = b
			return cell{0, true}
		}
		return cell{}
	case opCAD:
		if ok && cur == a {
			delete(m, k)
			return cell{0, true}
		}
		return cell{}
	case opCompute:
		nv, cop := computeFn(a)(cur, ok)
		switch cop {
		case UpdateOp:
			m[k] = nv
			return cell{nv, true}
		case DeleteOp:
			delete(m, k)
			return cell{}
		}
		return cell{cur, ok}
	case opLoadOrCompute:
		if ok {
			return cell{cur, true}
		}
		nv, cancel := loadOrComputeFn(a)()
		if cancel {
			return cell{}
		}
		m[k] = nv
		return cell{nv, false}
	case opStoreRange:
		for i := k; i < k+a; i++ {
			m[i] = i
		}
		return cell{}
	case opDeleteRange:
		for i := k; i < k+a; i++ {
			delete(m, i)
		}
		return cell{}
	case opClear:
		clear(m)
		return cell{}
	case opLen:
		return cell{len(m), true}
	}
	panic("applyModel: " + op.String())
}

// applyMap applies a single-key op to the map under test.
func applyMap(m Map[int, int], op opKind, k, a, b int) cell {
	switch op {
	case opLoad:
		v, ok := m.Load(k)
		return cell{v, ok}
	case opStore:
		m.Store(k, a)
		return cell{}
	case opLoadOrStore:
		v, ok := m.LoadOrStore(k, a)
		return cell{v, ok}
	case opLoadAndDelete:
		v, ok := m.LoadAndDelete(k)
		return cell{v, ok}
	case opDelete:
		m.Delete(k)
		return cell{}
	case opSwap:
		v, ok := m.Swap(k, a)
		return cell{v, ok}
	case opCAS:
		return cell{0, m.CompareAndSwap(k, a, b)}
	case opCAD:
		return cell{0, m.CompareAndDelete(k, a)}
	case opCompute:
		v, ok := m.Compute(k, computeFn(a))
		return cell{v, ok}
	case opLoadOrCompute:
		v, ok := m.LoadOrCompute(k, loadOrComputeFn(a))
		return cell{v, ok}
	case opStoreRange:
		for i := k; i < k+a; i++ {
			m.Store(i, i)
		}
		return cell{}
	case opDeleteRange:
		for i := k; i < k+a; i++ {
			m.Delete(i)
		}
		return cell{}
	case opClear:
		m.Clear()
		return cell{}
	case opLen:
		return cell{m.Len(), true}
	}
	panic("applyMap: " + op.String())
}

// contents collects the map through Range, reporting a key yielded twice.
func contents(m Map[int, int]) (map[int]int, error) {
	got := map[int]int{}
	var err error
	m.Range(func(k, v int) bool {
		if _, dup := got[k]; dup && err == nil {
			err = fmt.Errorf("Range yielded key %d twice", k)
		}
		got[k] = v
		return true
	})
	return got, err
}

// modelState is gopter's state: the model after a command, and the result
// the command must have produced.
type modelState struct {
	m      map[int]int
	expect cell
}

type mapCmd struct {
	op      opKind
	k, a, b int
}

type cmdResult struct {
	c    cell
	full map[int]int // opRange
	n    int         // opRangeBreak: entries yielded
	err  error
}

func (c mapCmd) Run(sut commands.SystemUnderTest) commands.Result {
	m := sut.(Map[int, int])
	switch c.op {
	case opRange:
		full, err := contents(m)
		return cmdResult{full: full, err: err}
	case opRangeBreak:
		n := 0
		for range m.All() {
			n++
			if n == c.a {
				break
			}
		}
		return cmdResult{n: n}
	}
	return cmdResult{c: applyMap(m, c.op, c.k, c.a, c.b)}
}

func (c mapCmd) NextState(s commands.State) commands.State {
	st := s.(modelState)
	switch c.op {
	case opRange, opRangeBreak:
		return st
	}
	m := maps.Clone(st.m)
	return modelState{m: m, expect: applyModel(m, c.op, c.k, c.a, c.b)}
}

func (c mapCmd) PreCondition(commands.State) bool { return true }

func (c mapCmd) PostCondition(s commands.State, r commands.Result) *gopter.PropResult {
	st, res := s.(modelState), r.(cmdResult)
	switch c.op {
	case opRange:
		if res.err != nil {
			return gopter.NewPropResult(false, res.err.Error())
		}
		if !maps.Equal(res.full, st.m) {
			return gopter.NewPropResult(false, fmt.Sprintf("Range gave %v, model %v", sorted(res.full), sorted(st.m)))
		}
	case opRangeBreak:
		if want := min(c.a, len(st.m)); res.n != want {
			return gopter.NewPropResult(false, fmt.Sprintf("Range with break after %d yielded %d (len %d)", c.a, res.n, len(st.m)))
		}
	default:
		if res.c != st.expect {
			return gopter.NewPropResult(false, fmt.Sprintf("%v: got %+v, want %+v", c, res.c, st.expect))
		}
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

func (c mapCmd) String() string {
	return fmt.Sprintf("%v(k=%d,a=%d,b=%d)", c.op, c.k, c.a, c.b)
}

func sorted(m map[int]int) []string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s = append(s, fmt.Sprintf("%d:%d", k, m[k]))
	}
	return s
}

// genCmd generates commands among the ops v supports: mostly single-key
// ops on a small key space (so they hit), some bulk stores and deletes of
// up to 200 keys (so tables grow and shrink many times), rarely Clear.
func genCmd(v variant) gopter.Gen {
	var single []opKind
	for _, o := range []opKind{opLoad, opStore, opLoadOrStore, opLoadAndDelete, opDelete, opSwap,
		opCAS, opCAD, opCompute, opLoadOrCompute, opLen} {
		if v.ops.has(o) {
			single = append(single, o)
		}
	}
	var gens []gen.WeightedGen
	gens = append(gens, gen.WeightedGen{Weight: 20, Gen: gopter.CombineGens(
		gen.OneConstOf(anySlice(single)...), gen.IntRange(0, 15), gen.IntRange(0, 3), gen.IntRange(0, 3),
	).Map(func(vs []any) commands.Command {
		return mapCmd{op: vs[0].(opKind), k: vs[1].(int), a: vs[2].(int), b: vs[3].(int)}
	})})
	gens = append(gens, gen.WeightedGen{Weight: 2, Gen: gopter.CombineGens(
		gen.OneConstOf(opStoreRange, opDeleteRange), gen.IntRange(0, 400), gen.IntRange(1, 200),
	).Map(func(vs []any) commands.Command {
		return mapCmd{op: vs[0].(opKind), k: vs[1].(int), a: vs[2].(int)}
	})})
	for _, o := range []opKind{opRange, opRangeBreak, opClear} {
		if !v.ops.has(o) {
			continue
		}
		w := 2
		if o == opClear {
			w = 1
		}
		gens = append(gens, gen.WeightedGen{Weight: w, Gen: gen.IntRange(1, 5).Map(func(a int) commands.Command {
			return mapCmd{op: o, a: a}
		})})
	}
	return gen.Weighted(gens)
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// checkModel runs the gopter model test for v under the given options.
func checkModel(t tester, v variant, opts []Option, seed int64, tests, maxLen int) {
	t.Helper()
	cmds := &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest { return v.newII(opts...) },
		InitialStateGen:        gen.Const(modelState{m: map[int]int{}}),
		GenCommandFunc:         func(commands.State) gopter.Gen { return genCmd(v) },
	}
	params := gopter.DefaultTestParametersWithSeed(seed)
	params.MinSuccessfulTests = tests
	params.MaxSize = maxLen
	props := gopter.NewProperties(params)
	props.Property("matches a Go map", commands.Prop(cmds))
	var out bytes.Buffer
	if !props.Run(gopter.NewFormatedReporter(true, 160, &out)) {
		t.Errorf("model test failed (seed %d):\n%s", seed, out.String())
	}
}

func TestModel(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			for _, hm := range hashModes {
				for _, size := range []struct {
					name string
					opts []Option
				}{{"tiny", []Option{WithPresize(1)}}, {"presized", []Option{WithPresize(1000)}}, {"growonly", []Option{WithPresize(1), WithGrowOnly()}}} {
					if size.name == "presized" && hm.name != "default" {
						continue
					}
					t.Run(hm.name+"/"+size.name, func(t *testing.T) {
						t.Parallel()
						seed := testSeed(t)
						checkModel(t, v, append(slices.Clone(hm.opts), size.opts...), seed, scale(120), 80)
					})
				}
			}
		})
	}
}

// TestModelStringKeys runs a short fixed sequence on string keys, whose
// hashing takes a different path (maphash.Comparable, not the integer mix).
func TestModelStringKeys(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m := v.newSI(WithPresize(1))
			model := map[string]int{}
			for i := range 2000 {
				k := fmt.Sprintf("key-%d", i%700)
				switch i % 5 {
				case 0, 1, 2:
					m.Store(k, i)
					model[k] = i
				case 3:
					got, ok := m.Load(k)
					want, wok := model[k]
					if got != want || ok != wok {
						t.Fatalf("Load(%q) = %d,%v want %d,%v", k, got, ok, want, wok)
					}
				case 4:
					m.Delete(k)
					delete(model, k)
				}
			}
			if m.Len() != len(model) {
				t.Fatalf("Len %d, want %d", m.Len(), len(model))
			}
			got := map[string]int{}
			for k, val := range m.All() {
				got[k] = val
			}
			if !maps.Equal(got, model) {
				t.Fatalf("contents differ: %d vs %d entries", len(got), len(model))
			}
		})
	}
}
