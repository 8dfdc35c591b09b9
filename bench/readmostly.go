package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// readMostlyWorkload: each operation reads k random cells; u% of them also
// move one unit between two of the cells read. It shows what invisible
// reads buy: readers write no shared memory, where even an RWMutex's
// RLock does.
func readMostlyWorkload() Workload {
	return Workload{
		Name: "readmostly",
		Doc:  "read k random cells; u% of operations also move a unit between two of them (invariant: the sum never changes)",
		Params: []Param{
			{Name: "vars", Usage: "number of cells", Default: 1024, Min: 2},
			{Name: "reads", Usage: "cells read per operation (k)", Default: 16, Min: 2},
			{Name: "update", Usage: "percentage of operations that also write (u)", Default: 10, Min: 0, Max: 100},
		},
		Engines: []Engine{
			{Name: Gostm, Doc: "a Var per cell", New: newReadMostlyGostm, Counters: GostmCounters},
			{Name: Anacrolix, Doc: "an anacrolix Var per cell", New: newReadMostlyAnacrolix, Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "one mutex", New: func(s Setup) (Instance, error) { return newReadMostlyLocked(s, false), nil }},
			{Name: RWMutex, Doc: "one RWMutex; read-only operations share it", New: func(s Setup) (Instance, error) { return newReadMostlyLocked(s, true), nil }},
		},
	}
}

const readMostlyInitial = 100

// rmOp is one operation: the cells to read, and whether to move a unit
// from the first to the second.
type rmOp struct {
	idx    []int
	update bool
}

func (o *rmOp) next(rng *rand.Rand, vars, pct int) {
	for i := range o.idx {
		o.idx[i] = rng.IntN(vars)
	}
	o.update = rng.IntN(100) < pct
}

// rmSink keeps the sums read alive, so the compiler cannot drop the reads.
type rmSink struct{ sums []int }

func rmCheck(total, vars int) error {
	if want := vars * readMostlyInitial; total != want {
		return fmt.Errorf("sum of cells is %d, want %d", total, want)
	}
	return nil
}

func newReadMostlyGostm(s Setup) (Instance, error) {
	vars, k, pct := s.Params["vars"], s.Params["reads"], s.Params["update"]
	cells, err := makeVars(s, vars, func() *stm.Var[int] { return stm.NewVar(readMostlyInitial) })
	if err != nil {
		return nil, err
	}
	sink := rmSink{make([]int, s.Goroutines)}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			op := rmOp{idx: make([]int, k)}
			read := func(tx *stm.Tx) int {
				t := 0
				for _, i := range op.idx {
					t += cells[i].Get(tx)
				}
				return t
			}
			update := func(tx *stm.Tx) error {
				sink.sums[g] += read(tx)
				a, b := cells[op.idx[0]], cells[op.idx[1]]
				a.Set(tx, a.Get(tx)-1)
				b.Set(tx, b.Get(tx)+1)
				return nil
			}
			return func() bool {
				op.next(rng, vars, pct)
				if op.update {
					stm.Atomically(update)
				} else {
					sink.sums[g] += stm.Eval(read)
				}
				return true
			}
		},
		CheckFunc: func() error {
			t := 0
			for _, c := range cells {
				t += c.Load()
			}
			return rmCheck(t, vars)
		},
	}, nil
}

func newReadMostlyAnacrolix(s Setup) (Instance, error) {
	vars, k, pct := s.Params["vars"], s.Params["reads"], s.Params["update"]
	cells, err := makeVars(s, vars, func() *astm.Var { return astm.NewVar(readMostlyInitial) })
	if err != nil {
		return nil, err
	}
	sink := rmSink{make([]int, s.Goroutines)}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			op := rmOp{idx: make([]int, k)}
			read := func(tx *astm.Tx) interface{} {
				t := 0
				for _, i := range op.idx {
					t += tx.Get(cells[i]).(int)
				}
				return t
			}
			update := func(tx *astm.Tx) interface{} {
				read(tx)
				a, b := cells[op.idx[0]], cells[op.idx[1]]
				tx.Set(a, tx.Get(a).(int)-1)
				tx.Set(b, tx.Get(b).(int)+1)
				return nil
			}
			return func() bool {
				op.next(rng, vars, pct)
				if op.update {
					astm.Atomically(update)
				} else {
					sink.sums[g] += astm.Atomically(read).(int)
				}
				return true
			}
		},
		CheckFunc: func() error {
			t := 0
			for _, c := range cells {
				t += astm.AtomicGet(c).(int)
			}
			return rmCheck(t, vars)
		},
	}, nil
}

func newReadMostlyLocked(s Setup, shared bool) Instance {
	vars, k, pct := s.Params["vars"], s.Params["reads"], s.Params["update"]
	cells := make([]int, vars)
	for i := range cells {
		cells[i] = readMostlyInitial
	}
	var mu sync.Mutex
	var rw sync.RWMutex
	sink := rmSink{make([]int, s.Goroutines)}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			op := rmOp{idx: make([]int, k)}
			read := func() {
				t := 0
				for _, i := range op.idx {
					t += cells[i]
				}
				sink.sums[g] += t
			}
			write := func() {
				cells[op.idx[0]]--
				cells[op.idx[1]]++
			}
			return func() bool {
				op.next(rng, vars, pct)
				switch {
				case !shared:
					mu.Lock()
					read()
					if op.update {
						write()
					}
					mu.Unlock()
				case op.update:
					rw.Lock()
					read()
					write()
					rw.Unlock()
				default:
					rw.RLock()
					read()
					rw.RUnlock()
				}
				return true
			}
		},
		CheckFunc: func() error { return rmCheck(sum(cells), vars) },
	}
}
