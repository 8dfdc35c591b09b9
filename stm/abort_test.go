package stm_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

var errInsufficient = errors.New("insufficient funds")

func TestErrorRollsBackAndIsReturnedUnchanged(t *testing.T) {
	x, y := stm.NewVar(10), stm.NewVar(20)
	hookRan := false
	wrapped := fmt.Errorf("withdraw 50: %w", errInsufficient)
	err := stm.Atomically(func(tx *stm.Tx) error {
		x.Set(tx, 0)
		y.Set(tx, 99)
		tx.AfterCommit(func() { hookRan = true })
		return wrapped
	})
	require.Same(t, wrapped, err, "the body's error comes back as is")
	require.ErrorIs(t, err, errInsufficient)
	require.Equal(t, 10, x.Load())
	require.Equal(t, 20, y.Load())
	require.False(t, hookRan, "AfterCommit ran for a failed transaction")
	// The Vars stay usable.
	require.NoError(t, stm.Atomically(func(tx *stm.Tx) error { x.Set(tx, x.Get(tx)+1); return nil }))
	require.Equal(t, 11, x.Load())
}

type panicValue struct{ n int }

func TestPanicRollsBackAndPropagatesOriginalValue(t *testing.T) {
	x := stm.NewVar(1)
	hookRan := false
	pv := &panicValue{7}
	got := func() (r any) {
		defer func() { r = recover() }()
		stm.Atomically(func(tx *stm.Tx) error {
			x.Set(tx, 100)
			tx.AfterCommit(func() { hookRan = true })
			panic(pv)
		})
		return nil
	}()
	require.Same(t, pv, got, "the panic value must be the original one")
	require.Equal(t, 1, x.Load())
	require.False(t, hookRan)
	// No lock or registration is left behind: Vars are writable and readable.
	x.Store(5)
	require.Equal(t, 5, stm.Eval(func(tx *stm.Tx) int { return x.Get(tx) }))
}

func TestPanicInsideOrElseBranchIsNotSwallowed(t *testing.T) {
	x := stm.NewVar(0)
	got := func() (r any) {
		defer func() { r = recover() }()
		stm.Atomically(func(tx *stm.Tx) error {
			x.Set(tx, 1)
			stm.OrElse(tx, func(tx *stm.Tx) int { panic("boom") }, func(tx *stm.Tx) int { return 1 })
			return nil
		})
		return nil
	}()
	require.Equal(t, "boom", got)
	require.Zero(t, x.Load())
}

func TestErrorInsideOrElseBranchIsNotSwallowed(t *testing.T) {
	x := stm.NewVar(0)
	err := stm.Atomically(func(tx *stm.Tx) error {
		x.Set(tx, 1)
		// An alternative that fails returns its error; OrElse passes it on
		// rather than trying the next alternative.
		return stm.OrElse(tx,
			func(tx *stm.Tx) error { x.Set(tx, 2); return errInsufficient },
			func(tx *stm.Tx) error { return nil })
	})
	require.ErrorIs(t, err, errInsufficient)
	require.Zero(t, x.Load())
}

// A body that recovers the engine's control-flow panic cannot trick it into
// committing an aborted or retried attempt.
func TestRecoveringRetryInsideBodyStillRetries(t *testing.T) {
	x := stm.NewVar(0)
	var attempts int
	done := make(chan struct{})
	go func() {
		defer close(done)
		stm.Atomically(func(tx *stm.Tx) error {
			attempts++
			n := x.Get(tx)
			func() {
				defer func() { recover() }()
				tx.Check(n > 0)
			}()
			x.Set(tx, -1) // must never commit while n == 0
			return nil
		})
	}()
	for stm.ReadStats().Blocked == 0 {
		runtime.Gosched()
	}
	require.Zero(t, x.Load())
	x.Store(1)
	<-done
	require.Equal(t, -1, x.Load())
	require.Equal(t, 2, attempts)
}
