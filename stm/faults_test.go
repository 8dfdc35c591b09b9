package stm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"gostm.dev/internal/watchdog"
	"gostm.dev/stm"
)

// within runs f on its own goroutine and fails the test if it has not
// finished in a generous time.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	watchdog.Within(t, 30*time.Second, what, f)
}

func TestErrRetryBlocksLikeRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := stm.NewVar(0)
		var attempts atomic.Int64
		got := make(chan int)
		go func() {
			var n int
			err := stm.Atomically(func(tx *stm.Tx) error {
				attempts.Add(1)
				n = gate.Get(tx)
				switch {
				case n == 0:
					return stm.ErrRetry
				case n == 1:
					return fmt.Errorf("not yet: %w", stm.ErrRetry) // wrapped counts too
				}
				gate.Set(tx, -n)
				return nil
			})
			if err != nil {
				panic(err)
			}
			got <- n
		}()
		synctest.Wait()
		require.EqualValues(t, 1, attempts.Load())
		require.Equal(t, 1, stm.WaitersOn(gate))
		gate.Store(1)
		synctest.Wait()
		require.EqualValues(t, 2, attempts.Load())
		gate.Store(2)
		require.Equal(t, 2, <-got)
		require.Equal(t, -2, gate.Load())
		require.Zero(t, stm.WaitersOn(gate))
	})
}

func TestErrRetryWithNothingReadPanics(t *testing.T) {
	require.Contains(t, panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error { return stm.ErrRetry })
	}), "Retry called with nothing read")
}

func TestErrRetryHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := stm.NewVar(0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			v.Set(tx, v.Get(tx)+1)
			return stm.ErrRetry
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, v.Load())
	})
}

// A waiter made outside a testing/synctest bubble (a pooled Tx's, say)
// still blocks durably inside one, so synctest.Wait returns.
func TestWaiterMadeOutsideBubbleBlocksDurably(t *testing.T) {
	w := stm.NewWaiter()
	synctest.Test(t, func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := w.Park(); err != nil {
				panic(err)
			}
		}()
		synctest.Wait() // hangs if the parked goroutine is not durably blocked
		select {
		case <-done:
			t.Fatal("Park returned without a signal")
		default:
		}
		w.Signal()
		<-done
	})
}

// panicnil runs the test named in STM_PANICNIL_CHILD under
// GODEBUG=panicnil=1, in a child process.
func TestNilPanicUnderPanicnil(t *testing.T) {
	if os.Getenv("STM_PANICNIL_CHILD") == "1" {
		nilPanicChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestNilPanicUnderPanicnil$", "-test.v")
	cmd.Env = append(os.Environ(), "STM_PANICNIL_CHILD=1", "GODEBUG=panicnil=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	require.Contains(t, string(out), "nil panics checked")
}

// nilPanicChild: a body that panics with nil (recover() returns nil, as
// for runtime.Goexit) rolls back and the nil panic propagates; the Tx is
// not handed to two later transactions.
func nilPanicChild(t *testing.T) {
	var probe any = "not run"
	func() {
		defer func() { probe = recover() }()
		panic(nil) //nolint:govet // probing GODEBUG=panicnil=1
	}()
	require.Nil(t, probe, "GODEBUG=panicnil=1 is not in effect")

	v := stm.NewVar(0)
	for _, where := range []string{"body", "OrElse alternative"} {
		returned, recovered := false, false
		func() {
			defer func() {
				recover()
				recovered = true
			}()
			stm.Atomically(func(tx *stm.Tx) error {
				v.Set(tx, 1)
				if where == "body" {
					panic(nil) //nolint:govet // the case under test
				}
				stm.OrElse(tx, func(tx *stm.Tx) int { panic(nil) }, func(tx *stm.Tx) int { return 0 }) //nolint:govet
				return nil
			})
			returned = true
		}()
		require.False(t, returned, "%s: Atomically returned as if the body had committed", where)
		require.True(t, recovered, "%s", where)
		require.Zero(t, v.Load(), "%s: the write of a panicking body committed", where)
	}
	// Two transactions alive at once must have distinct Txs: a Tx pooled
	// twice would be handed to both.
	for range 100 {
		inner := make(chan *stm.Tx)
		release := make(chan struct{})
		go stm.Atomically(func(tx *stm.Tx) error {
			inner <- tx //stmvet:ignore the misuse under test
			<-release   //stmvet:ignore the misuse under test
			return nil
		})
		other := <-inner
		stm.Atomically(func(tx *stm.Tx) error {
			require.NotSame(t, other, tx, "one Tx serves two live transactions")
			return nil
		})
		close(release)
	}
	fmt.Println("nil panics checked")
}

func TestGoexitInBodyRollsBack(t *testing.T) {
	for _, mode := range []string{"optimistic", "irrevocable"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "irrevocable" {
				defer stm.SetSerialAfter(stm.SetSerialAfter(0))
			}
			v := stm.NewVar(0)
			for _, where := range []string{"body", "first alternative", "middle alternative"} {
				exited := make(chan struct{})
				go func() {
					defer close(exited)
					stm.Atomically(func(tx *stm.Tx) error {
						v.Set(tx, 1)
						alt := func(tx *stm.Tx) int { v.Set(tx, 2); runtime.Goexit(); return 0 }
						switch where {
						case "body":
							runtime.Goexit()
						case "first alternative":
							stm.OrElse(tx, alt, func(*stm.Tx) int { return 0 })
						default:
							stm.OrElse(tx, func(tx *stm.Tx) int { tx.Retry(); return 0 }, alt, func(*stm.Tx) int { return 0 })
						}
						return nil
					})
				}()
				<-exited
				require.Zero(t, v.Load(), "%s: a write of a body that exited committed", where)
				// Nothing is left held (serial mode, above all).
				within(t, where, func() { v.Store(3); v.Store(0) })
			}
		})
	}
}

// A body that runs irrevocably and starts a transaction of its own, or
// Stores, would wait for itself forever; it panics instead, in every build.
func TestIrrevocableBodyWaitingForItselfPanics(t *testing.T) {
	defer stm.SetSerialAfter(stm.SetSerialAfter(0))
	defer stm.SetNestedChecks(stm.SetNestedChecks(false)) // as a build without -race or GOSTMDEBUG
	v := stm.NewVar(0)
	helper := func() int { return stm.Eval(func(tx *stm.Tx) int { return v.Get(tx) }) }
	for name, inner := range map[string]func(tx *stm.Tx){
		"Atomically":     func(*stm.Tx) { stm.Atomically(func(tx *stm.Tx) error { v.Set(tx, 9); return nil }) }, //stmvet:ignore the misuse under test
		"Eval in helper": func(*stm.Tx) { helper() },                                                            //stmvet:ignore the misuse under test
		"Store":          func(*stm.Tx) { v.Store(9) },                                                          //stmvet:ignore the misuse under test
	} {
		var msg string
		within(t, name, func() {
			msg = panicMessage(func() {
				stm.Atomically(func(tx *stm.Tx) error {
					v.Set(tx, v.Get(tx)+1)
					inner(tx)
					return nil
				})
			})
		})
		require.Equal(t, stm.SerialSelfWait, msg, name)
		require.Zero(t, v.Load(), name)
	}
	within(t, "a transaction after", func() { v.Store(1) })
	require.Equal(t, 1, v.Load())
}

func TestModifyNilFunctionPanics(t *testing.T) {
	v := stm.NewVar(0)
	require.Equal(t, "stm: Modify called with a nil function", panicMessage(func() {
		stm.Atomically(func(tx *stm.Tx) error { v.Modify(tx, nil); return nil })
	}))
}

// A hook runs after its transaction ended: the Tx it captured is dead,
// even for a hook that starts a transaction of its own (which must not get
// the same Tx and see writes through the old one land in it).
func TestHookUsingItsFinishedTxPanics(t *testing.T) {
	v, w := stm.NewVar(0), stm.NewVar(0)
	var msgs []string
	stm.Atomically(func(tx *stm.Tx) error {
		v.Set(tx, 1)
		tx.AfterCommit(func() { //stmvet:ignore the misuse under test
			msgs = append(msgs, panicMessage(func() { w.Set(tx, 7) }))
			stm.Atomically(func(inner *stm.Tx) error {
				msgs = append(msgs, panicMessage(func() { w.Set(tx, 99) }))
				msgs = append(msgs, panicMessage(func() { tx.AfterCommit(func() {}) }))
				return nil
			})
		})
		return nil
	})
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.Contains(t, m, "Tx used after its transaction ended")
	}
	require.Equal(t, 1, v.Load())
	require.Zero(t, w.Load(), "a write through the finished Tx landed in another transaction")
}

func TestReexecRunsEveryCommittedBodyTwice(t *testing.T) {
	defer stm.SetReexec(stm.SetReexec(true))
	v := stm.NewVar(0)
	runs := 0
	stm.Atomically(func(tx *stm.Tx) error {
		runs++ // the side effect the mode exposes
		v.Set(tx, v.Get(tx)+1)
		return nil
	})
	require.Equal(t, 2, runs)
	require.Equal(t, 1, v.Load(), "only the last run commits")
	require.Zero(t, stm.ReadStats().Sub(stm.ReadStats()).Aborts)
	// A failing body runs once: it does not commit.
	runs = 0
	stm.Atomically(func(tx *stm.Tx) error { runs++; return context.Canceled }) //stmvet:ignore the misuse under test
	require.Equal(t, 1, runs)
}

func TestParseDebug(t *testing.T) {
	for in, want := range map[string][2]bool{
		"": {}, "0": {}, "1": {true, false}, "checks": {true, false}, "reexec": {false, true},
		"1,reexec": {true, true}, " reexec , 1 ": {true, true}, "other": {},
	} {
		c, r := stm.ParseDebug(in)
		require.Equal(t, want, [2]bool{c, r}, "%q", in)
	}
}
