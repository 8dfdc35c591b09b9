package tvar_test

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// hashers force the trie shapes a random hash rarely produces: index 0 is
// the real maphash; 1 gives every key one of 3 full hashes (long collision
// lists); 2 differs only in the top bits (a chain of nodes down to the
// last level, then a fold back up on delete); 3 mixes both.
var hashers = []func(int) uint64{
	nil,
	func(k int) uint64 { return uint64(k % 3) },
	func(k int) uint64 { return uint64(k%16) << 60 },
	func(k int) uint64 { return uint64(k%2) | uint64(k/2%4)<<60 },
}

func newIntMap(h int) *tvar.Map[int, int] {
	m := tvar.NewMap[int, int]()
	if hashers[h] != nil {
		tvar.SetHasher(m, hashers[h])
	}
	return m
}

func sortedPairs(seq func(func(int, int) bool)) string {
	var s []string
	for k, v := range seq {
		s = append(s, fmt.Sprintf("%d=%d", k, v))
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

func modelPairs(m map[int]int) string {
	return sortedPairs(func(yield func(int, int) bool) {
		for k, v := range m {
			if !yield(k, v) {
				return
			}
		}
	})
}

// mapUpdate is the function the Update operation applies: add b, and
// delete the key when the sum is a multiple of 3.
func mapUpdate(b int) func(int, bool) (int, bool) {
	return func(old int, _ bool) (int, bool) { return old + b, (old+b)%3 != 0 }
}

func TestMapModel(t *testing.T) {
	checkModel(t, spec[*tvar.Map[int, int], map[int]int]{
		kinds:    []string{"Get", "Set", "Delete", "Len", "Range", "Update", "Check", "Set", "Delete"},
		sizes:    [2]int{0, len(hashers) - 1},
		args:     12,
		newSUT:   newIntMap,
		newModel: func(int) map[int]int { return map[int]int{} },
		clone:    maps.Clone[map[int]int],
		sut: func(tx *stm.Tx, m *tvar.Map[int, int], o op) string {
			switch o.k {
			case 0:
				return str(m.Get(tx, o.a))
			case 1, 7:
				m.Set(tx, o.a, o.b)
				return "ok"
			case 2, 8:
				return fmt.Sprint(m.Delete(tx, o.a))
			case 3:
				return fmt.Sprint(m.Len(tx))
			case 4:
				return sortedPairs(m.Range(tx))
			case 5:
				m.Update(tx, o.a, mapUpdate(o.b))
				return "ok"
			default:
				if _, err := tvar.CheckMap(tx, m); err != nil {
					return err.Error()
				}
				return "ok"
			}
		},
		model: func(m *map[int]int, o op) string {
			switch o.k {
			case 0:
				v, ok := (*m)[o.a]
				return str(v, ok)
			case 1, 7:
				(*m)[o.a] = o.b
				return "ok"
			case 2, 8:
				_, ok := (*m)[o.a]
				delete(*m, o.a)
				return fmt.Sprint(ok)
			case 3:
				return fmt.Sprint(len(*m))
			case 4:
				return modelPairs(*m)
			case 5:
				if v, keep := mapUpdate(o.b)((*m)[o.a], true); keep {
					(*m)[o.a] = v
				} else {
					delete(*m, o.a)
				}
				return "ok"
			default:
				return "ok"
			}
		},
	})
}

func TestSetModel(t *testing.T) {
	checkModel(t, spec[*tvar.Set[int], map[int]bool]{
		kinds: []string{"Add", "Remove", "Contains", "Len", "Range"},
		sizes: [2]int{0, len(hashers) - 1},
		args:  12,
		newSUT: func(h int) *tvar.Set[int] {
			s := tvar.NewSet[int]()
			if hashers[h] != nil {
				tvar.SetSetHasher(s, hashers[h])
			}
			return s
		},
		newModel: func(int) map[int]bool { return map[int]bool{} },
		clone:    maps.Clone[map[int]bool],
		sut: func(tx *stm.Tx, s *tvar.Set[int], o op) string {
			switch o.k {
			case 0:
				return fmt.Sprint(s.Add(tx, o.a))
			case 1:
				return fmt.Sprint(s.Remove(tx, o.a))
			case 2:
				return fmt.Sprint(s.Contains(tx, o.a))
			case 3:
				return fmt.Sprint(s.Len(tx))
			default:
				return fmt.Sprint(slices.Sorted(s.Range(tx)))
			}
		},
		model: func(m *map[int]bool, o op) string {
			switch o.k {
			case 0:
				had := (*m)[o.a]
				(*m)[o.a] = true
				return fmt.Sprint(!had)
			case 1:
				had := (*m)[o.a]
				delete(*m, o.a)
				return fmt.Sprint(had)
			case 2:
				return fmt.Sprint((*m)[o.a])
			case 3:
				return fmt.Sprint(len(*m))
			default:
				return fmt.Sprint(slices.Sorted(maps.Keys(*m)))
			}
		},
	})
}

var mapMisuseCases = []struct {
	want string
	f    func(tx *stm.Tx)
}{
	{"tvar: Get called on a nil or zero *Map (create it with NewMap)", func(tx *stm.Tx) { (*tvar.Map[int, int])(nil).Get(tx, 1) }},
	{"tvar: Set called on a nil or zero *Map (create it with NewMap)", func(tx *stm.Tx) { new(tvar.Map[int, int]).Set(tx, 1, 1) }},
	{"tvar: Range called on a nil or zero *Map (create it with NewMap)", func(tx *stm.Tx) { (*tvar.Map[int, int])(nil).Range(tx) }},
	{"tvar: Add called on a nil or zero *Set (create it with NewSet)", func(tx *stm.Tx) { (*tvar.Set[int])(nil).Add(tx, 1) }},
	{"tvar: Len called on a nil or zero *Set (create it with NewSet)", func(tx *stm.Tx) { new(tvar.Set[int]).Len(tx) }},
}

// A Map iterator used after its transaction ended is stm's misuse panic,
// not a silent read outside any transaction.
func TestMapRangeAfterTransaction(t *testing.T) {
	m := tvar.NewMap[int, int]()
	atomically(func(tx *stm.Tx) { m.Set(tx, 1, 1) })
	var it func(func(int, int) bool)
	atomically(func(tx *stm.Tx) { it = m.Range(tx) })
	defer func() {
		r, _ := recover().(string)
		if !strings.Contains(r, "Tx used after its transaction ended") {
			t.Fatalf("panic %q, want stm's ended-transaction message", r)
		}
	}()
	for range it {
	}
}

// A transaction waiting for a key wakes when that key is added, and again
// when its value changes: Get reads exactly the Vars that those commits
// write.
func TestMapBlocking(t *testing.T) {
	for h := range hashers {
		t.Run(fmt.Sprint("hasher=", h), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newIntMap(h)
				atomically(func(tx *stm.Tx) {
					for k := range 40 {
						m.Set(tx, k*2, k)
					}
				})
				wait := func(k, atLeast int) <-chan int {
					return eventually(func() int {
						return stm.Eval(func(tx *stm.Tx) int {
							v, ok := m.Get(tx, k)
							tx.Check(ok && v >= atLeast)
							return v
						})
					})
				}
				added := wait(7, 0)
				stillBlocked(t, added, "wait for key 7")
				atomically(func(tx *stm.Tx) { m.Set(tx, 9, 1); m.Delete(tx, 4) })
				stillBlocked(t, added, "wait for key 7 after other keys changed")
				atomically(func(tx *stm.Tx) { m.Set(tx, 7, 70) })
				woke(t, added, 70, "wait for key 7")

				grown := wait(10, 100)
				stillBlocked(t, grown, "wait for m[10] >= 100")
				atomically(func(tx *stm.Tx) { m.Update(tx, 10, func(v int, _ bool) (int, bool) { return v + 200, true }) })
				woke(t, grown, 205, "wait for m[10] >= 100")

				set := tvar.NewSet[int]()
				in := eventually(func() bool {
					return stm.Eval(func(tx *stm.Tx) bool { tx.Check(set.Contains(tx, 3)); return true })
				})
				stillBlocked(t, in, "wait for 3 in the set")
				atomically(func(tx *stm.Tx) { set.Add(tx, 3) })
				woke(t, in, true, "wait for 3 in the set")
			})
		})
	}
}

// Random inserts and deletes over a large key range, one per transaction
// (with some batched), checked against a Go map: contents, Len, every
// lookup, and the trie's structural invariants.
func TestMapLarge(t *testing.T) {
	n := scale(100_000, 10_000, 100_000)
	r := newRand(testSeed(t))
	m := tvar.NewMap[int, int]()
	want := map[int]int{}
	// 2n random operations, 1–8 to a transaction (batching keeps the
	// race-detector run short: stm's per-transaction debug checks cost
	// more than the operations); the first n are all inserts.
	type mapOp struct {
		del  bool
		k, v int
	}
	for i := 0; i < 2*n; {
		batch := make([]mapOp, min(1+r.IntN(8), 2*n-i))
		for j := range batch {
			batch[j] = mapOp{i >= n && r.IntN(3) == 0, r.IntN(2 * n), i}
			i++
		}
		var had []bool
		atomically(func(tx *stm.Tx) {
			had = had[:0]
			for _, o := range batch {
				if o.del {
					had = append(had, m.Delete(tx, o.k))
				} else {
					m.Set(tx, o.k, o.v)
				}
			}
		})
		for _, o := range batch {
			if !o.del {
				want[o.k] = o.v
				continue
			}
			_, ok := want[o.k]
			if had[0] != ok {
				t.Fatalf("Delete(%d) = %v, Go map had it: %v", o.k, had[0], ok)
			}
			had = had[1:]
			delete(want, o.k)
		}
	}
	atomically(func(tx *stm.Tx) {
		nodes, err := tvar.CheckMap(tx, m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d keys in %d nodes", len(want), nodes)
		if got := m.Len(tx); got != len(want) {
			t.Fatalf("Len = %d, Go map has %d", got, len(want))
		}
		got := map[int]int{}
		for k, v := range m.Range(tx) {
			if _, dup := got[k]; dup {
				t.Fatalf("Range yielded %d twice", k)
			}
			got[k] = v
		}
		if !maps.Equal(got, want) {
			t.Fatalf("Range differs from the Go map (%d vs %d keys)", len(got), len(want))
		}
	})
	// Every key in the range, present or not, a thousand per transaction.
	for lo := 0; lo < 2*n; lo += 1000 {
		atomically(func(tx *stm.Tx) {
			for k := lo; k < min(lo+1000, 2*n); k++ {
				w, wok := want[k]
				if v, ok := m.Get(tx, k); v != w || ok != wok {
					t.Fatalf("Get(%d) = %d, %v; Go map: %d, %v", k, v, ok, w, wok)
				}
			}
		})
	}
	// Deleting everything folds the trie back to an empty root.
	atomically(func(tx *stm.Tx) {
		for k := range want {
			m.Delete(tx, k)
		}
		if nodes, err := tvar.CheckMap(tx, m); err != nil || nodes != 1 || m.Len(tx) != 0 {
			t.Fatalf("after deleting every key: %d nodes, Len %d, %v", nodes, m.Len(tx), err)
		}
	})
}

// Concurrent writers keep two invariants: the keys present are always
// 0..size-1 shifted by a moving window (each transaction deletes the
// lowest key and adds one above the highest), and the values sum to zero
// (each transaction moves an amount between two keys). A reader's Range,
// in every snapshot, must see exactly a window of size keys whose values
// sum to zero, and Len must equal the count Range saw.
func TestMapRangeSnapshot(t *testing.T) {
	for h := range hashers {
		t.Run(fmt.Sprint("hasher=", h), func(t *testing.T) {
			const size = 64
			m := newIntMap(h)
			lo := stm.NewVar(0)
			atomically(func(tx *stm.Tx) {
				for k := range size {
					m.Set(tx, k, 0)
				}
			})
			rounds := scale(2000, 200, 300)
			var wg sync.WaitGroup
			var writing atomic.Int32
			writing.Store(2)
			for w := range 2 {
				wg.Go(func() {
					defer writing.Add(-1)
					r := newRand(uint64(w))
					for range rounds {
						atomically(func(tx *stm.Tx) {
							l := lo.Get(tx)
							if r.IntN(4) == 0 {
								v, _ := m.Get(tx, l)
								m.Delete(tx, l)
								m.Set(tx, l+size, v)
								lo.Set(tx, l+1)
								return
							}
							a, b, d := l+r.IntN(size), l+r.IntN(size), r.IntN(100)
							m.Update(tx, a, func(v int, ok bool) (int, bool) { return v - d, ok })
							m.Update(tx, b, func(v int, ok bool) (int, bool) { return v + d, ok })
						})
					}
				})
			}
			failures := make(chan error, 1)
			wg.Go(func() {
				for writing.Load() > 0 {
					err := stm.Atomically(func(tx *stm.Tx) error {
						l := lo.Get(tx)
						count, sum := 0, 0
						for k, v := range m.Range(tx) {
							if k < l || k >= l+size {
								return fmt.Errorf("Range saw key %d outside the window [%d,%d)", k, l, l+size)
							}
							count++
							sum += v
							if count%8 == 0 {
								runtime.Gosched() // let writers commit mid-iteration
							}
						}
						if count != size || sum != 0 || m.Len(tx) != count {
							return fmt.Errorf("Range saw %d keys summing to %d, Len %d; want %d keys summing to 0", count, sum, m.Len(tx), size)
						}
						return nil
					})
					if err != nil {
						failures <- err
						return
					}
				}
			})
			wg.Wait()
			select {
			case err := <-failures:
				t.Fatal(err)
			default:
			}
		})
	}
}

// Len is exact in every transaction while the size changes: writers insert
// and delete random keys and, in the same transactions, keep a plain
// counter Var; readers check, in one snapshot (a transaction's or a
// View's), that Len, the counter and the number of keys Range yields all
// agree.
func TestMapLenExact(t *testing.T) {
	m, set := tvar.NewMap[int, int](), tvar.NewSet[int]()
	count := stm.NewVar(0)
	rounds := scale(3000, 300, 500)
	seed := testSeed(t)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			r := newRand(seed + uint64(w))
			for range rounds {
				k := r.IntN(200)
				atomically(func(tx *stm.Tx) {
					if _, ok := m.Get(tx, k); ok {
						m.Delete(tx, k)
						set.Remove(tx, k)
						count.Set(tx, count.Get(tx)-1)
					} else {
						m.Set(tx, k, k)
						set.Add(tx, k)
						count.Set(tx, count.Get(tx)+1)
					}
				})
			}
		})
	}
	errs := make(chan error, 1)
	wg.Go(func() {
		for i := range rounds / 4 {
			// Every other check in a View, which reads the sizes that the
			// writers' blind Adds left in its snapshot.
			run := stm.Atomically
			if i%2 == 1 {
				run = func(fn func(*stm.Tx) error) error { return stm.View(func(tx *stm.Tx) error { return fn(tx) }) }
			}
			err := run(func(tx *stm.Tx) error {
				n, ranged, setRanged := count.Get(tx), 0, 0
				for range m.Range(tx) {
					ranged++
				}
				for range set.Range(tx) {
					setRanged++
				}
				// Let writers commit here: a Len not read in this
				// snapshot would now disagree with the rest.
				runtime.Gosched()
				if m.Len(tx) != n || ranged != n || set.Len(tx) != n || setRanged != n {
					return fmt.Errorf("counter %d, Map.Len %d, Range %d, Set.Len %d, Set.Range %d",
						n, m.Len(tx), ranged, set.Len(tx), setRanged)
				}
				return nil
			})
			if err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// Deterministic isolation: halfway through its first Range, a reader has
// another goroutine commit a transfer from a key it has already seen to
// one it has not. A Range reading one snapshot must not mix the two
// states: the sum it reports is the invariant one, whether the engine
// re-runs the attempt or (with snapshot reads) goes on reading the
// version from before the commit. A Range that mixed them would sum to
// 325.
func TestMapRangeIsolatedFromMidwayCommit(t *testing.T) {
	for h := range hashers {
		t.Run(fmt.Sprint("hasher=", h), func(t *testing.T) {
			m := newIntMap(h)
			atomically(func(tx *stm.Tx) {
				for k := range 32 {
					m.Set(tx, k, 10)
				}
			})
			attempts := 0
			sum := stm.Eval(func(tx *stm.Tx) int {
				attempts++
				seen := map[int]bool{}
				sum := 0
				for k, v := range m.Range(tx) {
					seen[k] = true
					sum += v
					if attempts == 1 && len(seen) == 16 {
						from := k
						to := -1
						for u := range 32 {
							if !seen[u] {
								to = u
								break
							}
						}
						done := make(chan struct{})
						// The conflicting commit must come from another
						// goroutine, in the middle of this attempt.
						//stmvet:ignore the test commits a conflicting transaction mid-attempt on purpose
						go func() {
							atomically(func(tx *stm.Tx) {
								m.Update(tx, from, func(v int, ok bool) (int, bool) { return v - 5, ok })
								m.Update(tx, to, func(v int, ok bool) (int, bool) { return v + 5, ok })
							})
							close(done)
						}()
						<-done //stmvet:ignore waits for that commit, on the first attempt only
					}
				}
				return sum
			})
			if sum != 320 {
				t.Fatalf("Range summed to %d in %d attempts; want 320", sum, attempts)
			}
		})
	}
}
