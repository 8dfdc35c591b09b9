package tvar_test

import (
	"slices"
	"testing"
	"testing/synctest"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// UnGet on the three queue-like types (Haskell's unGetTQueue,
// unGetTBQueue, unGetTChan): the element goes back at the front, wakes a
// blocked reader, and on a BoundedQueue waits for a free slot.

func TestQueueUnGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := tvar.NewQueue[string]()
		pop := eventually(func() string { return stm.Eval(q.Pop) })
		stillBlocked(t, pop, "Pop of an empty Queue")
		atomically(func(tx *stm.Tx) { q.UnGet(tx, "back") })
		woke(t, pop, "back", "Pop after UnGet")

		atomically(func(tx *stm.Tx) { q.Push(tx, "a"); q.Push(tx, "b") })
		// Popped in one transaction, put back in another: first again.
		v := stm.Eval(q.Pop)
		atomically(func(tx *stm.Tx) { q.UnGet(tx, v); q.UnGet(tx, "z") })
		if got := stm.Eval(q.Drain); len(got) != 3 || got[0] != "z" || got[1] != "a" || got[2] != "b" {
			t.Fatalf("Drain = %v, want [z a b]", got)
		}
		// A rolled-back UnGet leaves nothing behind.
		//stmvet:ignore the body under test cannot fail
		stm.Atomically(func(tx *stm.Tx) error { q.UnGet(tx, "x"); return errAbort })
		if n := stm.Eval(q.Len); n != 0 {
			t.Fatalf("Len = %d after a rolled-back UnGet", n)
		}
	})
}

// On a full BoundedQueue, UnGet blocks (as GHC's unGetTBQueue retries)
// until a Pop frees a slot; TryUnGet says false; Pop then UnGet in one
// transaction never blocks, since the Pop freed the slot.
func TestBoundedQueueUnGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, err := tvar.NewBoundedQueue[int](2)
		if err != nil {
			t.Fatal(err)
		}
		atomically(func(tx *stm.Tx) { q.Push(tx, 1); q.Push(tx, 2) })
		unget := eventually(func() bool { atomically(func(tx *stm.Tx) { q.UnGet(tx, 0) }); return true })
		stillBlocked(t, unget, "UnGet into a full BoundedQueue")
		if stm.Eval(func(tx *stm.Tx) bool { return q.TryUnGet(tx, 0) }) {
			t.Fatal("TryUnGet into a full BoundedQueue succeeded")
		}
		roundTrip := eventually(func() int {
			return stm.Eval(func(tx *stm.Tx) int { v := q.Pop(tx); q.UnGet(tx, v+10); return v })
		})
		woke(t, roundTrip, 1, "Pop then UnGet of a full BoundedQueue")
		stillBlocked(t, unget, "UnGet into a BoundedQueue kept full")
		if v := stm.Eval(q.Pop); v != 11 {
			t.Fatalf("Pop = %d, want 11 (the element put back)", v)
		}
		woke(t, unget, true, "UnGet after a Pop freed a slot")
		if full := stm.Eval(q.IsFull); !full {
			t.Fatal("IsFull = false with two elements in a queue of two")
		}
		if got := stm.Eval(q.Drain); len(got) != 2 || got[0] != 0 || got[1] != 2 {
			t.Fatalf("Drain = %v, want [0 2]", got)
		}
		// The slot accounting stays exact: two Pushes fill it again, a
		// third blocks.
		atomically(func(tx *stm.Tx) { q.UnGet(tx, 5); q.Push(tx, 6) })
		if n, full := stm.Eval(q.Len), stm.Eval(q.IsFull); n != 2 || !full {
			t.Fatalf("Len = %d, IsFull = %v after UnGet and Push into an empty queue of two", n, full)
		}
	})
}

// A value put back with Reader.UnGet is for that Reader only: it wakes
// that Reader's blocked Read, not another Reader's; a Dup made before the
// UnGet does not see it, one made after does.
func TestReaderUnGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := tvar.NewChan[string]()
		r1, r2 := stm.Eval(c.NewReader), stm.Eval(c.NewReader)
		got1 := eventually(func() string { return stm.Eval(r1.Read) })
		got2 := eventually(func() string { return stm.Eval(r2.Read) })
		stillBlocked(t, got1, "Read by reader 1 of an empty Chan")
		atomically(func(tx *stm.Tx) { r1.UnGet(tx, "mine") })
		woke(t, got1, "mine", "reader 1 after its UnGet")
		stillBlocked(t, got2, "reader 2 after reader 1's UnGet")
		atomically(func(tx *stm.Tx) { c.Write(tx, "all") })
		woke(t, got2, "all", "reader 2 after a Write")

		before := stm.Eval(r1.Dup)
		atomically(func(tx *stm.Tx) { r1.UnGet(tx, "u") })
		after := stm.Eval(r1.Dup)
		for _, tc := range []struct {
			name string
			r    *tvar.Reader[string]
			want []string
		}{
			{"reader 1", r1, []string{"u", "all"}},
			{"a Dup made before the UnGet", before, []string{"all"}},
			{"a Dup made after the UnGet", after, []string{"u", "all"}},
			{"reader 2", r2, nil},
		} {
			var got []string
			atomically(func(tx *stm.Tx) {
				got = got[:0]
				for v, ok := tc.r.TryRead(tx); ok; v, ok = tc.r.TryRead(tx) {
					got = append(got, v)
				}
			})
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s read %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}
