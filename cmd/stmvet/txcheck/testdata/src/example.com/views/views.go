// Package views holds read-only transactions (stm.View) that write or
// wait, which panics at run time, and stm.View and stm.Catch bodies that
// the body checks apply to.
package views

import (
	"errors"
	"fmt"
	"time"

	"gostm.dev/stm"
)

var (
	counter = stm.NewVar(0)
	errLow  = errors.New("low")
)

// Writes and waits in a View panic.
func writes() int {
	return stm.View(func(tx *stm.Tx) int {
		n := counter.Get(tx)
		counter.Set(tx, 1)                                // want `stm.Var.Set inside stm.View panics at run time: View is read-only; use Atomically`
		counter.Modify(tx, func(x int) int { return x })  // want `stm.Var.Modify inside stm.View panics`
		_ = counter.Swap(tx, 2)                           // want `stm.Var.Swap inside stm.View panics`
		counter.Commute(tx, func(x int) int { return x }) // want `stm.Var.Commute inside stm.View panics`
		stm.Add(tx, counter, 1)                           // want `stm.Add inside stm.View panics`
		stm.Add[int](tx, counter, 1)                      // want `stm.Add inside stm.View panics`
		if n < 0 {
			tx.Retry() // want `tx.Retry inside stm.View panics at run time: View is read-only; use Atomically \(or Eval\) to write or to wait in Retry`
		}
		tx.Check(n > 0) // want `tx.Check inside stm.View panics`
		func() {
			counter.Set(tx, 3) // want `stm.Var.Set inside stm.View panics`
		}()
		// OrElse and Catch alternatives run in the View's transaction.
		n += stm.OrElse(tx, func(tx *stm.Tx) int {
			tx.Check(counter.Get(tx) > 0) // want `tx.Check inside stm.View panics`
			return 1
		}, func(tx *stm.Tx) int {
			counter.Set(tx, 0) // want `stm.Var.Set inside stm.View panics`
			return 0
		})
		_ = stm.Catch(tx, func(tx *stm.Tx) error {
			if counter.Get(tx) == 0 {
				return stm.ErrRetry // want `stm.ErrRetry returned from a Catch function inside stm.View retries, which panics at run time: View is read-only`
			}
			if counter.Get(tx) < 0 {
				return errLow
			}
			return nil
		})
		return n
	})
}

// Near misses: reads, AfterCommit, helpers (not followed), Views given by
// name (not followed), and writes in other transactions.
func reads() int {
	n := stm.View(func(tx *stm.Tx) int {
		n := counter.Get(tx)
		tx.AfterCommit(func() { counter.Store(n) })
		_ = stm.Catch(tx, func(tx *stm.Tx) error {
			if counter.Get(tx) < 0 {
				return errLow
			}
			return nil
		})
		fn := func() error { return stm.ErrRetry } // not a Catch function
		_ = fn
		return n + set(tx)
	})
	n += stm.View(audit)
	if err := stm.Atomically(func(tx *stm.Tx) error {
		counter.Set(tx, n)
		counter.Commute(tx, func(x int) int { return x + 1 })
		stm.Add(tx, counter, 1)
		tx.Check(n > 0)
		return stm.Catch(tx, func(tx *stm.Tx) error { return stm.ErrRetry })
	}); err != nil {
		panic(err)
	}
	return n
}

func set(tx *stm.Tx) int { counter.Set(tx, 1); return 1 }

func audit(tx *stm.Tx) int {
	counter.Set(tx, 1) // a View's body given by name is not followed
	return counter.Get(tx)
}

// View and Catch bodies are transaction bodies: the body checks apply,
// and a View inside another transaction is a nested transaction.
func bodies() error {
	_ = stm.View(func(tx *stm.Tx) int {
		fmt.Println("in a View")                        // want `fmt.Println inside a transaction body`
		_ = stm.View(func(tx *stm.Tx) int { return 0 }) // want `stm.View inside a transaction body starts a separate transaction`
		return 0
	})
	return stm.Atomically(func(tx *stm.Tx) error {
		_ = stm.View(func(tx *stm.Tx) int { return counter.Get(tx) }) // want `stm.View inside a transaction body starts a separate transaction`
		_ = total()                                                   // want `views.total uses Vars outside this transaction \(views.total → stm.View\)`
		return stm.Catch(tx, func(tx *stm.Tx) error {
			time.Sleep(time.Millisecond) // want `time.Sleep inside a transaction body`
			go func() {}()               // want `go statement in a transaction body`
			return nil
		})
	})
}

func total() int { return stm.View(func(tx *stm.Tx) int { return counter.Get(tx) }) }
