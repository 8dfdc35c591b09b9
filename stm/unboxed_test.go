package stm_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

type celsius float64

type pair32 struct{ a, b int32 }

func TestUnboxedTypes(t *testing.T) {
	require.True(t, stm.Unboxed[int]())
	require.True(t, stm.Unboxed[int8]())
	require.True(t, stm.Unboxed[uint64]())
	require.True(t, stm.Unboxed[float64]())
	require.True(t, stm.Unboxed[float32]())
	require.True(t, stm.Unboxed[bool]())
	require.True(t, stm.Unboxed[complex64]())
	require.True(t, stm.Unboxed[celsius]())
	require.True(t, stm.Unboxed[time.Duration]())
	require.True(t, stm.Unboxed[pair32]())
	require.True(t, stm.Unboxed[[8]byte]())
	require.True(t, stm.Unboxed[struct{}]())

	require.False(t, stm.Unboxed[string]())
	require.False(t, stm.Unboxed[*int]())
	require.False(t, stm.Unboxed[[]int]())
	require.False(t, stm.Unboxed[map[int]int]())
	require.False(t, stm.Unboxed[chan int]())
	require.False(t, stm.Unboxed[func()]())
	require.False(t, stm.Unboxed[any]())
	require.False(t, stm.Unboxed[struct{ p *int }]())
	require.False(t, stm.Unboxed[[1]*int]())
	require.False(t, stm.Unboxed[[2]int64]())
	require.False(t, stm.Unboxed[complex128]())
	require.False(t, stm.Unboxed[time.Time]())
}

// roundTrip checks every way in and out of a Var[T] with the values given:
// NewVar, Load, Get, Set (fresh and overwritten in place), Modify, Swap,
// Store, and a zero Var's first write.
func roundTrip[T comparable](t *testing.T, values ...T) {
	t.Helper()
	var zero T
	var z stm.Var[T]
	require.Equal(t, zero, z.Load(), "zero Var")
	for _, x := range values {
		v := stm.NewVar(x)
		require.Equal(t, x, v.Load())
		require.Equal(t, x, stm.Eval(func(tx *stm.Tx) T { return v.Get(tx) }))
		for _, y := range values {
			stm.Atomically(func(tx *stm.Tx) error {
				v.Set(tx, zero)
				v.Set(tx, y) // in place
				require.Equal(t, y, v.Get(tx), "read of own write")
				return nil
			})
			require.Equal(t, y, v.Load())
			v.Store(x)
			require.Equal(t, x, v.Load())
			require.Equal(t, x, stm.Eval(func(tx *stm.Tx) T { return v.Swap(tx, y) }))
			require.Equal(t, y, v.Load())
		}
		stm.Atomically(func(tx *stm.Tx) error { z.Set(tx, x); return nil })
		require.Equal(t, x, z.Load())
		z.Store(zero)
		require.Equal(t, zero, stm.Eval(func(tx *stm.Tx) T { return z.Get(tx) }))
	}
}

func TestUnboxedValuesRoundTrip(t *testing.T) {
	roundTrip(t, 0, 1, -1, math.MaxInt, math.MinInt)
	roundTrip(t, int8(-128), int8(127), int8(-1))
	roundTrip(t, uint16(0xffff), uint16(1))
	roundTrip(t, uint64(math.MaxUint64), uint64(1<<63))
	roundTrip(t, 0.5, -0.0, math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64)
	roundTrip(t, float32(-1.5), float32(math.MaxFloat32))
	roundTrip(t, true, false)
	roundTrip(t, celsius(-40), celsius(100))
	roundTrip(t, pair32{-1, 2}, pair32{math.MaxInt32, math.MinInt32})
	roundTrip(t, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, [8]byte{255})
	roundTrip(t, complex64(complex(1, -2)))
	// Boxed types take the other path through the same code.
	roundTrip(t, "", "a", "a longer string")
	roundTrip(t, [2]int64{1, -1}, [2]int64{math.MaxInt64, 0})
	x, y := 1, 2
	roundTrip(t, &x, &y, nil)
}

// An OrElse branch that retries restores unboxed values written before it,
// whether it overwrote them or not, and drops the Vars it wrote first.
func TestUnboxedOrElseRollback(t *testing.T) {
	a, b, c := stm.NewVar(1), stm.NewVar(2.5), stm.NewVar(false)
	got := stm.Eval(func(tx *stm.Tx) [3]any {
		a.Set(tx, 10)
		stm.OrElse(tx, func(tx *stm.Tx) int {
			a.Set(tx, 11)
			b.Set(tx, 3.5)
			stm.OrElse(tx, func(tx *stm.Tx) int {
				a.Set(tx, 12)
				c.Set(tx, true)
				tx.Retry()
				return 0
			}, func(tx *stm.Tx) int { return 0 })
			require.Equal(t, 11, a.Get(tx), "inner rollback")
			require.False(t, c.Get(tx), "inner rollback")
			tx.Retry()
			return 0
		}, func(tx *stm.Tx) int { return 0 })
		return [3]any{a.Get(tx), b.Get(tx), c.Get(tx)}
	})
	require.Equal(t, [3]any{10, 2.5, false}, got)
	require.Equal(t, 10, a.Load())
	require.Equal(t, 2.5, b.Load())
	require.False(t, c.Load())
}

// The budget: an update transaction on Var[int]s allocates nothing.
func TestUnboxedUpdatesAllocateNothing(t *testing.T) {
	if stm.Debug() {
		t.Skip("debug mode (race detector or GOSTMDEBUG) tracks bodies in a map, which allocates")
	}
	// Commits keep old versions (an allocation each) for a while after a
	// snapshot read, which other tests in this binary make.
	require.True(t, stm.StopKeepingHistory(), "a snapshot reader is still registered")
	x, y := stm.NewVar(1000), stm.NewVar(0)
	increment := func(tx *stm.Tx) error { x.Set(tx, x.Get(tx)+1); return nil }
	transfer := func(tx *stm.Tx) error {
		x.Set(tx, x.Get(tx)-1)
		y.Set(tx, y.Get(tx)+1)
		return nil
	}
	require.Zero(t, testing.AllocsPerRun(1000, func() { stm.Atomically(increment) }), "increment")
	require.Zero(t, testing.AllocsPerRun(1000, func() { stm.Atomically(transfer) }), "transfer")
	require.Zero(t, testing.AllocsPerRun(1000, func() { x.Store(x.Load() + 1) }), "Store")
}
