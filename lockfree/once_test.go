package lockfree

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestComputeOnceThroughResizes: with no other goroutine, every Compute and
// LoadOrCompute calls its function exactly once (and a LoadOrCompute of a
// present key not at all), in every variant, while the table grows from
// one bucket, is resized under the calls, shrinks after mass deletes and
// grows again. Users put constructors with costs (a connection, a file) in
// these functions. Every phase alternates the two methods, and the middle
// ones interleave writes to present keys with inserts of new keys, so that
// updates and deletes also meet resizes in progress (ClickMap copies a
// table a chunk per write, so a resize stays in progress across many
// operations). ClickMap called f twice for the inserts that started or met
// a resize before it carried f's answer into the new table (issue 21).
func TestComputeOnceThroughResizes(t *testing.T) {
	n := 5000 // ClickMap's double calls began at key 11, then 47, 191, 767, 3071
	if !longMode {
		n = 2000
	}
	sizings := []struct {
		name string
		opts []Option
	}{
		{"default", nil},
		{"presize=1", []Option{WithPresize(1)}},
		{"presized", []Option{WithPresize(2 * n)}},
	}
	for _, v := range variants {
		for _, sz := range sizings {
			t.Run(v.name+"/"+sz.name, func(t *testing.T) {
				t.Parallel()
				checkComputeOnce(t, v.newII(sz.opts...), n)
			})
		}
	}
}

// onceChecker counts calls of the functions given to one map, per key.
type onceChecker struct {
	t     *testing.T
	m     Map[int, int]
	calls map[int]int
	bad   int
}

// expect fails (reporting the first few keys only) unless the function for
// key ran want times during the operation just done.
func (c *onceChecker) expect(what string, key, want int) {
	c.t.Helper()
	if got := c.calls[key]; got != want {
		if c.bad++; c.bad <= 10 {
			c.t.Errorf("%s(%d): function called %d times, want %d", what, key, got, want)
		}
	}
	delete(c.calls, key)
}

// insert adds key with value val, by LoadOrCompute or by Compute.
func (c *onceChecker) insert(key, val int, byCompute bool) {
	c.t.Helper()
	if byCompute {
		got, ok := c.m.Compute(key, func(old int, loaded bool) (int, ComputeOp) {
			c.calls[key]++
			if loaded {
				c.t.Fatalf("Compute(%d): loaded a key never stored (value %d)", key, old)
			}
			return val, UpdateOp
		})
		if got != val || !ok {
			c.t.Fatalf("Compute(%d) inserting %d returned (%d, %v)", key, val, got, ok)
		}
		c.expect("Compute", key, 1)
		return
	}
	got, loaded := c.m.LoadOrCompute(key, func() (int, bool) {
		c.calls[key]++
		return val, false
	})
	if got != val || loaded {
		c.t.Fatalf("LoadOrCompute(%d) inserting %d returned (%d, %v)", key, val, got, loaded)
	}
	c.expect("LoadOrCompute", key, 1)
}

// touch changes present key from val to val+1 (Compute), or loads it
// (LoadOrCompute, whose function must not run).
func (c *onceChecker) touch(key, val int, byCompute bool) {
	c.t.Helper()
	if byCompute {
		got, ok := c.m.Compute(key, func(old int, loaded bool) (int, ComputeOp) {
			c.calls[key]++
			if !loaded || old != val {
				c.t.Fatalf("Compute(%d): got (%d, %v), want (%d, true)", key, old, loaded, val)
			}
			return old + 1, UpdateOp
		})
		if got != val+1 || !ok {
			c.t.Fatalf("Compute(%d) updating %d returned (%d, %v)", key, val, got, ok)
		}
		c.expect("Compute", key, 1)
		return
	}
	got, loaded := c.m.LoadOrCompute(key, func() (int, bool) {
		c.calls[key]++
		return -1, false
	})
	if got != val || !loaded {
		c.t.Fatalf("LoadOrCompute(%d) of present value %d returned (%d, %v)", key, val, got, loaded)
	}
	c.expect("LoadOrCompute of a present key", key, 0)
}

// remove deletes present key by Compute, or asks LoadOrCompute about an
// absent neighbour and cancels (its function must run once).
func (c *onceChecker) remove(key int, byCompute bool) {
	c.t.Helper()
	if byCompute {
		if _, ok := c.m.Compute(key, func(old int, loaded bool) (int, ComputeOp) {
			c.calls[key]++
			if !loaded {
				c.t.Fatalf("Compute(%d): present key not loaded", key)
			}
			return 0, DeleteOp
		}); ok {
			c.t.Fatalf("Compute(%d) deleting returned ok", key)
		}
		c.expect("Compute delete", key, 1)
		return
	}
	c.m.Delete(key)
	absent := -key - 1
	if _, loaded := c.m.LoadOrCompute(absent, func() (int, bool) {
		c.calls[absent]++
		return 0, true
	}); loaded {
		c.t.Fatalf("LoadOrCompute(%d) of an absent key loaded", absent)
	}
	c.expect("LoadOrCompute cancelled", absent, 1)
}

func checkComputeOnce(t *testing.T, m Map[int, int], n int) {
	c := &onceChecker{t: t, m: m, calls: map[int]int{}}
	// Grow from empty: n new keys, alternating the methods.
	for i := range n {
		c.insert(i, i, i%2 == 1)
	}
	// Update the present keys while n more arrive.
	for i := range n {
		c.touch(i, i, i%2 == 0)
		c.insert(n+i, i, i%2 == 0)
	}
	// Delete the first 2n/3rd (Compute: the odd keys are deleted directly),
	// so that the tables shrink, while a few new keys keep resizes going.
	for i := range 2 * n {
		if i%3 != 2 {
			c.remove(i, i%2 == 1)
			continue
		}
		c.insert(2*n+i, i, i%2 == 0)
	}
	// Grow again into the shrunk (or tombstone-filled) tables.
	for i := range n {
		c.insert(4*n+i, i, i%2 == 1)
	}
	if c.t.Failed() {
		return
	}
	// Every value is what the single calls installed.
	want := map[int]int{}
	for i := range 2 * n {
		if i%3 != 2 {
			continue
		}
		switch {
		case i >= n:
			want[i] = i - n
		case i%2 == 0:
			want[i] = i + 1 // touched by Compute
		default:
			want[i] = i // touched by LoadOrCompute
		}
		want[2*n+i] = i
	}
	for i := range n {
		want[4*n+i] = i
	}
	checkContents(t, m, want)
}

// checkContents fails unless m holds exactly want.
func checkContents(t *testing.T, m Map[int, int], want map[int]int) {
	t.Helper()
	got := map[int]int{}
	m.Range(func(k, v int) bool { got[k] = v; return true })
	if len(got) != len(want) || m.Len() != len(want) {
		t.Fatalf("map holds %d entries (Len %d), want %d", len(got), m.Len(), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("key %d: got (%d, %v), want %d", k, g, ok, v)
		}
	}
}

// TestLoadOrComputeAtMostOnce: LoadOrCompute calls its function at most
// once per call even when other goroutines insert and delete the same keys
// and resize the table meanwhile (every variant keeps the function's
// answer for the absent key while its insert retries), and exactly once
// when it does not find the key.
func TestLoadOrComputeAtMostOnce(t *testing.T) {
	const keys = 8
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			seed := testSeed(t)
			m := v.newII(WithPresize(1))
			var churner, callers sync.WaitGroup
			var stop atomic.Bool
			// A churner deletes and stores the keys and a band of others,
			// so that inserts race and the table resizes.
			churner.Add(1)
			go func() {
				defer churner.Done()
				r := rand.New(rand.NewPCG(uint64(seed), 0))
				for !stop.Load() {
					k := r.IntN(keys * 64)
					if r.IntN(2) == 0 {
						m.Delete(k % keys)
						m.Delete(k)
					} else {
						m.Store(k, -1)
					}
				}
			}()
			var bad atomic.Int64
			for w := range 2 {
				callers.Add(1)
				go func() {
					defer callers.Done()
					r := rand.New(rand.NewPCG(uint64(seed), uint64(w+1)))
					for range scale(20000) {
						k, calls := r.IntN(keys), 0
						_, loaded := m.LoadOrCompute(k, func() (int, bool) {
							calls++
							return w, r.IntN(4) == 0
						})
						if calls > 1 || (!loaded && calls != 1) {
							if bad.Add(1) <= 5 {
								t.Errorf("LoadOrCompute(%d): function called %d times (loaded %v)", k, calls, loaded)
							}
						}
					}
				}()
			}
			callers.Wait()
			stop.Store(true)
			churner.Wait()
		})
	}
}
