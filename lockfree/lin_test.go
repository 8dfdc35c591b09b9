package lockfree

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Linearizability: concurrent clients run random operations on a few keys,
// each call and return stamped from one atomic logical clock (never wall
// time), and porcupine decides whether some sequential order of the
// operations, consistent with real-time order, explains every result.

type linInput struct {
	op      opKind
	k, a, b int
}

// linOutput is a single-key op's result (cell), a Range's snapshot of the
// linKeys keys ([linKeys]cell), or a Len (int).
const linKeys = 4

type rangeOut struct {
	cells [linKeys]cell
	err   string
}

func stepCell(s cell, in linInput, out cell) (bool, cell) {
	m := map[int]int{}
	if s.ok {
		m[in.k] = s.v
	}
	want := applyModel(m, in.op, in.k, in.a, in.b)
	v, ok := m[in.k]
	return want == out, cell{v, ok}
}

func describe(input, output any) string {
	in := input.(linInput)
	return fmt.Sprintf("%v(k=%d a=%d b=%d) -> %+v", in.op, in.k, in.a, in.b, output)
}

// perKeyModel is partitioned by key: single-key ops on different keys
// commute, so each key's sub-history is checked alone (P-compositionality),
// which keeps the search small.
var perKeyModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[int][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(linInput).k
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, p := range by {
			out = append(out, p)
		}
		return out
	},
	Init: func() any { return cell{} },
	Step: func(state, input, output any) (bool, any) {
		return stepCell(state.(cell), input.(linInput), output.(cell))
	},
	DescribeOperation: describe,
}

// wholeModel keeps all linKeys keys in one state so it can also check Range
// (as a snapshot), Len and Clear.
var wholeModel = porcupine.Model{
	Init: func() any { return [linKeys]cell{} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.([linKeys]cell), input.(linInput)
		switch in.op {
		case opRange:
			out := output.(rangeOut)
			return out.err == "" && out.cells == s, s
		case opLen:
			n := 0
			for _, c := range s {
				if c.ok {
					n++
				}
			}
			return output.(int) == n, s
		case opClear:
			return true, [linKeys]cell{}
		}
		ok, c := stepCell(s[in.k], in, output.(cell))
		s[in.k] = c
		return ok, s
	},
	DescribeOperation: describe,
}

var singleKeyOps = []opKind{opLoad, opStore, opLoadOrStore, opLoadAndDelete, opDelete, opSwap,
	opCAS, opCAD, opCompute, opLoadOrCompute}

type linConfig struct {
	histories    int
	opsPerClient int
	whole        bool     // use wholeModel and add these whole-map ops
	wholeOps     []opKind // opRange, opLen, opClear
	noise        bool     // unrecorded writers churn other keys to force resizes
}

// checkLinearizable runs cfg.histories histories of 2–4 clients and checks
// each with porcupine.
func checkLinearizable(t tester, v variant, opts []Option, seed int64, cfg linConfig) {
	t.Helper()
	var ops []opKind
	for _, o := range singleKeyOps {
		if v.ops.has(o) {
			ops = append(ops, o)
		}
	}
	model := perKeyModel
	if cfg.whole {
		model = wholeModel
		ops = append(ops, cfg.wholeOps...)
	}
	for h := range cfg.histories {
		clients := 2 + h%3
		m := v.newII(opts...)
		var clock atomic.Int64
		hist := make([][]porcupine.Operation, clients)
		var wg sync.WaitGroup
		var stop atomic.Bool
		if cfg.noise {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					for k := 1000; k < 1200 && !stop.Load(); k++ {
						m.Store(k, k)
					}
					for k := 1000; k < 1200; k++ {
						m.Delete(k)
					}
					// With one P this loop would run for whole time slices
					// and starve the recorded clients (minutes per test);
					// with more, keep the pressure on the resizes.
					if runtime.GOMAXPROCS(0) == 1 {
						runtime.Gosched()
					}
				}
			}()
		}
		var cwg sync.WaitGroup
		for c := range clients {
			cwg.Add(1)
			go func() {
				defer cwg.Done()
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(h*16+c)))
				for range cfg.opsPerClient {
					in := linInput{op: ops[rng.IntN(len(ops))], k: rng.IntN(linKeys), a: rng.IntN(4), b: rng.IntN(4)}
					var out any
					call := clock.Add(1)
					switch in.op {
					case opRange:
						var r rangeOut
						seen := map[int]bool{}
						m.Range(func(k, val int) bool {
							runtime.Gosched() // widen the window for a non-atomic Range
							if seen[k] {
								r.err = fmt.Sprintf("key %d twice", k)
							}
							seen[k] = true
							if k >= 0 && k < linKeys {
								r.cells[k] = cell{val, true}
							}
							return true
						})
						out = r
					case opLen:
						out = m.Len()
					case opClear:
						m.Clear()
						out = cell{}
					default:
						out = applyMap(m, in.op, in.k, in.a, in.b)
					}
					ret := clock.Add(1)
					hist[c] = append(hist[c], porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
				}
			}()
		}
		cwg.Wait()
		stop.Store(true)
		wg.Wait()
		var all []porcupine.Operation
		for _, ops := range hist {
			all = append(all, ops...)
		}
		res, info := porcupine.CheckOperationsVerbose(model, all, 10*time.Second)
		switch res {
		case porcupine.Illegal:
			f, err := os.CreateTemp("", "lockfree-"+v.name+"-*.html")
			path := "(could not write visualization)"
			if err == nil {
				if porcupine.Visualize(model, info, f) == nil {
					path = f.Name()
				}
				f.Close()
			}
			t.Errorf("history %d (%d clients, seed %d) is not linearizable; visualization: %s\n%s",
				h, clients, seed, path, describeIllegal(model, all))
			return
		case porcupine.Unknown:
			t.Logf("history %d: porcupine timed out (inconclusive)", h)
		}
	}
}

func TestLinearizable(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			for _, hm := range hashModes {
				t.Run(hm.name, func(t *testing.T) {
					t.Parallel()
					seed := testSeed(t)
					opts := append([]Option{WithPresize(1)}, hm.opts...)
					// Long histories, and many short ones (which porcupine
					// checks fast and which show a failure in few operations).
					checkLinearizable(t, v, opts, seed, linConfig{histories: scale(80), opsPerClient: 100, noise: true})
					checkLinearizable(t, v, opts, seed+1, linConfig{histories: scale(300), opsPerClient: 12, noise: true})
				})
			}
		})
	}
}

// TestLinearizableWhole checks Clear (for variants that promise it is
// linearizable) and Range and Len (for snapshot variants) against a model
// of the whole map.
func TestLinearizableWhole(t *testing.T) {
	for _, v := range variants {
		var whole []opKind
		if v.linearClear {
			whole = append(whole, opClear)
		}
		if v.linearRange {
			whole = append(whole, opRange, opLen)
		}
		if whole == nil {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			seed := testSeed(t)
			checkLinearizable(t, v, []Option{WithPresize(1)}, seed,
				linConfig{histories: scale(120), opsPerClient: 40, whole: true, wholeOps: whole})
		})
	}
}

// describeIllegal lists the operations of the smallest sub-history (one
// partition of the model) that porcupine rejects, in call order.
func describeIllegal(model porcupine.Model, all []porcupine.Operation) string {
	parts := [][]porcupine.Operation{all}
	if model.Partition != nil {
		parts = model.Partition(all)
	}
	var bad []porcupine.Operation
	for _, p := range parts {
		if porcupine.CheckOperations(model, p) {
			continue
		}
		if bad == nil || len(p) < len(bad) {
			bad = p
		}
	}
	slices.SortFunc(bad, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	var sb strings.Builder
	for i, op := range bad {
		if i == 80 {
			sb.WriteString("  ...\n")
			break
		}
		fmt.Fprintf(&sb, "  client %d [%d,%d] %s\n", op.ClientId, op.Call, op.Return, describe(op.Input, op.Output))
	}
	return sb.String()
}
