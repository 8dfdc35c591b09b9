package stm_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"gostm.dev/stm"
)

// conservedWorkload runs movers that shift value between vars (the sum stays
// total) against readers that check the sum inside the body on every
// attempt, until the readers have made at least minAttempts attempts. It
// returns how many attempts saw a broken sum.
// With stopAfter > 0 it also stops once that many violations were seen.
func conservedWorkload(t *testing.T, seed uint64, minAttempts, stopAfter int64) (violations, attempts int64) {
	t.Helper()
	const nvars, total = 4, 100
	vars := make([]*stm.Var[int], nvars)
	for i := range vars {
		vars[i] = stm.NewVar(total / nvars)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for m := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(m)))
			for !stop.Load() {
				from, to, amt := rng.IntN(nvars), rng.IntN(nvars), rng.IntN(10)
				stm.Atomically(func(tx *stm.Tx) error {
					f := vars[from].Get(tx)
					vars[from].Set(tx, f-amt)
					vars[to].Set(tx, vars[to].Get(tx)+amt)
					return nil
				})
				runtime.Gosched() // share the two cores with the readers
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.LoadInt64(&attempts) < minAttempts &&
				(stopAfter == 0 || atomic.LoadInt64(&violations) < stopAfter) {
				stm.Atomically(func(tx *stm.Tx) error {
					atomic.AddInt64(&attempts, 1)
					sum := 0
					for _, v := range vars {
						sum += v.Get(tx)
						runtime.Gosched() // widen the window for a mover to commit between reads
					}
					if sum != total {
						atomic.AddInt64(&violations, 1)
					}
					return nil
				})
			}
			stop.Store(true)
		}()
	}
	wg.Wait()
	return violations, attempts
}

// Every attempt, including those that later abort, sees a consistent
// snapshot: the invariant checked inside the body never fails.
func TestOpacityInvariantHoldsInsideEveryAttempt(t *testing.T) {
	seed := testSeed(t)
	before := stm.ReadStats()
	violations, attempts := conservedWorkload(t, seed, 100_000, 0)
	t.Logf("engine stats: %+v", stm.ReadStats().Sub(before))
	if violations != 0 {
		t.Fatalf("%d of %d attempts saw a torn snapshot (seed %d)", violations, attempts, seed)
	}
	t.Logf("%d reader attempts, no violation", attempts)
}

// The opacity test above can fail: with read validation switched off (the
// engine still validates at commit, so it stays serializable but is no
// longer opaque) the same workload catches torn snapshots.
func TestOpacityTestCatchesNonOpaqueEngine(t *testing.T) {
	stm.SetAcceptNewerReads(true)
	defer stm.SetAcceptNewerReads(false)
	seed := testSeed(t)
	violations, attempts := conservedWorkload(t, seed, 100_000, 100)
	if violations == 0 {
		t.Fatalf("non-opaque engine: no violation in %d attempts; the opacity test proves nothing (seed %d)", attempts, seed)
	}
	t.Logf("non-opaque engine: %d of %d attempts saw a torn snapshot", violations, attempts)
}
