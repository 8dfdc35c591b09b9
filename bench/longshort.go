package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// longShortWorkload is ZIO's retry-storm case: worker 0 runs a long
// transaction that increments every one of L cells, while the other
// workers increment the first cell in short transactions. An STM that
// lets short writers abort the long one forever starves it; gostm's
// irrevocable fallback bounds its attempts. The "long" role's tx/s shows
// whether it got through.
func longShortWorkload() Workload {
	return Workload{
		Name: "longshort",
		Doc:  "worker 0 increments all L cells in one transaction; the others increment cell 0 (invariant: cell 0 = long + short commits, others = long commits)",
		Params: []Param{
			{Name: "length", Usage: "cells the long transaction updates (L)", Default: 1024, Min: 1, Tour: 256},
		},
		Role: func(g, _ int) string {
			if g == 0 {
				return "long"
			}
			return "short"
		},
		Engines: []Engine{
			{Name: Gostm, Doc: "a Var per cell", New: newLongShortGostm, Counters: GostmCounters},
			{Name: Anacrolix, Doc: "an anacrolix Var per cell", New: newLongShortAnacrolix, Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "one mutex", New: newLongShortMutex},
			{Name: FineLock, Doc: "a mutex per cell; the long operation locks them all in order", New: newLongShortFineLock},
		},
	}
}

// lsCheck verifies the cells against the commits counted by workers
// (commits[0] is the long worker's).
func lsCheck(cell func(i int) int, length int, commits []int) error {
	long := commits[0]
	if got, want := cell(0), sum(commits); got != want {
		return fmt.Errorf("cell 0 is %d, want %d (long %d + short %d)", got, want, long, want-long)
	}
	for i := 1; i < length; i++ {
		if got := cell(i); got != long {
			return fmt.Errorf("cell %d is %d, want %d long commits: the long transaction was torn", i, got, long)
		}
	}
	return nil
}

func newLongShortGostm(s Setup) (Instance, error) {
	n := s.Params["length"]
	cells, err := makeVars(s, n, func() *stm.Var[int] { return stm.NewVar(0) })
	if err != nil {
		return nil, err
	}
	commits := make([]int, s.Goroutines)
	long := func(tx *stm.Tx) error {
		for _, c := range cells {
			c.Set(tx, c.Get(tx)+1)
		}
		return nil
	}
	short := func(tx *stm.Tx) error {
		cells[0].Set(tx, cells[0].Get(tx)+1)
		return nil
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			body := short
			if g == 0 {
				body = long
			}
			return func() bool {
				stm.Atomically(body)
				commits[g]++
				return true
			}
		},
		CheckFunc: func() error { return lsCheck(func(i int) int { return cells[i].Load() }, n, commits) },
	}, nil
}

func newLongShortAnacrolix(s Setup) (Instance, error) {
	n := s.Params["length"]
	cells, err := makeVars(s, n, func() *astm.Var { return astm.NewVar(0) })
	if err != nil {
		return nil, err
	}
	commits := make([]int, s.Goroutines)
	long := func(tx *astm.Tx) interface{} {
		for _, c := range cells {
			tx.Set(c, tx.Get(c).(int)+1)
		}
		return nil
	}
	short := func(tx *astm.Tx) interface{} {
		tx.Set(cells[0], tx.Get(cells[0]).(int)+1)
		return nil
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			body := short
			if g == 0 {
				body = long
			}
			return func() bool {
				astm.Atomically(body)
				commits[g]++
				return true
			}
		},
		CheckFunc: func() error {
			return lsCheck(func(i int) int { return astm.AtomicGet(cells[i]).(int) }, n, commits)
		},
	}, nil
}

func newLongShortMutex(s Setup) (Instance, error) {
	n := s.Params["length"]
	cells := make([]int, n)
	var mu sync.Mutex
	commits := make([]int, s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				mu.Lock()
				if g == 0 {
					for i := range cells {
						cells[i]++
					}
				} else {
					cells[0]++
				}
				mu.Unlock()
				commits[g]++
				return true
			}
		},
		CheckFunc: func() error { return lsCheck(func(i int) int { return cells[i] }, n, commits) },
	}, nil
}

func newLongShortFineLock(s Setup) (Instance, error) {
	n := s.Params["length"]
	type cell struct {
		mu sync.Mutex
		v  int
	}
	cells := make([]cell, n)
	commits := make([]int, s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				if g == 0 {
					for i := range cells {
						cells[i].mu.Lock()
					}
					for i := range cells {
						cells[i].v++
					}
					for i := range cells {
						cells[i].mu.Unlock()
					}
				} else {
					cells[0].mu.Lock()
					cells[0].v++
					cells[0].mu.Unlock()
				}
				commits[g]++
				return true
			}
		},
		CheckFunc: func() error { return lsCheck(func(i int) int { return cells[i].v }, n, commits) },
	}, nil
}
