package tvar_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Linearizability: 2–4 clients run short random scripts concurrently on one
// object; every operation is stamped with an atomic logical clock just
// before its call and just after its return (never wall time, whose reads
// can be reordered around the operation), and porcupine searches for a
// sequential order, consistent with those intervals, that a pure model
// accepts. Many small cases per run: porcupine's search is exponential in
// the number of overlapping operations, and small cases still catch
// non-atomic operations, because each case is a fresh race.

// linCase runs one random case. script(rng, client) returns the client's
// operations; each is a closure doing the call, with its porcupine input.
type linStep struct {
	in  any
	run func() any // does the operation, returns the output
}

// record runs prefix sequentially (as client -1), then clients
// concurrently, and returns the stamped history.
func record(prefix []linStep, clients [][]linStep, r *rand.Rand) []porcupine.Operation {
	var clk atomic.Int64
	var ops []porcupine.Operation
	for _, s := range prefix {
		call := clk.Add(1)
		out := s.run()
		ops = append(ops, porcupine.Operation{ClientId: len(clients), Input: s.in, Call: call, Output: out, Return: clk.Add(1)})
	}
	var wg sync.WaitGroup
	// Each client yields (with probability 1/2) just after its call stamp
	// and again before its return stamp, so operations stretch over other
	// clients' and actually overlap on a 2-core machine; and all clients
	// spin at a barrier so that they start together, not one by one.
	yields := make([][]uint8, len(clients))
	for c, steps := range clients {
		yields[c] = make([]uint8, len(steps))
		for i := range steps {
			yields[c][i] = uint8(r.IntN(4))
		}
	}
	var ready atomic.Int32
	hist := make([][]porcupine.Operation, len(clients))
	for c, steps := range clients {
		wg.Go(func() {
			ready.Add(1)
			for ready.Load() < int32(len(clients)) {
				runtime.Gosched()
			}
			for i, s := range steps {
				call := clk.Add(1)
				if yields[c][i]&1 != 0 {
					runtime.Gosched()
				}
				out := s.run()
				if yields[c][i]&2 != 0 {
					runtime.Gosched()
				}
				ret := clk.Add(1)
				hist[c] = append(hist[c], porcupine.Operation{ClientId: c, Input: s.in, Call: call, Output: out, Return: ret})
			}
		})
	}
	wg.Wait()
	for _, h := range hist {
		ops = append(ops, h...)
	}
	return ops
}

// checkLinearizable runs cases random cases and fails t at the first that
// porcupine rejects, saving a visualisation of it.
func checkLinearizable(t *testing.T, model porcupine.Model, cases int, newCase func(r *rand.Rand) (prefix []linStep, clients [][]linStep)) {
	t.Helper()
	r := newRand(testSeed(t))
	for i := range cases {
		prefix, clients := newCase(r)
		ops := record(prefix, clients, r)
		res, info := porcupine.CheckOperationsVerbose(model, ops, 10*time.Second)
		switch res {
		case porcupine.Ok:
		case porcupine.Unknown:
			t.Logf("case %d: porcupine timed out; not counted", i)
		default:
			f, err := os.CreateTemp("", "tvar-lin-*.html")
			if err == nil {
				porcupine.Visualize(model, info, f)
				f.Close()
			}
			t.Fatalf("case %d: history is not linearizable (visualisation: %s)\n%s", i, f.Name(), describe(model, ops))
		}
	}
}

// yieldSometimes yields inside a transaction body for odd x: the attempt
// then spans other clients' commits, which is when a read that escaped
// the transaction (or any non-atomic step) would show.
func yieldSometimes(x int) {
	if x&1 != 0 {
		runtime.Gosched()
	}
}

func describe(model porcupine.Model, ops []porcupine.Operation) string {
	s := ""
	for _, o := range ops {
		s += fmt.Sprintf("  client %d [%d,%d] %s\n", o.ClientId, o.Call, o.Return, model.DescribeOperation(o.Input, o.Output))
	}
	return s
}

// queueIn is a queue operation: push v, put v back, try-pop, or len.
type queueIn struct {
	kind byte // 'u' push, 'g' unGet, 'o' try-pop, 'l' len
	v    int
}

type queueOut struct {
	v  int
	ok bool
}

// queueModel's state is the queue's contents as a string, one byte per
// element: immutable and comparable, as porcupine needs.
var queueLinModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, in, out any) (bool, any) {
		s, i, o := state.(string), in.(queueIn), out.(queueOut)
		switch i.kind {
		case 'u':
			return true, s + string([]byte{byte(i.v)})
		case 'g':
			return true, string([]byte{byte(i.v)}) + s
		case 'o':
			if len(s) == 0 {
				return !o.ok, s
			}
			return o.ok && o.v == int(s[0]), s[1:]
		default:
			return o.v == len(s), s
		}
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(queueIn), out.(queueOut)
		switch i.kind {
		case 'u':
			return fmt.Sprintf("push(%d)", i.v)
		case 'g':
			return fmt.Sprintf("unGet(%d)", i.v)
		case 'o':
			return fmt.Sprintf("tryPop() -> %d, %v", o.v, o.ok)
		default:
			return fmt.Sprintf("len() -> %d", o.v)
		}
	},
}

// queueCase makes 2–4 clients of 2–8 operations on a fresh queue, pushing
// distinct small values; pop is called through popFn so a test can swap
// in a broken one.
func queueCase(r *rand.Rand, popFn func(q *tvar.Queue[int]) queueOut) ([]linStep, [][]linStep) {
	q := tvar.NewQueue[int]()
	// A few elements queued first make pops race with each other, not
	// only with pushes.
	var prefix []linStep
	for i := range r.IntN(3) {
		v := 200 + i
		prefix = append(prefix, linStep{queueIn{'u', v}, func() any {
			atomically(func(tx *stm.Tx) { q.Push(tx, v) })
			return queueOut{}
		}})
	}
	clients := make([][]linStep, 2+r.IntN(3))
	next := 1
	for c := range clients {
		for range 2 + r.IntN(7) {
			switch k := r.IntN(10); {
			case k < 4:
				v := next
				next++
				clients[c] = append(clients[c], linStep{queueIn{'u', v}, func() any {
					atomically(func(tx *stm.Tx) { q.Push(tx, v); yieldSometimes(v) })
					return queueOut{}
				}})
			case k < 8:
				clients[c] = append(clients[c], linStep{queueIn{'o', 0}, func() any { return popFn(q) }})
			case k < 9:
				v := 100 + next
				next++
				clients[c] = append(clients[c], linStep{queueIn{'g', v}, func() any {
					atomically(func(tx *stm.Tx) { q.UnGet(tx, v); yieldSometimes(v) })
					return queueOut{}
				}})
			default:
				clients[c] = append(clients[c], linStep{queueIn{'l', 0}, func() any { return queueOut{v: stm.Eval(q.Len)} }})
			}
		}
	}
	return prefix, clients
}

func tryPop(q *tvar.Queue[int]) queueOut {
	var o queueOut
	atomically(func(tx *stm.Tx) { o.v, o.ok = q.TryPop(tx); yieldSometimes(o.v) })
	return o
}

func TestQueueLinearizable(t *testing.T) {
	checkLinearizable(t, queueLinModel, scale(400, 100, 150), func(r *rand.Rand) ([]linStep, [][]linStep) {
		return queueCase(r, tryPop)
	})
}

// The checker must be able to fail: a pop split into two transactions
// (peek, then pop) returns the same element twice when two clients race,
// and porcupine has to notice within a bounded number of cases.
func TestQueueLinearizabilityCatchesSplitPop(t *testing.T) {
	r := newRand(testSeed(t))
	splitPop := func(q *tvar.Queue[int]) queueOut {
		var o queueOut
		atomically(func(tx *stm.Tx) { o.v, o.ok = q.TryPeek(tx) })
		runtime.Gosched()
		if o.ok {
			atomically(func(tx *stm.Tx) { q.TryPop(tx) })
		}
		return o
	}
	for i := range 5000 {
		prefix, clients := queueCase(r, splitPop)
		if !porcupine.CheckOperations(queueLinModel, record(prefix, clients, r)) {
			t.Logf("split pop caught after %d cases", i+1)
			return
		}
	}
	t.Fatal("porcupine accepted 5000 histories of a queue whose pop is not atomic")
}
