// Package bodies holds transaction bodies that break the rules (each
// line with a want comment) and near misses that must not be reported.
package bodies

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gostm.dev/stm"
)

var (
	counter = stm.NewVar(0)
	list    = stm.NewVar([]int{1, 2, 3})
	table   = stm.NewVar(map[string]int{})
	node    = stm.NewVar(&Node{})
	rec     = stm.NewVar(Record{})
	ch      = make(chan int, 1)
	mu      sync.Mutex
	wg      sync.WaitGroup
	once    sync.Once
	saved   *stm.Tx
	hs      []*holder
	errLow  = errors.New("low")
)

type Node struct {
	Val  int
	Next *Node
}

type Record struct {
	N     int
	Items []int
	Ptr   *Node
}

type holder struct{ tx *stm.Tx }

// (a) goroutines and escaping Tx values.

func goroutines() {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		go func() {}() // want `go statement in a transaction body: .*start it in tx.AfterCommit`
		go func() {    // want `go statement in a transaction body: .*do not give it tx`
			counter.Get(tx)
		}()
		return nil
	})
}

func escapes(h *holder, txs chan *stm.Tx) {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		saved = tx                       // want `\*stm.Tx stored in variable saved, which outlives the transaction`
		h.tx = tx                        // want `\*stm.Tx stored in field h.tx`
		txs <- tx                        // want `\*stm.Tx sent on a channel`
		hs = append(hs, &holder{tx: tx}) // want `\*stm.Tx stored in variable hs`
		w := holder{tx: tx}              // a local wrapper is fine
		helper(w.tx, 1)
		local := tx // a local copy is fine
		counter.Get(local)
		var later func() int
		later = func() int { return counter.Get(tx) } // local: fine, it runs in the body
		_ = later()
		return nil
	})
	_ = stm.Eval(func(tx *stm.Tx) *stm.Tx {
		return tx // want `\*stm.Tx returned from a transaction body`
	})
	_ = stm.Eval(func(tx *stm.Tx) func() int {
		return func() int { return counter.Get(tx) } // want `function literal that uses tx returned from a transaction body`
	})
	var hook func()
	_ = stm.Atomically(func(tx *stm.Tx) error {
		hook = func() { counter.Get(tx) } // want `\*stm.Tx stored in variable hook`
		tx.AfterCommit(func() {           // want `tx used in an AfterCommit callback`
			counter.Get(tx)
		})
		return nil
	})
	hook()
}

// returnsTx is a helper: returning the Tx it was given to its caller,
// who holds it already, is not an escape.
func returnsTx(tx *stm.Tx) *stm.Tx { return tx }

// (b) nested transactions and non-transactional access.

func nested(ctx context.Context) {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		_ = stm.Atomically(func(tx *stm.Tx) error { return nil })             // want `stm.Atomically inside a transaction body starts a separate transaction`
		_ = stm.AtomicallyContext(ctx, func(tx *stm.Tx) error { return nil }) // want `stm.AtomicallyContext inside a transaction body` `error returned by stm.AtomicallyContext is ignored`
		_ = stm.Eval(func(tx *stm.Tx) int { return 1 })                       // want `stm.Eval inside a transaction body`
		_ = counter.Load()                                                    // want `Var.Load inside a transaction body reads outside the transaction.*use Get\(tx\)`
		counter.Store(1)                                                      // want `Var.Store inside a transaction body commits on its own.*use Set\(tx, x\)`
		bump()                                                                // want `bodies.bump uses Vars outside this transaction \(bodies.bump → bodies.add → stm.Var.Store\)`
		return nil
	})
}

func bump()     { add(1) }
func add(n int) { counter.Store(counter.Load() + n) }

// helper takes the Tx: calling it is how a body composes.
func helper(tx *stm.Tx, n int) {
	counter.Set(tx, counter.Get(tx)+n)
}

// (c) channels, locks, sleeping and I/O.

func effects(w http.ResponseWriter, f *os.File) {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		ch <- 1  // want `channel send in a transaction body`
		<-ch     // want `channel receive in a transaction body`
		select { // want `select in a transaction body`
		case v := <-ch:
			counter.Set(tx, v)
		case ch <- 2:
		default:
		}
		for range ch { // want `range over a channel in a transaction body`
		}
		close(ch)                  // want `close of a channel in a transaction body`
		mu.Lock()                  // want `sync.Mutex.Lock inside a transaction body`
		mu.Unlock()                // want `sync.Mutex.Unlock inside a transaction body`
		wg.Wait()                  // want `sync.WaitGroup.Wait inside a transaction body`
		once.Do(func() {})         // want `sync.Once.Do inside a transaction body`
		time.Sleep(time.Second)    // want `time.Sleep inside a transaction body delays the commit.*tx.Retry`
		fmt.Println("hello")       // want `fmt.Println inside a transaction body.*do I/O in tx.AfterCommit`
		fmt.Fprintln(os.Stderr, 1) // want `fmt.Fprintln inside a transaction body`
		fmt.Fprintf(w, "x")        // want `fmt.Fprintf inside a transaction body`
		w.Write(nil)               // want `http.ResponseWriter.Write inside a transaction body`
		f.WriteString("x")         // want `os.File.WriteString inside a transaction body`
		_, _ = os.ReadFile("x")    // want `os.ReadFile inside a transaction body`
		log.Printf("x")            // want `log.Printf inside a transaction body`
		_, _ = http.Get("x")       // want `http.Get inside a transaction body`
		logIt()                    // want `bodies.logIt has side effects \(bodies.logIt → bodies.logTo → fmt.Fprintln\).*tx.AfterCommit`
		locked()                   // want `bodies.locked uses a lock or other sync primitive \(bodies.locked → sync.Mutex.Lock\)`
		func() {
			fmt.Print("in a closure run by the body") // want `fmt.Print inside a transaction body`
		}()
		return nil
	})
}

func logIt()           { logTo(os.Stdout) }
func logTo(f *os.File) { fmt.Fprintln(f, "x") }

func locked() {
	mu.Lock()
	defer mu.Unlock()
}

// Near misses for (c): none of these is reported.
func pure() {
	var b bytes.Buffer
	var sb strings.Builder
	err := stm.Atomically(func(tx *stm.Tx) error {
		n := counter.Get(tx)
		fmt.Fprintf(&b, "%d", n) // a buffer is not I/O
		fmt.Fprint(&sb, n)
		_ = fmt.Sprintf("%d", n)
		_ = os.Getenv("HOME")
		if n < 0 {
			return fmt.Errorf("negative: %d", n)
		}
		helper(tx, 1) // a helper taking tx is part of the transaction
		tx.AfterCommit(func() {
			fmt.Println("committed", n) // I/O belongs here
			ch <- n
			mu.Lock()
			mu.Unlock()
			_ = stm.Atomically(func(tx *stm.Tx) error { return nil })
			go logIt()
		})
		tx.AfterCommit(logIt)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Outside bodies, anything goes.
	go logIt()
	ch <- 1
	fmt.Println(counter.Load())
	// Vars captured by closures are fine.
	inc := func(tx *stm.Tx) error {
		counter.Set(tx, counter.Get(tx)+1)
		return nil
	}
	if err := stm.Atomically(inc); err != nil {
		panic(err)
	}
	// A body may return a closure that runs after it, without the Tx.
	report := stm.Eval(func(tx *stm.Tx) func() {
		n := counter.Get(tx)
		return func() { fmt.Println(n) }
	})
	report()
	// OrElse alternatives are bodies of their own.
	_ = stm.Atomically(func(tx *stm.Tx) error {
		stm.OrElse(tx, func(tx *stm.Tx) int {
			tx.Check(counter.Get(tx) > 0)
			return 1
		}, func(tx *stm.Tx) int {
			fmt.Println("no") // want `fmt.Println inside a transaction body`
			return 0
		})
		return nil
	})
}

// (d) writes into values read from Vars.

func mutations() {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		xs := list.Get(tx)
		xs[0] = 9          // want `write to xs\[0\] changes a value read from a Var`
		xs[1]++            // want `write to xs\[1\] changes a value read from a Var`
		xs = append(xs, 4) // want `append to xs, which was read from a Var, may write into the backing array`
		list.Set(tx, xs)
		m := table.Get(tx)
		m["a"] = 1     // want `write to m\["a"\] changes a value read from a Var`
		delete(m, "b") // want `delete modifies m, which was read from a Var`
		clear(m)       // want `clear modifies m`
		n := node.Get(tx)
		n.Val = 1      // want `write to n.Val changes a value read from a Var`
		n.Next.Val = 2 // want `write to n.Next.Val changes a value read from a Var`
		*n = Node{}    // want `write to \*n changes a value read from a Var`
		r := rec.Get(tx)
		r.N = 1                      // a field of a struct value: the body's own copy
		r.Items[0] = 1               // want `write to r.Items\[0\] changes a value read from a Var`
		r.Ptr.Val = 1                // want `write to r.Ptr.Val changes a value read from a Var`
		list.Get(tx)[2] = 0          // want `write to list.Get\(tx\)\[2\] changes a value read from a Var`
		sort.Ints(list.Get(tx))      // want `sort.Ints modifies list.Get\(tx\)`
		slices.Sort(xs)              // want `slices.Sort modifies xs`
		copy(list.Get(tx), []int{1}) // want `copy modifies list.Get\(tx\)`
		for _, p := range []*Node{node.Get(tx)} {
			_ = p // elements of a fresh slice: not followed
		}
		for _, v := range table.Get(tx) {
			_ = v
		}
		list.Modify(tx, func(s []int) []int {
			s[0] = 1            // want `write to s\[0\] changes a value read from a Var`
			return append(s, 5) // want `append to s`
		})
		return nil
	})
}

// Near misses for (d): copies first.
func copies() {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		xs := slices.Clone(list.Get(tx))
		xs[0] = 9
		xs = append(xs, 4)
		list.Set(tx, xs)
		ys := list.Get(tx)
		ys = slices.Clone(ys) // the copy replaces the shared value
		ys[0] = 1
		zs := list.Get(tx)
		zs = append(zs[:len(zs):len(zs)], 7) // capacity-bounded: always copies
		zs[0] = 1
		ws := append(slices.Clip(list.Get(tx)), 8)
		ws[0] = 2
		m := maps.Clone(table.Get(tx))
		m["a"] = 1
		delete(m, "b")
		table.Set(tx, m)
		n := *node.Get(tx) // a copy of the node
		n.Val = 1
		node.Set(tx, &n)
		fresh := &Node{Val: counter.Get(tx)}
		fresh.Val++
		r := rec.Get(tx)
		r.N++
		r.Items = slices.Clone(r.Items)
		r.Items[0] = 1
		rec.Set(tx, r)
		k := counter.Get(tx)
		k++
		counter.Set(tx, k)
		list.Modify(tx, func(s []int) []int {
			return append(slices.Clone(s), 5)
		})
		b := []byte(strings.Repeat("x", counter.Get(tx)))
		b[0] = 'y'
		return nil
	})
}

// (e) ignored errors.

func ignored(ctx context.Context) {
	stm.Atomically(func(tx *stm.Tx) error { return errLow })          // want `the error returned by stm.Atomically is ignored`
	_ = stm.Atomically(func(tx *stm.Tx) error { return errLow })      // want `the error returned by stm.Atomically is ignored`
	stm.AtomicallyContext(ctx, func(tx *stm.Tx) error { return nil }) // want `the error returned by stm.AtomicallyContext is ignored`
	defer stm.Atomically(func(tx *stm.Tx) error { return errLow })    // want `the error returned by stm.Atomically is ignored`
	go stm.Atomically(withdraw)                                       // want `the error returned by stm.Atomically is ignored`
	if err := stm.Atomically(withdraw); err != nil && !errors.Is(err, errLow) {
		panic(err)
	}
	// A body that can only return nil has no error to ignore.
	stm.Atomically(func(tx *stm.Tx) error { counter.Set(tx, 1); return nil })
	stm.Atomically(deposit)
	setOne := func(tx *stm.Tx) error { counter.Set(tx, 1); return nil }
	stm.Atomically(setOne)
	// Nor one that returns only nil or stm.ErrRetry, which Atomically never returns.
	stm.Atomically(func(tx *stm.Tx) error {
		if counter.Get(tx) == 0 {
			return stm.ErrRetry
		}
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error { // want `the error returned by stm.Atomically is ignored`
		if counter.Get(tx) == 0 {
			return stm.ErrRetry
		}
		return errLow
	})
}

func withdraw(tx *stm.Tx) error {
	if counter.Get(tx) < 1 {
		return errLow
	}
	counter.Set(tx, counter.Get(tx)-1)
	return nil
}

func deposit(tx *stm.Tx) error {
	counter.Set(tx, counter.Get(tx)+1)
	return nil
}

// A declared body is checked like a literal one.
func declared(tx *stm.Tx) {
	fmt.Println(counter.Get(tx)) // want `fmt.Println inside a transaction body`
	go deposit(tx)               // want `go statement in a transaction body: .*do not give it tx`
}

// stmvet:ignore silences a line, and the one after it.
func silenced() {
	_ = stm.Atomically(func(tx *stm.Tx) error {
		//stmvet:ignore this test commits a conflicting transaction on purpose
		counter.Store(5)
		counter.Store(6) //stmvet:ignore same
		return nil
	})
}

// Closures declared outside a body and called in it are judged by their
// code.
var say = func() { fmt.Println("x") }

func closures() {
	helper := func() int { return stm.Eval(func(tx *stm.Tx) int { return counter.Get(tx) }) }
	double := func(n int) int { return 2 * n }
	_ = stm.Atomically(func(tx *stm.Tx) error {
		helper()                    // want `helper uses Vars outside this transaction \(helper → stm.Eval\)`
		say()                       // want `say has side effects \(say → fmt.Println\)`
		_ = double(counter.Get(tx)) // no effects
		return nil
	})
}
