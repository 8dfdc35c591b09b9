package stm_test

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gostm.dev/internal/watchdog"
	"gostm.dev/stm"
)

// The bar: 8 goroutines each commute +1 onto one shared Var 10^4
// times, each transaction also writing a Var of the goroutine's own. The
// shared Var is the only thing they have in common, so any abort would be
// its doing: there must be none, and the total must be exact.
func TestCommutersOfOneVarNeverAbort(t *testing.T) {
	const goroutines, each = 8, 10_000
	shared := stm.NewVar(0)
	own := make([]*stm.Var[int], goroutines)
	for i := range own {
		own[i] = stm.NewVar(0)
	}
	before := stm.ReadStats()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				stm.Atomically(func(tx *stm.Tx) error {
					stm.Add(tx, shared, 1)
					own[g].Set(tx, own[g].Get(tx)+1)
					return nil
				})
			}
		})
	}
	wg.Wait()
	d := stm.ReadStats().Sub(before)
	require.Equal(t, goroutines*each, shared.Load())
	for g := range own {
		require.Equal(t, each, own[g].Load())
	}
	require.Zero(t, d.Aborts, "commuters aborted: %+v", d)
}

// The same with Get+Set instead aborts (the control: the test above could
// not pass by accident of scheduling). Counted, not asserted to be large.
func TestReadModifyWriteOfOneVarConflicts(t *testing.T) {
	const goroutines, each = 8, 2_000
	shared := stm.NewVar(0)
	before := stm.ReadStats()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				stm.Atomically(func(tx *stm.Tx) error {
					shared.Set(tx, shared.Get(tx)+1)
					return nil
				})
			}
		})
	}
	wg.Wait()
	require.Equal(t, goroutines*each, shared.Load())
	t.Logf("Get+Set on one Var: %d aborts in %d transactions", stm.ReadStats().Sub(before).Aborts, goroutines*each)
}

// inOtherGoroutine runs f on another goroutine and waits for it: a body
// uses it to make a commit happen in the middle of its transaction.
func inOtherGoroutine(f func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	<-done
}

// A commit to v between a transaction's Commute of v and its commit does
// not abort it: the commute applies to the newer value.
func TestCommuteAppliesToTheLatestValue(t *testing.T) {
	v := stm.NewVar(10)
	attempts := 0
	stm.Atomically(func(tx *stm.Tx) error {
		attempts++
		v.Commute(tx, func(x int) int { return x * 2 })
		if attempts == 1 {
			//stmvet:ignore the test makes this happen on purpose, to interleave a commit with the body
			inOtherGoroutine(func() { stm.Atomically(func(tx *stm.Tx) error { stm.Add(tx, v, 5); return nil }) })
		}
		return nil
	})
	require.Equal(t, 1, attempts, "a concurrent commute aborted the transaction")
	require.Equal(t, 30, v.Load(), "(10+5)*2")
}

// A Get after a Commute is an ordinary read of the snapshot with the
// commutes applied; it then conflicts like any read.
func TestGetAfterCommuteIsAnOrdinaryRead(t *testing.T) {
	v := stm.NewVar(1)
	var seen []int
	stm.Atomically(func(tx *stm.Tx) error {
		stm.Add(tx, v, 10)
		v.Commute(tx, func(x int) int { return x * 3 })
		seen = append(seen, v.Get(tx))
		if len(seen) == 1 {
			//stmvet:ignore the test makes this happen on purpose, to interleave a commit with the body
			inOtherGoroutine(func() { v.Store(100) })
		}
		return nil
	})
	require.Equal(t, []int{33, 330}, seen, "(1+10)*3 in the first attempt, which conflicts; (100+10)*3 in the second")
	require.Equal(t, 330, v.Load())
}

func TestCommuteAndSetInOneTransaction(t *testing.T) {
	v := stm.NewVar(1)
	stm.Atomically(func(tx *stm.Tx) error {
		v.Set(tx, 5)
		v.Commute(tx, func(x int) int { return x * 2 }) // applied to tx's own 5 at once
		require.Equal(t, 10, v.Get(tx))
		return nil
	})
	require.Equal(t, 10, v.Load())
	stm.Atomically(func(tx *stm.Tx) error {
		stm.Add(tx, v, 7)
		v.Set(tx, 3) // replaces the pending commute
		return nil
	})
	require.Equal(t, 3, v.Load())
	s := stm.NewVar("a")
	stm.Atomically(func(tx *stm.Tx) error {
		s.Commute(tx, func(x string) string { return x + "b" })
		s.Commute(tx, func(x string) string { return x + "c" })
		return nil
	})
	require.Equal(t, "abc", s.Load(), "commutes of a boxed Var, in call order")
	var zero stm.Var[int]
	var zeroS stm.Var[string]
	stm.Atomically(func(tx *stm.Tx) error {
		stm.Add(tx, &zero, -4)
		zeroS.Commute(tx, func(x string) string { return x + "z" })
		return nil
	})
	require.Equal(t, -4, zero.Load(), "a zero Var never written")
	require.Equal(t, "z", zeroS.Load())
}

// An OrElse alternative that retries drops its commutes, including those
// it resolved by reading: the enclosing transaction's stay pending.
func TestOrElseRollbackDropsCommutes(t *testing.T) {
	v, w := stm.NewVar(0), stm.NewVar(0)
	stm.Atomically(func(tx *stm.Tx) error {
		stm.Add(tx, v, 1)
		stm.OrElse(tx, func(tx *stm.Tx) int {
			stm.Add(tx, v, 100)
			stm.Add(tx, w, 100)
			_ = v.Get(tx) // resolves the pending commutes inside the branch
			tx.Retry()
			return 0
		}, func(tx *stm.Tx) int {
			stm.Add(tx, w, 2)
			return 0
		})
		return nil
	})
	require.Equal(t, 1, v.Load())
	require.Equal(t, 2, w.Load())
}

// A commute function that panics aborts the transaction: nothing is
// written, the panic comes out of Atomically, and the Vars are unlocked.
func TestCommutePanicAbortsCleanly(t *testing.T) {
	v, w := stm.NewVar(1), stm.NewVar(1)
	boom := errors.New("boom")
	require.PanicsWithValue(t, boom, func() {
		stm.Atomically(func(tx *stm.Tx) error {
			w.Set(tx, 99)
			v.Commute(tx, func(int) int { panic(boom) })
			return nil
		})
	})
	require.Equal(t, 1, w.Load(), "a write of the aborted transaction landed")
	require.Equal(t, 1, v.Load())
	watchdog.Within(t, 10*time.Second, "writing the Vars after the panic", func() {
		v.Store(2)
		stm.Atomically(func(tx *stm.Tx) error { stm.Add(tx, w, 1); return nil })
	})
	require.Equal(t, 2, v.Load())
	require.Equal(t, 2, w.Load())
}

// A transaction blocked in Retry on a Var wakes when a commute writes it.
func TestCommuteWakesWaiters(t *testing.T) {
	v := stm.NewVar(0)
	woke := make(chan int)
	go func() {
		woke <- stm.Eval(func(tx *stm.Tx) int {
			x := v.Get(tx)
			tx.Check(x > 0)
			return x
		})
	}()
	watchdog.Within(t, 10*time.Second, "the waiter to block", func() {
		for stm.WaitersOn(v) == 0 {
			time.Sleep(time.Millisecond) // polls the engine's state; the check itself is not timed
		}
	})
	stm.Atomically(func(tx *stm.Tx) error { stm.Add(tx, v, 3); return nil })
	watchdog.Within(t, 10*time.Second, "the waiter to wake", func() { require.Equal(t, 3, <-woke) })
}

func TestCommuteMisuse(t *testing.T) {
	v := stm.NewVar(0)
	var nilVar *stm.Var[int]
	require.PanicsWithValue(t, "stm: Commute called with a nil function", func() {
		stm.Atomically(func(tx *stm.Tx) error { v.Commute(tx, nil); return nil })
	})
	require.PanicsWithValue(t, "stm: Commute called on a nil *Var", func() {
		stm.Atomically(func(tx *stm.Tx) error { nilVar.Commute(tx, func(x int) int { return x }); return nil })
	})
	require.PanicsWithValue(t, "stm: Add called on a nil *Var", func() {
		stm.Atomically(func(tx *stm.Tx) error { stm.Add(tx, nilVar, 1); return nil })
	})
	var kept *stm.Tx
	//stmvet:ignore the test makes this happen on purpose, to interleave a commit with the body
	stm.Atomically(func(tx *stm.Tx) error { kept = tx; return nil })
	require.Panics(t, func() { stm.Add(kept, v, 1) }, "Add on a finished Tx")
	require.Equal(t, 0, v.Load())
}

// Add, and Commute with a func that captures nothing, allocate nothing on
// an unboxed Var.
func TestAddAllocatesNothing(t *testing.T) {
	if stm.Debug() {
		t.Skip("debug mode (race detector or GOSTMDEBUG) tracks bodies in a map, which allocates")
	}
	require.True(t, stm.StopKeepingHistory(), "a snapshot reader is still registered")
	v := stm.NewVar(0)
	add := func(tx *stm.Tx) error { stm.Add(tx, v, 3); return nil }
	double := func(tx *stm.Tx) error { v.Commute(tx, func(x int) int { return x * 2 }); return nil }
	require.Zero(t, testing.AllocsPerRun(1000, func() { stm.Atomically(add) }), "Add")
	require.Zero(t, testing.AllocsPerRun(1000, func() { stm.Atomically(double) }), "Commute")
}

// Commuters wait for commute-only locks without bound, and so does an
// irrevocable transaction for all of its locks, in its own order: the
// commuters must give way to it, or the two deadlock. Transactions that
// conflict on x run irrevocably after one abort here, while others commute
// the Vars they write in the opposite order.
func TestCommutersGiveWayToIrrevocableTransactions(t *testing.T) {
	defer stm.SetSerialAfter(stm.SetSerialAfter(1))
	v1, v2, x := stm.NewVar(0), stm.NewVar(0), stm.NewVar(0)
	const each = 5_000
	before := stm.ReadStats()
	var wg sync.WaitGroup
	watchdog.Within(t, 20*time.Second, "commuters and irrevocable writers", func() {
		for g := range 4 {
			wg.Go(func() {
				for range each {
					stm.Atomically(func(tx *stm.Tx) error {
						if g%2 == 0 {
							stm.Add(tx, v1, 1)
							stm.Add(tx, v2, 1)
						} else {
							v2.Set(tx, v2.Get(tx)+1)
							v1.Set(tx, v1.Get(tx)+1)
						}
						x.Set(tx, x.Get(tx)+1)
						runtime.Gosched() // let the others start conflicting commits
						return nil
					})
				}
			})
		}
		wg.Wait()
	})
	require.Equal(t, 4*each, v1.Load())
	require.Equal(t, 4*each, v2.Load())
	require.Equal(t, 4*each, x.Load())
	t.Logf("%+v", stm.ReadStats().Sub(before))
}

// One transaction's commute-only Var is another's ordinary write: with
// locks taken in two orders, two commits could each hold the Var the
// other waits for. (Found by stmtest's property test.)
func TestCommutesAndSetsOfTheSameVarsDoNotDeadlock(t *testing.T) {
	watchdog.Within(t, 20*time.Second, "commits mixing Set and Add of two Vars", func() {
		for range 200 {
			x, y := stm.NewVar(0), stm.NewVar(0)
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Go(func() {
					for i := range 200 {
						stm.Atomically(func(tx *stm.Tx) error {
							switch {
							case g == 1:
								stm.Add(tx, x, 1)
								stm.Add(tx, y, 1)
							case i%2 == 0:
								y.Set(tx, 1)
								stm.Add(tx, x, 1)
							default:
								x.Set(tx, 1)
								stm.Add(tx, y, 1)
							}
							return nil
						})
					}
				})
			}
			wg.Wait()
		}
	})
}
