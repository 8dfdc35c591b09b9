package stm_test

import (
	"errors"
	"fmt"

	"gostm.dev/stm"
)

// A transfer that blocks until the source account can cover it.
func ExampleAtomically() {
	alice, bob := stm.NewVar(100), stm.NewVar(0)
	transfer := func(from, to *stm.Var[int], amount int) error {
		return stm.Atomically(func(tx *stm.Tx) error {
			if amount <= 0 {
				return fmt.Errorf("transfer of %d: the amount must be positive", amount)
			}
			bal := from.Get(tx)
			tx.Check(bal >= amount) // block until the funds are there
			from.Set(tx, bal-amount)
			to.Set(tx, to.Get(tx)+amount)
			return nil
		})
	}
	fmt.Println(transfer(alice, bob, 30))
	fmt.Println(transfer(alice, bob, -5))
	fmt.Println(alice.Load(), bob.Load())
	// Output:
	// <nil>
	// transfer of -5: the amount must be positive
	// 70 30
}

// Retry blocks a consumer until a producer's commit gives it something to take.
func ExampleTx_Retry() {
	queue := stm.NewVar([]string(nil))
	done := make(chan string)
	go func() {
		item := stm.Eval(func(tx *stm.Tx) string {
			q := queue.Get(tx)
			if len(q) == 0 {
				tx.Retry() // wakes when queue changes
			}
			queue.Set(tx, q[1:])
			return q[0]
		})
		done <- item
	}()
	queue.Store([]string{"hello"})
	fmt.Println(<-done)
	// Output: hello
}

// OrElse takes from the first source that has something, without blocking
// on the other.
func ExampleOrElse() {
	primary, backup := stm.NewVar(0), stm.NewVar(5)
	take := func(v *stm.Var[int]) func(*stm.Tx) string {
		return func(tx *stm.Tx) string {
			n := v.Get(tx)
			tx.Check(n > 0)
			v.Set(tx, n-1)
			if v == primary {
				return "primary"
			}
			return "backup"
		}
	}
	from := stm.Eval(func(tx *stm.Tx) string {
		return stm.OrElse(tx, take(primary), take(backup))
	})
	fmt.Println(from, primary.Load(), backup.Load())
	// Output: backup 0 4
}

// AfterCommit hooks run once, after the commit, never for a failed attempt.
func ExampleTx_AfterCommit() {
	balance := stm.NewVar(10)
	withdraw := func(n int) error {
		return stm.Atomically(func(tx *stm.Tx) error {
			b := balance.Get(tx)
			if b < n {
				return errors.New("insufficient funds")
			}
			balance.Set(tx, b-n)
			tx.AfterCommit(func() { fmt.Println("withdrew", n) })
			return nil
		})
	}
	fmt.Println(withdraw(4))
	fmt.Println(withdraw(40))
	// Output:
	// withdrew 4
	// <nil>
	// insufficient funds
}

func ExampleEval() {
	x, y := stm.NewVar(3), stm.NewVar(4)
	sum := stm.Eval(func(tx *stm.Tx) int { return x.Get(tx) + y.Get(tx) })
	fmt.Println(sum)
	// Output: 7
}

// A body returns ErrRetry to wait, as tx.Retry does, without a panic: here
// a consumer waits until a producer has put something in the slot.
func ExampleErrRetry() {
	slot := stm.NewVar(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var got int
		err := stm.Atomically(func(tx *stm.Tx) error {
			got = slot.Get(tx)
			if got == 0 {
				return stm.ErrRetry // block until slot changes, then run again
			}
			slot.Set(tx, 0)
			return nil
		})
		fmt.Println("took", got, err)
	}()
	slot.Store(42)
	<-done
	// Output: took 42 <nil>
}

// An audit that reads every account while transfers go on: View reads one
// snapshot, so the total is always exact, and writers never make it start
// again.
func ExampleView() {
	accounts := make([]*stm.Var[int], 100)
	for i := range accounts {
		accounts[i] = stm.NewVar(10)
	}
	done := make(chan struct{})
	go func() { // transfers, concurrently with the audit
		defer close(done)
		for i := range 1000 {
			from, to := accounts[i%100], accounts[(i*7+3)%100]
			stm.Atomically(func(tx *stm.Tx) error {
				from.Set(tx, from.Get(tx)-1)
				to.Set(tx, to.Get(tx)+1)
				return nil
			})
		}
	}()
	total := stm.View(func(tx *stm.Tx) int {
		sum := 0
		for _, a := range accounts {
			sum += a.Get(tx)
		}
		return sum
	})
	<-done
	fmt.Println(total)
	// Output: 1000
}

// Requests counted by many transactions at once: Add (a Commute) applies
// at commit, so counting never makes two transactions conflict.
func ExampleAdd() {
	requests := stm.NewVar(0)
	largest := stm.NewVar(0)
	handle := func(size int) {
		stm.Atomically(func(tx *stm.Tx) error {
			stm.Add(tx, requests, 1)
			largest.Commute(tx, func(m int) int { return max(m, size) })
			return nil
		})
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 250 {
				handle(g*1000 + i)
			}
		}()
	}
	for range 4 {
		<-done
	}
	fmt.Println(requests.Load(), largest.Load())
	// Output: 1000 3249
}

// Catch: try a step that may fail, and keep the rest of the transaction
// when it does (Haskell's catchSTM).
func ExampleCatch() {
	stock, reserved := stm.NewVar(1), stm.NewVar(0)
	errOut := errors.New("out of stock")
	reserve := func(tx *stm.Tx) error {
		n := stock.Get(tx)
		stock.Set(tx, n-1)
		reserved.Set(tx, reserved.Get(tx)+1)
		if n <= 0 {
			return errOut // undoes both writes above, not the caller's
		}
		return nil
	}
	for range 2 {
		var failed error
		stm.Atomically(func(tx *stm.Tx) error {
			failed = stm.Catch(tx, reserve) // the order goes on either way
			return nil
		})
		if failed != nil {
			fmt.Println("not reserved:", failed)
		}
	}
	fmt.Println(stock.Load(), reserved.Load())
	// Output:
	// not reserved: out of stock
	// 0 1
}
