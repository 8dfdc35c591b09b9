package tvar_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Range while the loop body changes the map in the same transaction.

// TestMapRangeDeleteAhead deletes every even key on the first yield: no
// even key may be yielded after that, every odd key exactly once, each with
// its value.
func TestMapRangeDeleteAhead(t *testing.T) {
	for _, n := range []int{10, 10_000} {
		for h := range hashers {
			t.Run(fmt.Sprintf("n=%d/hasher=%d", n, h), func(t *testing.T) {
				m := newIntMap(h)
				atomically(func(tx *stm.Tx) {
					for k := range n {
						m.Set(tx, k, k)
					}
				})
				atomically(func(tx *stm.Tx) {
					seen := map[int]int{}
					dead := 0
					for k, v := range m.Range(tx) {
						if len(seen) > 0 && k%2 == 0 {
							dead++
						}
						seen[k]++
						if v != k {
							t.Errorf("key %d yielded with %d", k, v)
						}
						if len(seen) == 1 {
							for d := 0; d < n; d += 2 {
								m.Delete(tx, d)
							}
						}
					}
					if dead > 0 {
						t.Errorf("%d keys yielded after they were deleted", dead)
					}
					for k := 1; k < n; k += 2 {
						if seen[k] != 1 {
							t.Errorf("odd key %d yielded %d times, want once", k, seen[k])
						}
					}
					if got := m.Len(tx); got != n/2 {
						t.Errorf("Len = %d after deleting the even keys, want %d", got, n/2)
					}
				})
			})
		}
	}
}

// TestMapRangeDeleteAndSetAgain deletes every key other than the first one
// yielded and sets it again with a new value: each is still yielded once,
// with the new value.
func TestMapRangeDeleteAndSetAgain(t *testing.T) {
	for _, n := range []int{10, 1000} {
		for h := range hashers {
			t.Run(fmt.Sprintf("n=%d/hasher=%d", n, h), func(t *testing.T) {
				m := newIntMap(h)
				atomically(func(tx *stm.Tx) {
					for k := range n {
						m.Set(tx, k, k)
					}
				})
				atomically(func(tx *stm.Tx) {
					first := -1
					seen := map[int]int{}
					for k, v := range m.Range(tx) {
						seen[k]++
						want := k + 1000
						if first < 0 {
							first, want = k, k
							for d := range n {
								if d != k {
									m.Delete(tx, d)
									m.Set(tx, d, d+1000)
								}
							}
						}
						if v != want {
							t.Errorf("key %d yielded with %d, want %d", k, v, want)
						}
					}
					for k := range n {
						if seen[k] != 1 {
							t.Errorf("key %d yielded %d times, want once", k, seen[k])
						}
					}
				})
			})
		}
	}
}

// TestSetRangeRemoveAhead is TestMapRangeDeleteAhead for a Set.
func TestSetRangeRemoveAhead(t *testing.T) {
	for _, n := range []int{10, 10_000} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			s := tvar.NewSet[int]()
			atomically(func(tx *stm.Tx) {
				for k := range n {
					s.Add(tx, k)
				}
			})
			atomically(func(tx *stm.Tx) {
				seen := map[int]int{}
				for k := range s.Range(tx) {
					if len(seen) > 0 && k%2 == 0 {
						t.Errorf("removed element %d yielded", k)
					}
					seen[k]++
					if len(seen) == 1 {
						for d := 0; d < n; d += 2 {
							s.Remove(tx, d)
						}
					}
				}
				for k := 1; k < n; k += 2 {
					if seen[k] != 1 {
						t.Errorf("element %d yielded %d times, want once", k, seen[k])
					}
				}
			})
		})
	}
}

// mix is a hash with known values, so a test can predict Range's order;
// it spreads keys like maphash does.
func mix(k int) uint64 {
	x := uint64(k) + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// hashLess is Range's order, written out independently of the trie: by
// the first 5-bit group of the hash, from the low end, that differs.
func hashLess(a, b uint64) bool {
	for shift := 0; shift < 64; shift += 5 {
		if ga, gb := a>>shift&31, b>>shift&31; ga != gb {
			return ga < gb
		}
	}
	return false
}

// TestMapRangeModel runs random loops whose bodies set, delete, update and
// re-add keys, or change the map in an OrElse branch that is rolled back,
// against a Go map and the exact rule of Range's documentation: with the
// hashes known, the next key yielded must be the first present key, in
// hash order, not yet yielded and not behind the loop; its value the one
// the model holds at that moment; and a loop run to the end leaves no
// present key ahead of it. The map's contents, Len and trie invariants
// are checked after each loop.
func TestMapRangeModel(t *testing.T) {
	hashes := []func(int) uint64{mix, hashers[1], hashers[2], hashers[3]}
	r := newRand(testSeed(t))
	for c := range scale(3000, 300, 600) {
		hi := r.IntN(len(hashes))
		hash := hashes[hi]
		m := tvar.NewMap[int, int]()
		tvar.SetHasher(m, hash)
		keys := 1 + r.IntN(64)
		model := map[int]int{}
		for range r.IntN(keys + 1) {
			k := r.IntN(keys)
			model[k] = r.IntN(100)
		}
		atomically(func(tx *stm.Tx) {
			for k, v := range model {
				m.Set(tx, k, v)
			}
		})
		fail := func(format string, a ...any) {
			t.Helper()
			t.Fatalf("case %d (hash %d, %d keys): %s", c, hi, keys, fmt.Sprintf(format, a...))
		}
		// The loop's actions are drawn before the transaction, so that a
		// re-run of an attempt does the same thing.
		type action struct{ kind, k, v int }
		acts := make([]action, 3*keys)
		for i := range acts {
			acts[i] = action{r.IntN(8), r.IntN(keys), r.IntN(100)}
		}
		atomically(func(tx *stm.Tx) {
			cur := maps.Clone(model)
			yielded := map[int]bool{}
			var pos uint64 // hash of the last key yielded
			started := false
			// ahead reports whether present key k, not yet yielded, is
			// still ahead of the loop.
			ahead := func(k int) bool {
				return !started || !hashLess(hash(k), pos)
			}
			step, broke := 0, false
			for k, v := range m.Range(tx) {
				if yielded[k] {
					fail("key %d yielded twice", k)
				}
				if w, ok := cur[k]; !ok || w != v {
					fail("yielded %d=%d; in the transaction it is %d (present %v)", k, v, w, ok)
				}
				if !ahead(k) {
					fail("yielded %d, which is behind the loop", k)
				}
				for o := range cur {
					if !yielded[o] && o != k && ahead(o) && hashLess(hash(o), hash(k)) {
						fail("yielded %d before %d, which comes first", k, o)
					}
				}
				yielded[k], pos, started = true, hash(k), true
				a := acts[step%len(acts)]
				step++
				switch a.kind {
				case 0, 1:
					m.Set(tx, a.k, a.v)
					cur[a.k] = a.v
				case 2, 3:
					m.Delete(tx, a.k)
					delete(cur, a.k)
				case 4:
					// Delete and add again: the key keeps its place.
					m.Delete(tx, a.k)
					m.Set(tx, a.k, a.v)
					cur[a.k] = a.v
				case 5:
					keep := a.v%2 == 0
					m.Update(tx, a.k, func(old int, _ bool) (int, bool) { return old + a.v, keep })
					if keep {
						cur[a.k] += a.v
					} else {
						delete(cur, a.k)
					}
				case 6:
					// Changes rolled back by OrElse leave the loop as it was.
					stm.OrElse(tx, func(tx *stm.Tx) bool {
						m.Delete(tx, a.k)
						m.Set(tx, a.k+keys, a.v)
						tx.Retry()
						return true
					}, func(*stm.Tx) bool { return false })
				}
				if a.kind == 7 && a.v < 10 {
					broke = true
					break
				}
			}
			if !broke {
				for o := range cur {
					if !yielded[o] && ahead(o) {
						fail("loop ended without yielding %d, present and ahead of it", o)
					}
				}
			}
			got := map[int]int{}
			for k, v := range m.Range(tx) {
				got[k] = v
			}
			if !maps.Equal(got, cur) || m.Len(tx) != len(cur) {
				fail("after the loop the map is %v (Len %d), the model %v", got, m.Len(tx), cur)
			}
			if _, err := tvar.CheckMap(tx, m); err != nil {
				fail("%v", err)
			}
		})
	}
}

// TestMapRangeHashOrder pins the order the model test relies on: with
// known hashes, a loop that changes nothing yields keys sorted by
// hashLess.
func TestMapRangeHashOrder(t *testing.T) {
	m := tvar.NewMap[int, int]()
	tvar.SetHasher(m, mix)
	atomically(func(tx *stm.Tx) {
		for k := range 2000 {
			m.Set(tx, k, k)
		}
		var got []int
		for k := range m.Range(tx) {
			got = append(got, k)
		}
		want := make([]int, 2000)
		for k := range want {
			want[k] = k
		}
		slices.SortFunc(want, func(a, b int) int {
			switch {
			case hashLess(mix(a), mix(b)):
				return -1
			case hashLess(mix(b), mix(a)):
				return 1
			}
			return 0
		})
		if !slices.Equal(got, want) {
			t.Fatalf("Range order differs from hash order")
		}
	})
}
