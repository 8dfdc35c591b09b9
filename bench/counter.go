package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// counterWorkload is the hot spot: every operation increments one shared
// integer. It is the worst case for optimistic concurrency (every pair of
// concurrent transactions conflicts) and the best case for sync/atomic.
func counterWorkload() Workload {
	return Workload{
		Name: "counter",
		Doc:  "one hot counter; every operation increments it (invariant: final value = increments)",
		Engines: []Engine{
			{Name: Gostm, Doc: "a Var[int], read and set in a transaction", New: newCounterGostm, Counters: GostmCounters},
			{Name: GostmCommute, Doc: "a Var[int], stm.Add in a transaction (a blind update applied at commit)", New: newCounterGostmCommute, Counters: GostmCounters},
			{Name: Anacrolix, Doc: "an anacrolix Var", New: newCounterAnacrolix, Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "an int behind a sync.Mutex", New: newCounterMutex},
			{Name: Atomic, Doc: "atomic.Int64.Add", New: newCounterAtomic},
			{Name: Channel, Doc: "an owner goroutine receives increments", New: newCounterChannel},
		},
	}
}

// counterCheck compares the final value with the increments the workers
// counted themselves.
func counterCheck(got int, counts []int) error {
	if want := sum(counts); got != want {
		return fmt.Errorf("counter is %d after %d increments (lost or duplicated updates)", got, want)
	}
	return nil
}

func newCounterGostm(s Setup) (Instance, error) {
	return newCounterStm(s, func(tx *stm.Tx, v *stm.Var[int]) { v.Set(tx, v.Get(tx)+1) })
}

// newCounterGostmCommute increments with stm.Add: the transaction reads
// nothing, and the increment is applied to the latest value under the
// Var's lock at commit, so concurrent increments do not abort each other.
// What is left is the commit itself (the lock, the global clock).
func newCounterGostmCommute(s Setup) (Instance, error) {
	return newCounterStm(s, func(tx *stm.Tx, v *stm.Var[int]) { stm.Add(tx, v, 1) })
}

// newCounterStm is a gostm counter whose transactions increment with inc.
func newCounterStm(s Setup, inc func(tx *stm.Tx, v *stm.Var[int])) (Instance, error) {
	v := stm.NewVar(0)
	counts := make([]int, s.Goroutines)
	// The transaction body is built once: a closure literal at the call
	// would allocate on every operation and bias allocs/op.
	body := func(tx *stm.Tx) error {
		inc(tx, v)
		return nil
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				stm.Atomically(body)
				counts[g]++
				return true
			}
		},
		CheckFunc: func() error { return counterCheck(v.Load(), counts) },
	}, nil
}

func newCounterAnacrolix(s Setup) (Instance, error) {
	v := astm.NewVar(0)
	counts := make([]int, s.Goroutines)
	inc := func(tx *astm.Tx) interface{} {
		tx.Set(v, tx.Get(v).(int)+1)
		return nil
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				astm.Atomically(inc)
				counts[g]++
				return true
			}
		},
		CheckFunc: func() error { return counterCheck(astm.AtomicGet(v).(int), counts) },
	}, nil
}

func newCounterMutex(s Setup) (Instance, error) {
	var mu sync.Mutex
	n := 0
	counts := make([]int, s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				mu.Lock()
				n++
				mu.Unlock()
				counts[g]++
				return true
			}
		},
		CheckFunc: func() error { return counterCheck(n, counts) },
	}, nil
}

func newCounterAtomic(s Setup) (Instance, error) {
	var n atomic.Int64
	counts := make([]int, s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				n.Add(1)
				counts[g]++
				return true
			}
		},
		CheckFunc: func() error { return counterCheck(int(n.Load()), counts) },
	}, nil
}

func newCounterChannel(s Setup) (Instance, error) {
	// Unbuffered: a send completes when the owner has the increment, so
	// every counted operation is applied before the owner exits.
	incs := make(chan int)
	done, exited := make(chan struct{}), make(chan struct{})
	n := 0
	go func() {
		defer close(exited)
		for {
			select {
			case d := <-incs:
				n += d
			case <-done:
				return
			}
		}
	}()
	counts := make([]int, s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			return func() bool {
				select {
				case incs <- 1:
					counts[g]++
					return true
				case <-done:
					return false
				}
			}
		},
		StopFunc:  func() { close(done); <-exited },
		CheckFunc: func() error { return counterCheck(n, counts) },
	}, nil
}
