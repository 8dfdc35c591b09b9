package stm_test

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"gostm.dev/stm"
)

func TestOrElseDiscardsWritesOfRetriedBranch(t *testing.T) {
	x, y := stm.NewVar(1), stm.NewVar(1)
	hooks := []string{}
	got := stm.Eval(func(tx *stm.Tx) string {
		x.Set(tx, 10) // written before the branch: must survive its rollback
		return stm.OrElse(tx,
			func(tx *stm.Tx) string {
				x.Set(tx, 20)
				y.Set(tx, 20)
				tx.AfterCommit(func() { hooks = append(hooks, "first") })
				tx.Retry()
				return "first"
			},
			func(tx *stm.Tx) string {
				require.Equal(t, 10, x.Get(tx), "the retried branch's write to x is visible")
				require.Equal(t, 1, y.Get(tx), "the retried branch's write to y is visible")
				tx.AfterCommit(func() { hooks = append(hooks, "second") })
				return "second"
			})
	})
	require.Equal(t, "second", got)
	require.Equal(t, 10, x.Load())
	require.Equal(t, 1, y.Load())
	require.Equal(t, []string{"second"}, hooks)
}

func TestOrElseNested(t *testing.T) {
	a, b, c := stm.NewVar(0), stm.NewVar(0), stm.NewVar(0)
	retryAfter := func(v *stm.Var[int], val int) func(*stm.Tx) int {
		return func(tx *stm.Tx) int { v.Set(tx, val); tx.Retry(); return 0 }
	}
	got := stm.Eval(func(tx *stm.Tx) int {
		a.Set(tx, 1)
		return stm.OrElse(tx,
			func(tx *stm.Tx) int {
				b.Set(tx, 1)
				// Inner choice: the first two retry, the third succeeds and
				// overwrites a box the outer branch allocated.
				r := stm.OrElse(tx, retryAfter(a, 100), retryAfter(b, 100), func(tx *stm.Tx) int {
					require.Equal(t, 1, a.Get(tx))
					require.Equal(t, 1, b.Get(tx))
					b.Set(tx, 2)
					return 3
				})
				c.Set(tx, r)
				tx.Check(c.Get(tx) > 100) // the outer first branch retries after all
				return -1
			},
			func(tx *stm.Tx) int {
				require.Equal(t, 1, a.Get(tx))
				require.Zero(t, b.Get(tx), "writes of the retried outer branch leaked")
				require.Zero(t, c.Get(tx))
				c.Set(tx, 7)
				return stm.OrElse(tx, func(tx *stm.Tx) int { c.Set(tx, 8); return 8 }, retryAfter(c, 9))
			})
	})
	require.Equal(t, 8, got)
	require.Equal(t, 1, a.Load())
	require.Zero(t, b.Load())
	require.Equal(t, 8, c.Load())
}

// When every alternative retries, the transaction waits on the reads of all
// of them: a change to a Var read only by a discarded branch wakes it.
func TestOrElseReadsOfRetriedBranchesWake(t *testing.T) {
	for _, wake := range []string{"first", "second"} {
		t.Run("wake="+wake, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				first, second := stm.NewVar(0), stm.NewVar(0)
				take := func(v *stm.Var[int], name string) func(*stm.Tx) string {
					return func(tx *stm.Tx) string {
						n := v.Get(tx)
						tx.Check(n > 0)
						v.Set(tx, n-1)
						return name
					}
				}
				got := make(chan string)
				go func() {
					got <- stm.Eval(func(tx *stm.Tx) string {
						return stm.OrElse(tx, take(first, "first"), take(second, "second"))
					})
				}()
				synctest.Wait()
				require.Equal(t, 1, stm.WaitersOn(first))
				require.Equal(t, 1, stm.WaitersOn(second))
				if wake == "first" {
					first.Store(1)
				} else {
					second.Store(1)
				}
				require.Equal(t, wake, <-got)
				require.Zero(t, first.Load()+second.Load())
				require.Zero(t, stm.WaitersOn(first)+stm.WaitersOn(second))
			})
		})
	}
}

func TestOrElseSingleAlternativeRetriesTheTransaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := stm.NewVar(0)
		done := make(chan int)
		go func() {
			done <- stm.Eval(func(tx *stm.Tx) int {
				return stm.OrElse(tx, func(tx *stm.Tx) int { tx.Check(v.Get(tx) > 0); return v.Get(tx) })
			})
		}()
		synctest.Wait()
		v.Store(5)
		require.Equal(t, 5, <-done)
	})
}
