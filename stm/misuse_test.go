package stm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

// panicMessage runs f and returns what it panicked with, as a string.
func panicMessage(f func()) (msg string) {
	defer func() {
		r := recover()
		if s, ok := r.(string); ok {
			msg = s
		} else if r != nil {
			msg = "non-string panic"
		}
	}()
	f()
	return "no panic"
}

func TestNilVarPanicsWithMessage(t *testing.T) {
	var v *stm.Var[int]
	cases := map[string]func(){
		"Get": func() { stm.Atomically(func(tx *stm.Tx) error { v.Get(tx); return nil }) },
		"Set": func() { stm.Atomically(func(tx *stm.Tx) error { v.Set(tx, 1); return nil }) },
		"Modify": func() {
			stm.Atomically(func(tx *stm.Tx) error { v.Modify(tx, func(int) int { return 0 }); return nil })
		},
		"Swap":  func() { stm.Atomically(func(tx *stm.Tx) error { v.Swap(tx, 1); return nil }) },
		"Load":  func() { v.Load() },
		"Store": func() { v.Store(1) },
	}
	for name, f := range cases {
		require.Contains(t, panicMessage(f), "called on a nil *Var", name)
	}
}

func TestNilArgumentsPanicWithMessage(t *testing.T) {
	v := stm.NewVar(0)
	require.Contains(t, panicMessage(func() { v.Get(nil) }), "nil *Tx")
	require.Contains(t, panicMessage(func() { v.Set(nil, 1) }), "nil *Tx")
	require.Contains(t, panicMessage(func() { stm.Atomically(nil) }), "nil function") //stmvet:ignore the misuse under test
	require.Contains(t, panicMessage(func() { stm.Eval[int](nil) }), "nil function")
	//lint:ignore SA1012 testing the nil-context check on purpose
	//stmvet:ignore the misuse under test
	require.Contains(t, panicMessage(func() { stm.AtomicallyContext(nil, func(*stm.Tx) error { return nil }) }), "nil Context") //nolint:staticcheck
	require.Contains(t, panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error { tx.AfterCommit(nil); return nil })
	}), "nil function")
	require.Contains(t, panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error { stm.OrElse[int](tx, nil); return nil })
	}), "nil first alternative")
	require.Contains(t, panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error {
			stm.OrElse(tx, func(*stm.Tx) int { return 0 }, nil)
			return nil
		})
	}), "nil alternative")
}

// A kept Tx is recognised as ended until the pool hands it to another
// transaction; GOSTMDEBUG=1 stops the reuse, making the check exact.
func TestTxUsedAfterTransactionPanics(t *testing.T) {
	v := stm.NewVar(0)
	var kept *stm.Tx
	stm.Atomically(func(tx *stm.Tx) error { kept = tx; return nil }) //stmvet:ignore the misuse under test
	const want = "stm: Tx used after its transaction ended"
	require.Contains(t, panicMessage(func() { v.Get(kept) }), want)
	require.Contains(t, panicMessage(func() { v.Set(kept, 1) }), want)
	require.Contains(t, panicMessage(func() { kept.Retry() }), want)
	require.Contains(t, panicMessage(func() { kept.AfterCommit(func() {}) }), want)
	require.Zero(t, v.Load())
}

func TestTxUsedFromAnotherGoroutinePanics(t *testing.T) {
	defer stm.SetOwnerChecks(stm.SetOwnerChecks(true)) // as with GOSTMDEBUG=1
	v := stm.NewVar(0)
	for name, use := range map[string]func(*stm.Tx){
		"Set":         func(tx *stm.Tx) { v.Set(tx, 1) },
		"first Get":   func(tx *stm.Tx) { v.Get(tx) },
		"AfterCommit": func(tx *stm.Tx) { tx.AfterCommit(func() {}) },
	} {
		var msg string
		stm.Atomically(func(tx *stm.Tx) error {
			done := make(chan struct{})
			go func() { //stmvet:ignore the misuse under test
				defer close(done)
				msg = panicMessage(func() { use(tx) })
			}()
			<-done //stmvet:ignore the misuse under test
			return nil
		})
		require.Contains(t, msg, "Tx used from a goroutine other than the one running its transaction body", name)
	}
	require.Zero(t, v.Load())
}

func TestNestedAtomicallyPanics(t *testing.T) {
	if !stm.Debug() {
		defer stm.SetOwnerChecks(stm.SetOwnerChecks(true)) // as with GOSTMDEBUG=1
	}
	v := stm.NewVar(0)
	msg := panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error { //stmvet:ignore the misuse under test
			v.Set(tx, 1)
			return stm.Atomically(func(inner *stm.Tx) error { v.Set(inner, 2); return nil }) //stmvet:ignore the misuse under test
		})
	})
	require.Contains(t, msg, "Atomically called inside a transaction body")
	require.Contains(t, panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error { v.Store(3); return nil }) //stmvet:ignore the misuse under test
	}), "Store called inside a transaction body")
	require.Zero(t, v.Load())
	// Hooks run outside the body: transactions there are fine.
	stm.Atomically(func(tx *stm.Tx) error {
		tx.AfterCommit(func() { v.Store(4) })
		return nil
	})
	require.Equal(t, 4, v.Load())
	// And the goroutine is usable for transactions again.
	stm.Atomically(func(tx *stm.Tx) error { v.Set(tx, 5); return nil })
	require.Equal(t, 5, v.Load())
}
