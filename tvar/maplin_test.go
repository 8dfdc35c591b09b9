package tvar_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

const linKeys = 5

// mapIn is a map operation: get, set, delete, incr (Update adding v,
// inserting v if absent), len, or range.
type mapIn struct {
	kind string
	k, v int
}

type mapOut struct {
	v   int
	ok  bool
	all string // range only
}

// mapState is the model's state: comparable and copied by value.
type mapState struct {
	v       [linKeys]int
	present [linKeys]bool
}

func (s mapState) String() string {
	var b strings.Builder
	for k := range linKeys {
		if s.present[k] {
			fmt.Fprintf(&b, "%d=%d ", k, s.v[k])
		}
	}
	return b.String()
}

var mapLinModel = porcupine.Model{
	Init: func() any { return mapState{} },
	Step: func(state, in, out any) (bool, any) {
		s, i, o := state.(mapState), in.(mapIn), out.(mapOut)
		switch i.kind {
		case "get":
			return o.ok == s.present[i.k] && (!o.ok || o.v == s.v[i.k]), s
		case "set":
			s.v[i.k], s.present[i.k] = i.v, true
			return true, s
		case "delete":
			ok := o.ok == s.present[i.k]
			s.present[i.k], s.v[i.k] = false, 0
			return ok, s
		case "incr":
			s.v[i.k] += i.v
			s.present[i.k] = true
			return true, s
		case "len":
			n := 0
			for _, p := range s.present {
				if p {
					n++
				}
			}
			return o.v == n, s
		default:
			return o.all == s.String(), s
		}
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(mapIn), out.(mapOut)
		switch i.kind {
		case "set", "incr":
			return fmt.Sprintf("%s(%d,%d)", i.kind, i.k, i.v)
		case "range":
			return "range -> " + o.all
		case "len":
			return fmt.Sprintf("len -> %d", o.v)
		default:
			return fmt.Sprintf("%s(%d) -> %d,%v", i.kind, i.k, o.v, o.ok)
		}
	},
	DescribeState: func(state any) string { return state.(mapState).String() },
}

func mapRange(m *tvar.Map[int, int]) string {
	return stm.Eval(func(tx *stm.Tx) string {
		var s mapState
		for k, v := range m.Range(tx) {
			s.v[k], s.present[k] = v, true
		}
		return s.String()
	})
}

// mapCase makes 2–4 clients on a fresh map with a random hasher; incr is
// done through incr so that a test can swap in a broken one.
func mapCase(r *rand.Rand, incr func(m *tvar.Map[int, int], k, d int)) ([]linStep, [][]linStep) {
	m := newIntMap(r.IntN(len(hashers)))
	var prefix []linStep
	for k := range linKeys {
		if r.IntN(2) == 0 {
			prefix = append(prefix, linStep{mapIn{"set", k, 100 + k}, func() any {
				atomically(func(tx *stm.Tx) { m.Set(tx, k, 100+k) })
				return mapOut{}
			}})
		}
	}
	clients := make([][]linStep, 2+r.IntN(3))
	for c := range clients {
		for range 2 + r.IntN(6) {
			k, v := r.IntN(linKeys), r.IntN(50)
			var s linStep
			switch x := r.IntN(20); {
			case x < 5:
				s = linStep{mapIn{"get", k, 0}, func() any {
					var o mapOut
					atomically(func(tx *stm.Tx) { o.v, o.ok = m.Get(tx, k); yieldSometimes(k) })
					return o
				}}
			case x < 9:
				s = linStep{mapIn{"set", k, v}, func() any { atomically(func(tx *stm.Tx) { m.Set(tx, k, v); yieldSometimes(v) }); return mapOut{} }}
			case x < 13:
				s = linStep{mapIn{"delete", k, 0}, func() any {
					return mapOut{ok: stm.Eval(func(tx *stm.Tx) bool { defer yieldSometimes(v); return m.Delete(tx, k) })}
				}}
			case x < 17:
				s = linStep{mapIn{"incr", k, v}, func() any { incr(m, k, v); return mapOut{} }}
			case x < 19:
				s = linStep{mapIn{"len", 0, 0}, func() any { return mapOut{v: stm.Eval(m.Len)} }}
			default:
				s = linStep{mapIn{"range", 0, 0}, func() any { return mapOut{all: mapRange(m)} }}
			}
			clients[c] = append(clients[c], s)
		}
	}
	return prefix, clients
}

func incr(m *tvar.Map[int, int], k, d int) {
	atomically(func(tx *stm.Tx) {
		m.Update(tx, k, func(v int, _ bool) (int, bool) { return v + d, true })
		yieldSometimes(d)
	})
}

func TestMapLinearizable(t *testing.T) {
	checkLinearizable(t, mapLinModel, scale(400, 100, 150), func(r *rand.Rand) ([]linStep, [][]linStep) {
		return mapCase(r, incr)
	})
}

// The checker must be able to fail: an increment split into a Get and a
// Set in two transactions loses updates when clients race.
func TestMapLinearizabilityCatchesSplitUpdate(t *testing.T) {
	r := newRand(testSeed(t))
	split := func(m *tvar.Map[int, int], k, d int) {
		var v int
		atomically(func(tx *stm.Tx) { v, _ = m.Get(tx, k) })
		runtime.Gosched()
		atomically(func(tx *stm.Tx) { m.Set(tx, k, v+d) })
	}
	for i := range 5000 {
		prefix, clients := mapCase(r, split)
		if !porcupine.CheckOperations(mapLinModel, record(prefix, clients, r)) {
			t.Logf("split update caught after %d cases", i+1)
			return
		}
	}
	t.Fatal("porcupine accepted 5000 histories of a map whose increment is not atomic")
}
