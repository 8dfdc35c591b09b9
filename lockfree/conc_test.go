package lockfree

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkRange runs Range and All while writers churn a disjoint set of keys
// (forcing resizes in a tiny table). Every iteration must yield no key
// twice, every stable key with its value, and no key outside the history.
func checkRange(t tester, v variant, opts []Option, seed int64, rounds int) {
	t.Helper()
	const stable, churn = 200, 600
	m := v.newII(opts...)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
			for !stop.Load() {
				k := stable + rng.IntN(churn)
				switch rng.IntN(4) {
				case 0, 1:
					m.Store(k, -k)
				case 2:
					m.Delete(k)
				case 3:
					// Bulk delete: lets tables shrink.
					for i := stable; i < stable+churn; i += 1 + w {
						m.Delete(i)
					}
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	// Stable keys go in while the writers churn (and resize) the table, so
	// some land in a table being copied.
	for k := range stable {
		m.Store(k, k*10)
	}
	for r := range rounds {
		seen := make(map[int]bool, stable+churn)
		bad := ""
		check := func(k, val int) bool {
			switch {
			case seen[k]:
				bad = fmt.Sprintf("key %d yielded twice", k)
			case k < 0 || k >= stable+churn:
				bad = fmt.Sprintf("key %d never stored", k)
			case k < stable && val != k*10:
				bad = fmt.Sprintf("stable key %d has value %d", k, val)
			case k >= stable && val != -k:
				bad = fmt.Sprintf("churned key %d has value %d", k, val)
			}
			seen[k] = true
			return bad == ""
		}
		if r%2 == 0 {
			m.Range(check)
		} else {
			for k, val := range m.All() {
				if !check(k, val) {
					break
				}
			}
		}
		if bad != "" {
			t.Fatalf("round %d: %s", r, bad)
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: stable key %d not yielded", r, k)
			}
		}
	}
}

// checkRangeMutating deletes and reinserts every key from inside the Range
// callback (which every variant allows), the move most likely to make an
// iterator meet a key again; with few distinct hashes it lands in the same
// collision run, behind the iterator.
func checkRangeMutating(t tester, v variant, opts []Option) {
	t.Helper()
	const n = 100
	m := v.newII(opts...)
	for k := range n {
		m.Store(k, k)
	}
	seen := map[int]bool{}
	yields := 0
	m.Range(func(k, val int) bool {
		if yields++; yields > 10*n {
			return false
		}
		if seen[k] {
			t.Errorf("key %d yielded twice", k)
			return false
		}
		seen[k] = true
		m.Delete(k)
		m.Store(k, val+1)
		return true
	})
	if yields > 10*n {
		t.Errorf("Range did not end after %d yields", yields)
	}
	if v.linearRange && len(seen) != n {
		t.Errorf("snapshot Range yielded %d keys, want %d", len(seen), n)
	}
}

func TestRangeConcurrent(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			seed := testSeed(t)
			checkRange(t, v, []Option{WithPresize(1)}, seed, scale(200))
			// Few distinct hashes: long collision runs, where a key deleted
			// and reinserted can move behind an iterator.
			checkRange(t, v, []Option{WithPresize(1), WithHasher(func(k int) uint64 { return uint64(k % 8) })}, seed, scale(100))
			for _, hm := range hashModes {
				checkRangeMutating(t, v, append([]Option{WithPresize(1)}, hm.opts...))
			}
		})
	}
}

// checkOwnership checks the invariants that catch lost or duplicated
// entries, with tables growing and shrinking under the workers: exactly one
// LoadOrStore winner per key and every loser sees the winner's value; each
// stored value is returned by exactly one LoadAndDelete; summed Compute
// increments equal the final values; Len is exact at quiescence.
func checkOwnership(t tester, v variant, opts []Option, keys int) {
	t.Helper()
	m := v.newII(opts...)
	const workers = 4
	winners := make([]atomic.Int32, keys)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				k := (i*7 + w*13) % keys // different orders per worker
				mine := w*keys + k
				actual, loaded := m.LoadOrStore(k, mine)
				if !loaded {
					winners[k].Add(1)
					if actual != mine {
						t.Errorf("LoadOrStore(%d) stored %d but returned %d", k, mine, actual)
					}
				} else if actual%keys != k {
					t.Errorf("LoadOrStore(%d) loaded %d, a value stored for another key", k, actual)
				}
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		if n := winners[k].Load(); n != 1 {
			t.Fatalf("key %d has %d LoadOrStore winners", k, n)
		}
	}
	if n := m.Len(); n != keys {
		t.Fatalf("Len after inserts = %d, want %d", n, keys)
	}
	deleted := make([]atomic.Int32, keys)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				k := (i*11 + w*5) % keys
				if v, ok := m.LoadAndDelete(k); ok {
					if v%keys != k {
						t.Errorf("LoadAndDelete(%d) returned %d", k, v)
					}
					deleted[k].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		if n := deleted[k].Load(); n != 1 {
			t.Fatalf("key %d returned by %d LoadAndDeletes", k, n)
		}
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("Len after deletes = %d, want 0", n)
	}
	if !v.supports(opCompute) {
		return
	}
	const hot = 8
	incs := max(keys/4, 50)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range incs {
				m.Compute((i+w)%hot, func(old int, _ bool) (int, ComputeOp) { return old + 1, UpdateOp })
				if i%hot == 0 { // churn other keys so the table resizes meanwhile
					const base = 1 << 20
					m.Store(base+w*incs+i, 1)
					m.Delete(base + w*incs + i - hot*3)
				}
			}
		}()
	}
	wg.Wait()
	sum := 0
	for k := range hot {
		val, _ := m.Load(k)
		sum += val
	}
	if sum != workers*incs {
		t.Fatalf("Compute increments sum to %d, want %d", sum, workers*incs)
	}
	got, err := contents(m)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if n := m.Len(); n != len(got) {
		t.Fatalf("Len = %d but Range yields %d entries", n, len(got))
	}
}

func TestOwnership(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			checkOwnership(t, v, []Option{WithPresize(1)}, scale(4000))
			checkOwnership(t, v, []Option{WithPresize(1), WithHasher(func(k int) uint64 { return uint64(k % 3) })}, scale(400))
		})
	}
}

// checkComputePanic panics inside Compute and LoadOrCompute and then uses
// the same key, and keys sharing its bucket (constant hash), from another
// goroutine: a lock left held would wedge them.
func checkComputePanic(t tester, v variant) {
	t.Helper()
	m := v.newII(WithPresize(1), WithHasher(func(int) uint64 { return 7 }))
	for k := range 10 {
		m.Store(k, k)
	}
	mustPanic := func(what string, f func()) {
		defer func() {
			if recover() == nil {
				t.Errorf("%s: callback panic did not propagate", what)
			}
		}()
		f()
	}
	// Everything after the first panic runs under a timeout: a lock left
	// held would wedge it, and must fail the test rather than hang it.
	within(t, 5*time.Second, "map use after a panicking callback", func() {
		if v.supports(opCompute) {
			mustPanic("Compute", func() {
				m.Compute(3, func(int, bool) (int, ComputeOp) { panic("boom") })
			})
			mustPanic("Compute(absent)", func() {
				m.Compute(99, func(int, bool) (int, ComputeOp) { panic("boom") })
			})
		}
		if v.supports(opLoadOrCompute) {
			mustPanic("LoadOrCompute", func() {
				m.LoadOrCompute(42, func() (int, bool) { panic("boom") })
			})
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Store(3, 33)
			m.Store(42, 42)
			m.Delete(5)
			if v.supports(opCompute) {
				m.Compute(99, func(int, bool) (int, ComputeOp) { return 99, UpdateOp })
			}
		}()
		wg.Wait()
		want := map[int]int{0: 0, 1: 1, 2: 2, 3: 33, 4: 4, 6: 6, 7: 7, 8: 8, 9: 9, 42: 42}
		if v.supports(opCompute) {
			want[99] = 99
		}
		got, err := contents(m)
		if err != nil || fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
			t.Errorf("after panics: contents %v (%v), want %v", sorted(got), err, sorted(want))
		}
	})
}

func TestComputePanic(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) { checkComputePanic(t, v) })
	}
}

// checkSnapshotPrefix is for variants whose Range is a snapshot. Each
// writer cycles through its own keys: it inserts 0..n-1 in order, then
// deletes them in order, and again, so at any instant its keys form a
// window [lo, hi) determined by its progress counter. Each Range must see,
// for every writer, exactly the window of some progress value between the
// counters read before and after the Range; each Len must fall within the
// bounds those windows allow.
func checkSnapshotPrefix(t tester, v variant, n, rounds int) {
	t.Helper()
	const writers = 2
	m := v.newII(WithPresize(1))
	var progress [writers]atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for i := range n {
					m.Store(w*n+i, i)
					progress[w].Add(1)
				}
				for i := range n {
					m.Delete(w*n + i)
					progress[w].Add(1)
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	window := func(p int64) (lo, hi int64) {
		q := p % int64(2*n)
		return max(0, q-int64(n)), min(q, int64(n))
	}
	for r := 0; r < rounds; r++ {
		var before, after [writers]int64
		for w := range before {
			before[w] = progress[w].Load()
		}
		got := map[int]int{}
		length := -1
		if r%2 == 0 {
			i := 0
			m.Range(func(k, val int) bool {
				if i++; i%64 == 0 {
					runtime.Gosched() // let the writers move on mid-iteration
				}
				got[k] = val
				return true
			})
		} else {
			length = m.Len()
		}
		for w := range after {
			// An op takes effect before its writer counts it, so the state
			// may be one op past the counter.
			after[w] = progress[w].Load()
		}
		if length >= 0 {
			lo, hi := 0, 0
			for w := range writers {
				wlo, whi := n, 0
				for p := before[w]; p <= after[w]+1 && p < before[w]+int64(2*n); p++ {
					a, b := window(p)
					wlo, whi = min(wlo, int(b-a)), max(whi, int(b-a))
				}
				lo, hi = lo+wlo, hi+whi
			}
			if length < lo || length > hi {
				t.Fatalf("round %d: Len %d outside [%d, %d]", r, length, lo, hi)
			}
			continue
		}
		for w := range writers {
			var keys []int
			for k, val := range got {
				if k/n == w {
					if val != k%n {
						t.Fatalf("key %d has value %d", k, val)
					}
					keys = append(keys, k%n)
				}
			}
			ok := false
			for p := before[w]; p <= after[w]+1 && p < before[w]+int64(2*n) && !ok; p++ {
				lo, hi := window(p)
				if int64(len(keys)) != hi-lo {
					continue
				}
				ok = true
				for _, k := range keys {
					if int64(k) < lo || int64(k) >= hi {
						ok = false
						break
					}
				}
			}
			if !ok {
				t.Fatalf("round %d: writer %d's %d keys in the snapshot match no state between progress %d and %d",
					r, w, len(keys), before[w], after[w])
			}
		}
	}
}

func TestSnapshotUnderWriters(t *testing.T) {
	for _, v := range variants {
		if !v.linearRange {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			checkSnapshotPrefix(t, v, 1000, scale(2000))
		})
	}
}

// TestComputeOnceUncontended: with no other writer, Compute and
// LoadOrCompute call f exactly once in every variant (the lock-free ones
// may call it again only when a CAS loses a race).
func TestComputeOnceUncontended(t *testing.T) {
	for _, v := range variants {
		m := v.newII()
		calls := 0
		m.LoadOrCompute(5, func() (int, bool) { calls++; return 1, false })
		m.Compute(6, func(int, bool) (int, ComputeOp) { calls++; return 1, UpdateOp })
		m.Compute(6, func(o int, _ bool) (int, ComputeOp) { calls++; return o + 1, UpdateOp })
		m.Compute(6, func(o int, _ bool) (int, ComputeOp) { calls++; return 0, DeleteOp })
		if calls != 4 {
			t.Errorf("%s: f called %d times for 4 calls", v.name, calls)
		}
	}
}
