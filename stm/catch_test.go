package stm_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

func TestCatchRollsBackOnlyTheFailedPart(t *testing.T) {
	a, b, c := stm.NewVar(1), stm.NewVar("x"), stm.NewVar(0)
	errNo := errors.New("no")
	hooks := 0
	var caught error
	stm.Atomically(func(tx *stm.Tx) error {
		a.Set(tx, 2)
		caught = stm.Catch(tx, func(tx *stm.Tx) error {
			a.Set(tx, 3)
			b.Set(tx, "y")
			stm.Add(tx, c, 5)
			tx.AfterCommit(func() { hooks++ })
			return errNo
		})
		require.Equal(t, 2, a.Get(tx), "the caught part's write stayed")
		require.Equal(t, "x", b.Get(tx))
		require.NoError(t, stm.Catch(tx, func(tx *stm.Tx) error { stm.Add(tx, c, 1); return nil }))
		return nil
	})
	require.ErrorIs(t, caught, errNo)
	require.Equal(t, 2, a.Load())
	require.Equal(t, "x", b.Load())
	require.Equal(t, 1, c.Load(), "only the successful part's commute applies")
	require.Zero(t, hooks, "a rolled-back hook ran")
}

// Retry inside Catch retries the transaction rather than being caught.
func TestCatchDoesNotCatchRetry(t *testing.T) {
	v := stm.NewVar(0)
	got := stm.Eval(func(tx *stm.Tx) string {
		return stm.OrElse(tx, func(tx *stm.Tx) string {
			err := stm.Catch(tx, func(tx *stm.Tx) error {
				v.Set(tx, 9)
				if v.Get(tx) < 100 {
					return stm.ErrRetry
				}
				return nil
			})
			return "caught: " + err.Error()
		}, func(tx *stm.Tx) string { return "second" })
	})
	require.Equal(t, "second", got)
	require.Equal(t, 0, v.Load())
	require.PanicsWithValue(t, "stm: Catch called with a nil function", func() {
		//stmvet:ignore the body under test cannot fail
		stm.Atomically(func(tx *stm.Tx) error { return stm.Catch(tx, nil) })
	})
}
