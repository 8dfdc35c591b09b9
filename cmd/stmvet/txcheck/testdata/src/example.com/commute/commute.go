// Package commute passes functions to Var.Commute that break its rules
// (each line with a want comment) and near misses that must not be
// reported.
package commute

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"example.com/effects"

	"gostm.dev/stm"
)

var (
	counter = stm.NewVar(0)
	other   = stm.NewVar(0)
	set     = stm.NewVar(map[string]bool{})
	list    = stm.NewVar([]int{})
	hits    int
	mu      sync.Mutex
	ch      = make(chan int, 1)
)

type holder struct{ tx *stm.Tx }

// Literals are checked where they are written.
func literals(h *holder) error {
	return stm.Atomically(func(tx *stm.Tx) error {
		counter.Commute(tx, func(x int) int {
			return x + other.Get(tx) // want `stm.Var.Get in a function passed to Var.Commute: it runs at commit, under the Var's lock, or not at all there if a later Get of the Var in the transaction turns the commute into an ordinary read, so it must be a short, pure function of its argument; it must not use Vars`
		})
		counter.Commute(tx, func(x int) int {
			other.Set(tx, x)        // want `stm.Var.Set in a function passed to Var.Commute`
			return x + other.Load() // want `stm.Var.Load in a function passed to Var.Commute`
		})
		counter.Commute(tx, func(x int) int {
			stm.Add(tx, other, 1)                                       // want `stm.Add in a function passed to Var.Commute`
			_ = stm.Eval(func(tx *stm.Tx) int { return other.Get(tx) }) // want `stm.Eval in a function passed to Var.Commute`
			return x
		})
		counter.Commute(tx, func(x int) int {
			helper(tx)            // want `tx used in a function passed to Var.Commute: .*a Tx is not valid there`
			return x + peek(h.tx) // want `tx used in a function passed to Var.Commute`
		})
		counter.Commute(tx, func(x int) int {
			fmt.Println(x) // want `fmt.Println in a function passed to Var.Commute: it runs at commit.*; do side effects in tx.AfterCommit`
			mu.Lock()      // want `sync.Mutex.Lock in a function passed to Var.Commute`
			mu.Unlock()    // want `sync.Mutex.Unlock in a function passed to Var.Commute`
			time.Sleep(1)  // want `time.Sleep in a function passed to Var.Commute`
			ch <- x        // want `channel send in a function passed to Var.Commute`
			<-ch           // want `channel receive in a function passed to Var.Commute`
			go func() {}() // want `go statement in a function passed to Var.Commute`
			logIt()        // want `commute.logIt \(commute.logIt → fmt.Println\) in a function passed to Var.Commute`
			hits++         // want `assignment to variable hits in a function passed to Var.Commute: .*return the result instead`
			func() {
				fmt.Print("in a closure it calls") // want `fmt.Print in a function passed to Var.Commute`
			}()
			return x + 1
		})
		// Its argument is the Var's committed value, shared with readers.
		set.Commute(tx, func(m map[string]bool) map[string]bool {
			m["a"] = true  // want `write to m\["a"\] changes the argument of a function passed to Var.Commute, the Var's committed value, which other transactions and Views may be reading: change a copy .* and return it`
			delete(m, "b") // want `delete\(m\) changes the argument of a function passed to Var.Commute`
			return m
		})
		list.Commute(tx, func(s []int) []int {
			slices.Sort(s)      // want `slices.Sort\(s\) changes the argument`
			return append(s, 1) // want `append to s may write into the backing array of the argument of a function passed to Var.Commute`
		})
		return nil
	})
}

// Near misses: pure functions of their argument.
func pure() error {
	return stm.Atomically(func(tx *stm.Tx) error {
		n := other.Get(tx) // read in the body, captured by value
		counter.Commute(tx, func(x int) int { return x + n })
		counter.Commute(tx, func(x int) int {
			sq := func(y int) int { return y * y }
			k := sq(x)
			k++
			_ = fmt.Sprintf("%d", k)
			return max(k, n)
		})
		set.Commute(tx, func(m map[string]bool) map[string]bool {
			m = maps.Clone(m)
			m["a"] = true
			return m
		})
		list.Commute(tx, func(s []int) []int { return append(slices.Clip(s), n) })
		list.Commute(tx, func(s []int) []int {
			c := slices.Clone(s)
			slices.Sort(c)
			return c
		})
		counter.Commute(tx, double)
		counter.Commute(tx, identity[int])
		counter.Commute(tx, effects.Pure)
		stm.Add(tx, counter, 1)
		// The body's own rules are unchanged around a Commute.
		fmt.Println("x") // want `fmt.Println inside a transaction body`
		return nil
	})
}

func helper(tx *stm.Tx)          { other.Set(tx, 1) }
func peek(tx *stm.Tx) int        { return other.Get(tx) }
func logIt()                     { fmt.Println("x") }
func double(x int) int           { return 2 * x }
func identity[T any](x T) T      { return x }
func noisy[T any](x T) T         { fmt.Println(x); return x }
func logged(x int) int           { logIt(); return x }
func loads(x int) int            { return x + other.Load() }
func (h *holder) plus(x int) int { return x + other.Get(h.tx) }
func (h *holder) stash(x int) int {
	hits = x
	return x
}

// Named functions, method values and variables are checked through their
// code (or facts) and reported at the call.
func named(h *holder) error {
	inc := func(x int) int { fmt.Println(x); return x + 1 }
	return stm.Atomically(func(tx *stm.Tx) error {
		counter.Commute(tx, logged)         // want `commute.logged passed to Var.Commute is not a pure function \(commute.logIt \(commute.logIt → fmt.Println\)\): it runs at commit`
		counter.Commute(tx, loads)          // want `commute.loads passed to Var.Commute is not a pure function \(stm.Var.Load\)`
		counter.Commute(tx, noisy[int])     // want `commute.noisy passed to Var.Commute is not a pure function \(fmt.Println\)`
		counter.Commute(tx, h.plus)         // want `commute.holder.plus passed to Var.Commute is not a pure function \(stm.Var.Get\)`
		counter.Commute(tx, h.stash)        // want `commute.holder.stash passed to Var.Commute is not a pure function \(assignment to variable hits\)`
		counter.Commute(tx, inc)            // want `inc passed to Var.Commute is not a pure function \(fmt.Println\)`
		counter.Commute(tx, effects.Logged) // want `effects.Logged passed to Var.Commute is not a pure function \(effects.Logged → fmt.Println\)`
		return nil
	})
}

// A Commute outside a body literal (here, in a method that holds a Tx)
// is checked too.
func (h *holder) later() {
	counter.Commute(h.tx, func(x int) int {
		fmt.Println(x) // want `fmt.Println in a function passed to Var.Commute`
		return x
	})
}

// //stmvet:ignore silences a line here as anywhere.
func silenced() error {
	return stm.Atomically(func(tx *stm.Tx) error {
		counter.Commute(tx, func(x int) int {
			fmt.Println(x) //stmvet:ignore a test of the engine that prints on purpose
			return x
		})
		return nil
	})
}
