package tvar_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// TestMapUpdateCases: each of Update's four cases (key present or absent,
// f keeping it or not) calls f once with the right arguments and leaves
// the documented contents and Len.
func TestMapUpdateCases(t *testing.T) {
	cases := []struct {
		name    string
		present bool
		keep    bool
		wantOK  bool // k present afterwards
		wantLen int
	}{
		{"present/keep", true, true, true, 3},
		{"absent/keep", false, true, true, 4},
		{"present/delete", true, false, false, 2},
		{"absent/delete", false, false, false, 3},
	}
	for h := range hashers {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/hasher=%d", c.name, h), func(t *testing.T) {
				m := newIntMap(h)
				k := 7
				atomically(func(tx *stm.Tx) {
					for _, o := range []int{1, 2, 3} {
						m.Set(tx, o, o*10)
					}
					if c.present {
						m.Delete(tx, 3)
						m.Set(tx, k, 70)
					}
				})
				calls := 0
				atomically(func(tx *stm.Tx) {
					m.Update(tx, k, func(old int, ok bool) (int, bool) {
						calls++
						if want := map[bool]int{true: 70, false: 0}[c.present]; old != want || ok != c.present {
							t.Errorf("f(%d, %v), want f(%d, %v)", old, ok, want, c.present)
						}
						return 99, c.keep
					})
				})
				if calls != 1 {
					t.Fatalf("f called %d times, want once", calls)
				}
				atomically(func(tx *stm.Tx) {
					v, ok := m.Get(tx, k)
					if ok != c.wantOK || ok && v != 99 {
						t.Errorf("Get = %d, %v; want present %v with 99", v, ok, c.wantOK)
					}
					if n := m.Len(tx); n != c.wantLen {
						t.Errorf("Len = %d, want %d", n, c.wantLen)
					}
					ranged := 0
					for o := range m.Range(tx) {
						ranged++
						if o == k && !c.wantOK {
							t.Errorf("Range yielded the deleted key")
						}
					}
					if ranged != c.wantLen {
						t.Errorf("Range yielded %d keys, want %d", ranged, c.wantLen)
					}
					if _, err := tvar.CheckMap(tx, m); err != nil {
						t.Error(err)
					}
				})
			})
		}
	}
}

// TestMapUpdateAbsentDeleteWritesNothing: Update of an absent key whose f
// says delete commits no write, so a transaction blocked on the map's
// size and on that key is not woken by it; it depends on the key's
// absence, so adding the key wakes a transaction that retried after it.
func TestMapUpdateAbsentDeleteWritesNothing(t *testing.T) {
	for h := range hashers {
		t.Run(fmt.Sprint("hasher=", h), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newIntMap(h)
				atomically(func(tx *stm.Tx) {
					for k := range 40 {
						m.Set(tx, k, k)
					}
				})
				var attempts atomic.Int32 // the waiter's goroutine counts, the test reads
				watch := eventually(func() int {
					return stm.Eval(func(tx *stm.Tx) int {
						attempts.Add(1)
						_, ok := m.Get(tx, 100)
						n := m.Len(tx)
						tx.Check(ok || n != 40)
						return n
					})
				})
				stillBlocked(t, watch, "wait for key 100 or a new size")
				before := attempts.Load()
				atomically(func(tx *stm.Tx) {
					m.Update(tx, 100, func(int, bool) (int, bool) { return 1, false })
				})
				stillBlocked(t, watch, "wait after Update deleted an absent key")
				if n := attempts.Load(); n != before {
					t.Fatalf("the waiter ran again (%d attempts, had %d): Update wrote something", n, before)
				}
				atomically(func(tx *stm.Tx) { m.Set(tx, 100, 1) })
				woke(t, watch, 41, "wait for key 100 or a new size")

				// The absence it read is a dependency: Retry waits on it.
				deleted := eventually(func() bool {
					return stm.Eval(func(tx *stm.Tx) bool {
						had := false
						m.Update(tx, 200, func(_ int, ok bool) (int, bool) { had = ok; return 0, false })
						tx.Check(had)
						return had
					})
				})
				stillBlocked(t, deleted, "Update of absent key 200, then Retry")
				atomically(func(tx *stm.Tx) { m.Set(tx, 200, 2) })
				woke(t, deleted, true, "Update that waited for key 200")
				if stm.Eval(func(tx *stm.Tx) bool { _, ok := m.Get(tx, 200); return ok }) {
					t.Fatal("key 200 still present after the woken Update deleted it")
				}
			})
		})
	}
}
