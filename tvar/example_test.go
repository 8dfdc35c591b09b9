package tvar_test

import (
	"fmt"
	"sync"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Pop from whichever of two queues has an element, preferring the first;
// the transaction blocks only if both are empty.
func ExampleQueue_orElse() {
	urgent, normal := tvar.NewQueue[string](), tvar.NewQueue[string]()
	stm.Atomically(func(tx *stm.Tx) error {
		normal.Push(tx, "report")
		return nil
	})
	job := stm.Eval(func(tx *stm.Tx) string {
		return stm.OrElse(tx, urgent.Pop, normal.Pop)
	})
	fmt.Println(job)
	// Output: report
}

// Move an element from one queue to another atomically: no observer ever
// sees it in both queues or in neither.
func ExampleQueue_move() {
	inbox, done := tvar.NewQueue[string](), tvar.NewQueue[string]()
	stm.Atomically(func(tx *stm.Tx) error {
		inbox.Push(tx, "task-1")
		inbox.Push(tx, "task-2")
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		done.Push(tx, inbox.Pop(tx))
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		left, moved := inbox.Drain(tx), done.Drain(tx)
		// Print once, after the commit: the body may run more than once.
		tx.AfterCommit(func() { fmt.Println(left, moved) })
		return nil
	})
	// Output: [task-2] [task-1]
}

// Put back an element that could not be handled: a worker pops a job in
// one transaction, finds it cannot run it yet, and returns it to the front
// of the queue, ahead of jobs queued meanwhile.
func ExampleQueue_UnGet() {
	jobs := tvar.NewQueue[string]()
	stm.Atomically(func(tx *stm.Tx) error { jobs.Push(tx, "resize"); return nil })
	job := stm.Eval(jobs.Pop)
	stm.Atomically(func(tx *stm.Tx) error { jobs.Push(tx, "thumbnail"); return nil })
	// ... the worker finds it cannot run job now ...
	stm.Atomically(func(tx *stm.Tx) error { jobs.UnGet(tx, job); return nil })
	fmt.Println(stm.Eval(jobs.Drain))
	// Output: [resize thumbnail]
}

// Take k elements or none: Pop blocks the whole transaction, so a
// consumer that needs three elements never holds a partial batch.
func ExampleBoundedQueue_takeK() {
	q, err := tvar.NewBoundedQueue[int](8)
	if err != nil {
		panic(err)
	}
	takeK := func(tx *stm.Tx, k int) []int {
		batch := make([]int, 0, k)
		for range k {
			batch = append(batch, q.Pop(tx)) // retries the lot if q runs dry
		}
		return batch
	}
	stm.Atomically(func(tx *stm.Tx) error {
		q.Push(tx, 1)
		q.Push(tx, 2)
		return nil
	})
	// With only two elements queued, taking three would block; OrElse
	// turns that into "nothing taken" instead.
	got := stm.Eval(func(tx *stm.Tx) []int {
		return stm.OrElse(tx, func(tx *stm.Tx) []int { return takeK(tx, 3) },
			func(*stm.Tx) []int { return nil })
	})
	fmt.Println(got, stm.Eval(q.Len))
	stm.Atomically(func(tx *stm.Tx) error { q.Push(tx, 3); return nil })
	fmt.Println(stm.Eval(func(tx *stm.Tx) []int { return takeK(tx, 3) }), stm.Eval(q.Len))
	// Output:
	// [] 2
	// [1 2 3] 0
}

// A Sem-guarded section: at most two workers run at once.
func ExampleSem() {
	sem, err := tvar.NewSem(2)
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	running, most := 0, 0
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			stm.Atomically(func(tx *stm.Tx) error { sem.Acquire(tx, 1); return nil })
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()

			mu.Lock()
			running--
			mu.Unlock()
			stm.Atomically(func(tx *stm.Tx) error { sem.Release(tx, 1); return nil })
		})
	}
	wg.Wait()
	fmt.Println(most <= 2, stm.Eval(sem.Available))
	// Output: true 2
}

// An MVar as a one-slot mailbox: Take blocks until a Put.
func ExampleMVar() {
	box := tvar.NewEmptyMVar[string]()
	go stm.Atomically(func(tx *stm.Tx) error { box.Put(tx, "ping"); return nil })
	fmt.Println(stm.Eval(box.Take))
	// Output: ping
}

// An MVar as the latest value of a setting: Write replaces it whether or
// not it was there, never waiting for a Take, and readers Read it.
func ExampleMVar_Write() {
	level := tvar.NewEmptyMVar[string]()
	for _, v := range []string{"info", "debug"} {
		stm.Atomically(func(tx *stm.Tx) error { level.Write(tx, v); return nil })
	}
	fmt.Println(stm.Eval(level.Read))
	// Output: debug
}

// Array elements are separate Vars: a transfer touches two of them and
// conflicts only with transactions on those two.
func ExampleArray() {
	accounts := tvar.NewArrayOf(100, 50, 0)
	stm.Atomically(func(tx *stm.Tx) error {
		accounts.Modify(tx, 0, func(v int) int { return v - 30 })
		accounts.Modify(tx, 2, func(v int) int { return v + 30 })
		return nil
	})
	fmt.Println(stm.Eval(accounts.Snapshot))
	// Output: [70 50 30]
}

// A Map used as a bank: a transfer between two keys and an audit that
// ranges over a consistent snapshot of every key.
func ExampleMap() {
	balances := tvar.NewMap[string, int]()
	stm.Atomically(func(tx *stm.Tx) error {
		balances.Set(tx, "alice", 100)
		balances.Set(tx, "bob", 20)
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		balances.Update(tx, "alice", func(v int, _ bool) (int, bool) { return v - 30, true })
		balances.Update(tx, "carol", func(v int, _ bool) (int, bool) { return v + 30, true })
		balances.Delete(tx, "bob")
		return nil
	})
	stm.Atomically(func(tx *stm.Tx) error {
		total := 0
		for _, v := range balances.Range(tx) {
			total += v
		}
		carol, _ := balances.Get(tx, "carol")
		n := balances.Len(tx)
		// Print once, after the commit: the body may run more than once.
		tx.AfterCommit(func() { fmt.Println(n, total, carol) })
		return nil
	})
	// Output: 2 100 30
}

// A Set admits each element once; Add reports whether it was new.
func ExampleSet() {
	seen := tvar.NewSet[string]()
	for _, w := range []string{"a", "b", "a"} {
		added := stm.Eval(func(tx *stm.Tx) bool { return seen.Add(tx, w) })
		fmt.Println(w, added)
	}
	fmt.Println(stm.Eval(seen.Len))
	// Output:
	// a true
	// b true
	// a false
	// 2
}

// Every Reader of a Chan sees every value written after it subscribed.
func ExampleChan() {
	events := tvar.NewChan[string]()
	stm.Atomically(func(tx *stm.Tx) error { events.Write(tx, "lost: no reader yet"); return nil })
	logger, auditor := stm.Eval(events.NewReader), stm.Eval(events.NewReader)
	stm.Atomically(func(tx *stm.Tx) error {
		events.Write(tx, "login")
		events.Write(tx, "logout")
		return nil
	})
	for _, r := range []*tvar.Reader[string]{logger, auditor} {
		fmt.Println(stm.Eval(r.Read), stm.Eval(r.Read))
	}
	// Output:
	// login logout
	// login logout
}
