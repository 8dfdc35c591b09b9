package tvar_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Blocking semantics, deterministically: inside a synctest bubble,
// synctest.Wait returns only once every goroutine is durably blocked, and a
// transaction parked in Retry waits on a channel its own goroutine made, so
// "still blocked" and "woken by that commit" are exact statements, not
// timing guesses.

// eventually starts f on a new goroutine and returns a channel that will
// carry its result.
func eventually[T any](f func() T) <-chan T {
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	return ch
}

// stillBlocked fails t if ch has a value once the bubble has settled.
func stillBlocked[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	synctest.Wait()
	select {
	case v := <-ch:
		t.Fatalf("%s returned %v; it should still be blocked", what, v)
	default:
	}
}

// woke fails t unless ch has want once the bubble has settled.
func woke[T comparable](t *testing.T, ch <-chan T, want T, what string) {
	t.Helper()
	synctest.Wait()
	select {
	case v := <-ch:
		if v != want {
			t.Fatalf("%s returned %v; want %v", what, v, want)
		}
	default:
		t.Fatalf("%s is still blocked; it should have woken", what)
	}
}

func TestMVarBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := tvar.NewEmptyMVar[int]()
		read := eventually(func() int { return stm.Eval(m.Read) })
		stillBlocked(t, read, "Read of an empty MVar")
		atomically(func(tx *stm.Tx) { m.Put(tx, 1) })
		woke(t, read, 1, "Read")
		// Read left the value for Take; once taken, Take blocks again.
		if v := stm.Eval(m.Take); v != 1 {
			t.Fatalf("Take after Read = %d, want 1", v)
		}
		take := eventually(func() int { return stm.Eval(m.Take) })
		stillBlocked(t, take, "Take of an emptied MVar")
		atomically(func(tx *stm.Tx) { m.Put(tx, 7) })
		woke(t, take, 7, "Take")
		atomically(func(tx *stm.Tx) { m.Put(tx, 2) })
		put := eventually(func() bool { atomically(func(tx *stm.Tx) { m.Put(tx, 3) }); return true })
		stillBlocked(t, put, "Put into a full MVar")
		if v := stm.Eval(func(tx *stm.Tx) int { return m.Swap(tx, 4) }); v != 2 {
			t.Fatalf("Swap returned %d, want 2", v)
		}
		stillBlocked(t, put, "Put into a full MVar after Swap")
		if v := stm.Eval(m.Take); v != 4 {
			t.Fatalf("Take returned %d, want 4", v)
		}
		woke(t, put, true, "Put")
		if v := stm.Eval(m.Take); v != 3 {
			t.Fatalf("Take returned %d, want 3 (the blocked Put's value)", v)
		}
		swap := eventually(func() int { return stm.Eval(func(tx *stm.Tx) int { return m.Swap(tx, 9) }) })
		stillBlocked(t, swap, "Swap on an empty MVar")
		atomically(func(tx *stm.Tx) { m.Put(tx, 5) })
		woke(t, swap, 5, "Swap")
	})
}

// Write never blocks: it fills an empty MVar, waking a blocked Take, and
// replaces the value of a full one, leaving a blocked Put blocked.
func TestMVarWriteBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := tvar.NewEmptyMVar[int]()
		take := eventually(func() int { return stm.Eval(m.Take) })
		stillBlocked(t, take, "Take of an empty MVar")
		atomically(func(tx *stm.Tx) { m.Write(tx, 1) })
		woke(t, take, 1, "Take after Write")

		atomically(func(tx *stm.Tx) { m.Put(tx, 2) })
		put := eventually(func() bool { atomically(func(tx *stm.Tx) { m.Put(tx, 3) }); return true })
		stillBlocked(t, put, "Put into a full MVar")
		write := eventually(func() bool { atomically(func(tx *stm.Tx) { m.Write(tx, 4) }); return true })
		woke(t, write, true, "Write into a full MVar")
		stillBlocked(t, put, "Put into an MVar that Write kept full")
		if v := stm.Eval(m.Take); v != 4 {
			t.Fatalf("Take = %d, want 4 (Write replaced 2)", v)
		}
		woke(t, put, true, "Put after Take")
		if v := stm.Eval(m.Take); v != 3 {
			t.Fatalf("Take = %d, want 3 (the blocked Put's value)", v)
		}
	})
}

func TestQueueBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := tvar.NewQueue[string]()
		peek := eventually(func() string { return stm.Eval(q.Peek) })
		stillBlocked(t, peek, "Peek of an empty Queue")
		atomically(func(tx *stm.Tx) { q.Push(tx, "a") })
		woke(t, peek, "a", "Peek")
		if v := stm.Eval(q.Pop); v != "a" {
			t.Fatalf("Pop after Peek = %q, want a", v)
		}
		pop := eventually(func() string { return stm.Eval(q.Pop) })
		stillBlocked(t, pop, "Pop of an emptied Queue")
		atomically(func(tx *stm.Tx) { q.Push(tx, "b") })
		woke(t, pop, "b", "Pop")
		if n := stm.Eval(q.Len); n != 0 {
			t.Fatalf("Len after one Push and one Pop = %d", n)
		}
	})
}

func TestBoundedQueueBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, err := tvar.NewBoundedQueue[int](2)
		if err != nil {
			t.Fatal(err)
		}
		pop := eventually(func() int { return stm.Eval(q.Pop) })
		stillBlocked(t, pop, "Pop of an empty BoundedQueue")
		atomically(func(tx *stm.Tx) { q.Push(tx, 1) })
		woke(t, pop, 1, "Pop")

		atomically(func(tx *stm.Tx) { q.Push(tx, 2); q.Push(tx, 3) })
		push := eventually(func() bool { atomically(func(tx *stm.Tx) { q.Push(tx, 4) }); return true })
		stillBlocked(t, push, "Push into a full BoundedQueue")
		// A failed transaction that popped frees nothing.
		if err := stm.Atomically(func(tx *stm.Tx) error { q.Pop(tx); return errAbort }); !errors.Is(err, errAbort) {
			t.Fatal(err)
		}
		stillBlocked(t, push, "Push after a rolled-back Pop")
		if v := stm.Eval(q.Pop); v != 2 {
			t.Fatalf("Pop = %d, want 2", v)
		}
		woke(t, push, true, "Push")
		if got := stm.Eval(q.Drain); len(got) != 2 || got[0] != 3 || got[1] != 4 {
			t.Fatalf("Drain = %v, want [3 4]", got)
		}
	})
}

func TestSemBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := tvar.NewSem(1)
		if err != nil {
			t.Fatal(err)
		}
		acq := eventually(func() bool { atomically(func(tx *stm.Tx) { s.Acquire(tx, 3) }); return true })
		stillBlocked(t, acq, "Acquire(3) with 1 unit")
		atomically(func(tx *stm.Tx) { s.Release(tx, 1) })
		stillBlocked(t, acq, "Acquire(3) with 2 units")
		atomically(func(tx *stm.Tx) { s.Release(tx, 1) })
		woke(t, acq, true, "Acquire(3) with 3 units")
		if n := stm.Eval(s.Available); n != 0 {
			t.Fatalf("Available = %d after taking all 3", n)
		}
	})
}

func TestArrayBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := tvar.NewArrayOf(0, 0, 0)
		wait := eventually(func() int {
			return stm.Eval(func(tx *stm.Tx) int {
				v := a.Get(tx, 2)
				tx.Check(v >= 2)
				return v
			})
		})
		stillBlocked(t, wait, "wait for a[2] >= 2")
		atomically(func(tx *stm.Tx) { a.Set(tx, 0, 5); a.Set(tx, 2, 1) })
		stillBlocked(t, wait, "wait for a[2] >= 2 after a[2] = 1")
		atomically(func(tx *stm.Tx) { a.Modify(tx, 2, func(v int) int { return v + 1 }) })
		woke(t, wait, 2, "wait for a[2] >= 2")
	})
}

// OrElse over two queues blocks on both and wakes for either.
func TestOrElseTwoQueuesBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q1, q2 := tvar.NewQueue[int](), tvar.NewQueue[int]()
		pop := eventually(func() int {
			return stm.Eval(func(tx *stm.Tx) int { return stm.OrElse(tx, q1.Pop, q2.Pop) })
		})
		stillBlocked(t, pop, "Pop from q1 OrElse q2, both empty")
		atomically(func(tx *stm.Tx) { q2.Push(tx, 2) })
		woke(t, pop, 2, "Pop from q1 OrElse q2")
	})
}

// A context deadline ends a blocked Pop with nothing taken; fake time
// makes the one-second wait instant.
func TestQueuePopDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := tvar.NewQueue[int]()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error { q.Pop(tx); return nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("blocked for %v of fake time, want 1s", d)
		}
		atomically(func(tx *stm.Tx) { q.Push(tx, 1) })
		if v := stm.Eval(q.Pop); v != 1 {
			t.Fatalf("Pop = %d", v)
		}
	})
}
