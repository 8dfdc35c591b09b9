package stm_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

func TestGetSeesOwnWritesAndSnapshotOfOthers(t *testing.T) {
	x, y := stm.NewVar(1), stm.NewVar("a")
	stm.Atomically(func(tx *stm.Tx) error {
		require.Equal(t, 1, x.Get(tx))
		x.Set(tx, 2)
		require.Equal(t, 2, x.Get(tx), "read-your-writes")
		x.Set(tx, 3)
		require.Equal(t, 3, x.Get(tx), "second write overwrites the first")
		require.Equal(t, 1, x.Load(), "uncommitted writes are invisible outside") //stmvet:ignore the misuse under test
		y.Modify(tx, func(s string) string { return s + "b" })
		require.Equal(t, "ab", y.Swap(tx, "c"))
		return nil
	})
	require.Equal(t, 3, x.Load())
	require.Equal(t, "c", y.Load())
}

func TestZeroVarHoldsZeroValue(t *testing.T) {
	var v stm.Var[[]int]
	require.Nil(t, v.Load())
	n := stm.Eval(func(tx *stm.Tx) int { return len(v.Get(tx)) })
	require.Zero(t, n)
	v.Store([]int{1})
	require.Equal(t, []int{1}, v.Load())
}

func TestStoreIsSeenByLaterTransactions(t *testing.T) {
	v := stm.NewVar(0)
	for i := range 100 {
		v.Store(i)
		require.Equal(t, i, stm.Eval(func(tx *stm.Tx) int { return v.Get(tx) }))
	}
}

// Large write sets switch the write log from a scanned slice to a map;
// both must find the same entries, including after an OrElse rollback.
func TestLargeWriteSets(t *testing.T) {
	vars := make([]*stm.Var[int], 200)
	for i := range vars {
		vars[i] = stm.NewVar(i)
	}
	stm.Atomically(func(tx *stm.Tx) error {
		for i, v := range vars {
			v.Set(tx, v.Get(tx)+1000)
			require.Equal(t, i+1000, v.Get(tx))
		}
		stm.OrElse(tx, func(tx *stm.Tx) int {
			for _, v := range vars {
				v.Set(tx, -1)
			}
			tx.Retry()
			return 0
		}, func(tx *stm.Tx) int { return 0 })
		for i, v := range vars {
			require.Equal(t, i+1000, v.Get(tx), "rolled-back branch leaked into the write log")
			v.Modify(tx, func(n int) int { return n + 1 })
		}
		return nil
	})
	for i, v := range vars {
		require.Equal(t, i+1001, v.Load())
	}
}

// Var.core relies on the untyped part sitting at offset 0.
func TestVarCoreAtOffsetZero(t *testing.T) {
	require.Zero(t, stm.VarCoreOffset[int]())
	require.Zero(t, stm.VarCoreOffset[string]())
}

// A Var is three words whatever T is: one that grew would make every large
// read set slower.
func TestVarIsThreeWords(t *testing.T) {
	var i stm.Var[int]
	var s stm.Var[string]
	var b stm.Var[[64]byte]
	require.EqualValues(t, 24, unsafe.Sizeof(i))
	require.EqualValues(t, 24, unsafe.Sizeof(s))
	require.EqualValues(t, 24, unsafe.Sizeof(b))
}
