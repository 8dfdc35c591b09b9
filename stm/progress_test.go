package stm_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

func TestHotVarManyGoroutinesExactTotal(t *testing.T) {
	const goroutines, each = 64, 500
	v := stm.NewVar(0)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				stm.Atomically(func(tx *stm.Tx) error {
					v.Set(tx, v.Get(tx)+1)
					return nil
				})
			}
		})
	}
	wg.Wait()
	require.Equal(t, goroutines*each, v.Load())
}

// A transaction reading 10,000 Vars commits within SerialAfter+1 attempts
// while two goroutines keep writing some of the Vars it reads.
func TestLongReaderCommitsUnderWriters(t *testing.T) {
	const n = 10_000
	vars := make([]*stm.Var[int], n)
	for i := range vars {
		vars[i] = stm.NewVar(1)
	}
	var stop atomic.Bool
	var writes atomic.Int64
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				a, b := vars[(i*7919+w)%n], vars[(i*104729+w*31)%n]
				stm.Atomically(func(tx *stm.Tx) error { // move one unit: the sum stays n
					if a == b {
						return nil
					}
					a.Set(tx, a.Get(tx)-1)
					b.Set(tx, b.Get(tx)+1)
					return nil
				})
				writes.Add(1)
			}
		})
	}
	for writes.Load() < 100 {
		// let the writers get going before the long reader starts
		runtime.Gosched()
	}
	attempts := 0
	sum := stm.Eval(func(tx *stm.Tx) int {
		attempts++
		s := 0
		for _, v := range vars {
			s += v.Get(tx)
		}
		return s
	})
	stop.Store(true)
	wg.Wait()
	require.Equal(t, n, sum, "the long reader saw an inconsistent total")
	require.LessOrEqual(t, attempts, stm.SerialAfter+1, "the long reader starved")
	t.Logf("long reader committed after %d attempts, writers made %d commits", attempts, writes.Load())
}
