package stm

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// takenSlots counts the cache slots whose Tx is in use.
func takenSlots() int {
	n := 0
	for i := range txSlots {
		if txSlots[i].taken.Load() != 0 {
			n++
		}
	}
	return n
}

// A transaction gives its cache slot back however it ends: a slot left
// taken would be lost for good.
func TestTxSlotsReturnedWhateverTheEnd(t *testing.T) {
	if debugOwner {
		t.Skip("GOSTMDEBUG=1 never reuses a Tx")
	}
	v := NewVar(0)
	before := takenSlots()
	recovered := func(f func()) {
		defer func() { _ = recover() }()
		f()
	}
	for range 2 * cacheSlots {
		recovered(func() { // a hook panics after the commit
			Atomically(func(tx *Tx) error { //stmvet:ignore the error is nil: the hook's panic is the case under test
				v.Set(tx, v.Get(tx)+1)
				tx.AfterCommit(func() { panic("hook") })
				return nil
			})
		})
		recovered(func() { // the body panics
			Atomically(func(tx *Tx) error { v.Get(tx); panic("body") }) //stmvet:ignore the panic is the case under test
		})
		require.ErrorIs(t, Atomically(func(tx *Tx) error { v.Get(tx); return errTest }), errTest) // the body fails
		exited := make(chan struct{})
		go func() { // the body calls runtime.Goexit
			defer close(exited)
			Atomically(func(tx *Tx) error { v.Get(tx); runtime.Goexit(); return nil }) //stmvet:ignore the Goexit is the case under test
		}()
		<-exited
	}
	// A nested transaction in an irrevocable body panics while it waits
	// for serial mode, before its first attempt.
	defer func(after int, checks bool) { serialAfter, debug = after, checks }(serialAfter, debug)
	serialAfter, debug = 0, false
	for range 2 * cacheSlots {
		recovered(func() {
			Atomically(func(tx *Tx) error { //stmvet:ignore the nested transaction's panic is the case under test
				v.Get(tx)
				return Atomically(func(*Tx) error { return nil }) //stmvet:ignore the nested transaction is the case under test
			})
		})
	}
	require.Equal(t, before, takenSlots())
	require.Equal(t, 2*cacheSlots, v.Load())
}

var errTest = testError("test")

type testError string

func (e testError) Error() string { return string(e) }
