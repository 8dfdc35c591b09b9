package stm_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"gostm.dev/stm"
)

// A waiter blocked in Retry is not woken by commits to Vars it did not read,
// and is woken by a commit to one it did.
func TestRetryBlocksWithoutSpinning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flag := stm.NewVar(false)
		unrelated := []*stm.Var[int]{stm.NewVar(0), stm.NewVar(0), stm.NewVar(0)}
		var attempts atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			stm.Atomically(func(tx *stm.Tx) error {
				attempts.Add(1)
				tx.Check(flag.Get(tx))
				return nil
			})
		}()
		synctest.Wait() // the waiter is durably blocked
		require.EqualValues(t, 1, attempts.Load())
		require.Equal(t, 1, stm.WaitersOn(flag))

		for i := range 10_000 {
			unrelated[i%len(unrelated)].Store(i)
			stm.Atomically(func(tx *stm.Tx) error {
				v := unrelated[(i+1)%len(unrelated)]
				v.Set(tx, v.Get(tx)+1)
				return nil
			})
		}
		synctest.Wait()
		require.EqualValues(t, 1, attempts.Load(), "woken by commits to Vars it never read")

		flag.Store(false) // a commit to its Var wakes it, the condition still fails: it blocks again
		synctest.Wait()
		require.EqualValues(t, 2, attempts.Load())

		flag.Store(true)
		<-done
		require.EqualValues(t, 3, attempts.Load())
		require.Zero(t, stm.WaitersOn(flag), "registration left behind")
	})
}

func TestRetryWithNothingReadPanics(t *testing.T) {
	require.PanicsWithValue(t,
		"stm: Retry called with nothing read: no commit could ever wake this transaction "+
			"(read the Vars whose change should wake it before calling Retry or Check)",
		func() { stm.Atomically(func(tx *stm.Tx) error { tx.Retry(); return nil }) })

	// A Var written but not read does not count: the transaction's own write
	// cannot be changed by anyone else.
	v := stm.NewVar(0)
	require.Panics(t, func() {
		stm.Atomically(func(tx *stm.Tx) error {
			v.Set(tx, 1)
			tx.Check(v.Get(tx) == 2)
			return nil
		})
	})
	require.Zero(t, v.Load())
}

func TestAtomicallyContextDeadlineWhileBlocked(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		v := stm.NewVar(0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		written := false
		err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			v.Set(tx, 42)
			written = true
			tx.Check(v.Get(tx) > 100 || stm.NewVar(0).Get(tx) > 0)
			return nil
		})
		require.True(t, written)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, v.Load(), "a transaction that timed out must not commit")
	})
}

func TestAtomicallyContextCanceledWhileBlocked(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		gate := stm.NewVar(false)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			errc <- stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
				tx.Check(gate.Get(tx))
				return nil
			})
		}()
		synctest.Wait()
		require.Equal(t, 1, stm.WaitersOn(gate))
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
		require.Zero(t, stm.WaitersOn(gate), "a canceled waiter must unregister")
		// A later commit to gate has nobody to wake and nothing breaks.
		gate.Store(true)
	})
}

func TestAtomicallyContextAlreadyDoneDoesNotRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error { ran = true; return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, ran)
}

// Two goroutines hand a token back and forth through two Vars with Retry:
// a single lost wake-up would stall the exchange until the watchdog fires.
func TestRetryPingPongLosesNoWakeups(t *testing.T) {
	const rounds = 5_000
	ping, pong := stm.NewVar(0), stm.NewVar(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a watchdog, not a timing assumption
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		for i := 1; i <= rounds; i++ {
			err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
				tx.Check(ping.Get(tx) == i)
				pong.Set(tx, i)
				return nil
			})
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := 1; i <= rounds; i++ {
		ping.Store(i)
		err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			tx.Check(pong.Get(tx) == i)
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v (a wake-up was lost)", i, err)
		}
	}
	require.NoError(t, <-errc)
}

// Waiters blocked on distinct Vars: a commit to one wakes only its waiter.
func TestCommitWakesOnlyWaitersOfWrittenVars(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 8
		vars := make([]*stm.Var[int], n)
		attempts := make([]atomic.Int64, n)
		done := make([]chan struct{}, n)
		for i := range vars {
			vars[i] = stm.NewVar(0)
			done[i] = make(chan struct{})
			go func() {
				defer close(done[i])
				stm.Atomically(func(tx *stm.Tx) error {
					attempts[i].Add(1)
					tx.Check(vars[i].Get(tx) > 0)
					return nil
				})
			}()
		}
		synctest.Wait()
		vars[3].Store(1)
		<-done[3]
		synctest.Wait()
		for i := range vars {
			want := int64(1)
			if i == 3 {
				want = 2
			}
			require.Equal(t, want, attempts[i].Load(), "waiter %d", i)
		}
		for i := range vars {
			vars[i].Store(1)
			<-done[i]
		}
	})
}

func TestEvalReturnsCommittedValue(t *testing.T) {
	v := stm.NewVar(41)
	require.Equal(t, 42, stm.Eval(func(tx *stm.Tx) int { v.Modify(tx, func(n int) int { return n + 1 }); return v.Get(tx) }))
	require.Equal(t, 42, v.Load())
	require.True(t, errors.Is(stm.Atomically(func(*stm.Tx) error { return context.Canceled }), context.Canceled))
}
