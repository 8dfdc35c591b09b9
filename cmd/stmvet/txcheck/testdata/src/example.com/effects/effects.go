// Package effects exports functions whose effects other packages learn
// from facts.
package effects

import (
	"fmt"
	"sync"

	"gostm.dev/stm"
)

var (
	total = stm.NewVar(0)
	mu    sync.Mutex
)

// Transfer runs a transaction of its own.
func Transfer() { // want Transfer:"tx: effects.move → stm.Atomically"
	move()
}

func move() {
	if err := stm.Atomically(func(tx *stm.Tx) error { total.Set(tx, 1); return nil }); err != nil {
		panic(err)
	}
}

// Report prints.
func Report() { // want Report:"tx: stm.Var.Load; io: fmt.Println"
	fmt.Println(total.Load())
}

// Locked takes a lock: not followed out of the package.
func Locked() {
	mu.Lock()
	defer mu.Unlock()
}

// Pure has no effects.
func Pure(n int) int { return n * 2 }

// Logged prints: a function to pass to Var.Commute that must not be.
func Logged(n int) int { // want Logged:"io: fmt.Println"
	fmt.Println(n)
	return n
}

// Counter has methods with and without effects.
type Counter struct{ v *stm.Var[int] }

// Reset uses Store.
func (c *Counter) Reset() { c.v.Store(0) } // want Reset:"tx: stm.Var.Store"

// Add is a body helper: it takes the Tx.
func (c *Counter) Add(tx *stm.Tx, n int) { c.v.Set(tx, c.v.Get(tx)+n) }

// Spawn starts a goroutine.
func Spawn[T any](f func(T), x T) { // want Spawn:"io: go statement"
	go f(x)
}

// Later registers output for after the commit: no effect in the body.
func Later(tx *stm.Tx) {
	tx.AfterCommit(func() { fmt.Println("done") })
}
