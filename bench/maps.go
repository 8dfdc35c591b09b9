package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	cmap "github.com/orcaman/concurrent-map/v2"
	"github.com/puzpuzpuz/xsync/v4"

	"gostm.dev/lockfree"
	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Map engines, besides Mutex and RWMutex (a Go map behind one lock).
const (
	LockfreeBucket  = "bucket"  // lockfree.BucketMap: cache-line buckets, wait-free reads
	LockfreeClick   = "click"   // lockfree.ClickMap: non-blocking open addressing
	LockfreeCtrie   = "ctrie"   // lockfree.Ctrie: hash trie with O(1) snapshots
	LockfreeSOList  = "solist"  // lockfree.SOList: split-ordered list
	LockfreeStriped = "striped" // lockfree.StripedMap: striped mutexes over Go maps
	SyncMap         = "syncmap" // sync.Map
	Xsync           = "xsync"   // github.com/puzpuzpuz/xsync/v4 Map
	CMap            = "cmap"    // github.com/orcaman/concurrent-map/v2
)

// mapWorkload is the concurrent hash map benchmark: random keys from a key
// space, r% loads and the rest stores and deletes in equal parts, starting
// half full. Every value stored is a function of its key, so a load that
// returns another value, or a final map whose Range and Len disagree,
// breaks the invariant.
func mapWorkload() Workload {
	lf := func(name, doc string, mk func() lockfree.Map[int, int]) Engine {
		return Engine{Name: name, Doc: doc, New: func(s Setup) (Instance, error) {
			return newMapInstance(s, lockfreeAdapter{mk()})
		}}
	}
	return Workload{
		Name: "map",
		Doc:  "concurrent hash map: random keys, r% loads, the rest stores and deletes (invariant: every value belongs to its key; Len = entries ranged)",
		Params: []Param{
			{Name: "keys", Usage: "key space: keys are drawn from [0, keys)", Default: 100_000, Min: 1, Tour: 1024},
			{Name: "loads", Usage: "percentage of operations that are loads", Default: 90, Min: 0, Max: 100},
		},
		Engines: []Engine{
			lf(LockfreeBucket, "lockfree.BucketMap", func() lockfree.Map[int, int] { return lockfree.NewBucketMap[int, int]() }),
			lf(LockfreeClick, "lockfree.ClickMap", func() lockfree.Map[int, int] { return lockfree.NewClickMap[int, int]() }),
			lf(LockfreeCtrie, "lockfree.Ctrie", func() lockfree.Map[int, int] { return lockfree.NewCtrie[int, int]() }),
			lf(LockfreeSOList, "lockfree.SOList", func() lockfree.Map[int, int] { return lockfree.NewSOList[int, int]() }),
			lf(LockfreeStriped, "lockfree.StripedMap", func() lockfree.Map[int, int] { return lockfree.NewStripedMap[int, int]() }),
			{Name: SyncMap, Doc: "sync.Map", New: func(s Setup) (Instance, error) { return newMapInstance(s, &syncMapAdapter{}) }},
			{Name: Xsync, Doc: "xsync/v4 Map", New: func(s Setup) (Instance, error) {
				return newMapInstance(s, xsyncAdapter{xsync.NewMap[int, int]()})
			}},
			{Name: CMap, Doc: "concurrent-map/v2, 32 locked shards", New: func(s Setup) (Instance, error) {
				// concurrent-map needs a shard function for non-string keys.
				m := cmap.NewWithCustomShardingFunction[int, int](func(k int) uint32 { return uint32(mix64(uint64(k))) })
				return newMapInstance(s, cmapAdapter{m})
			}},
			{Name: Gostm, Doc: "tvar.Map, one transaction per operation", New: func(s Setup) (Instance, error) {
				return newMapInstance(s, tvarAdapter{tvar.NewMap[int, int]()})
			}, Counters: GostmCounters},
			{Name: Mutex, Doc: "a Go map behind one sync.Mutex", New: func(s Setup) (Instance, error) {
				return newMapInstance(s, &lockedMapAdapter{m: map[int]int{}})
			}},
			{Name: RWMutex, Doc: "a Go map behind one sync.RWMutex, loads shared", New: func(s Setup) (Instance, error) {
				return newMapInstance(s, &lockedMapAdapter{m: map[int]int{}, shared: true})
			}},
		},
	}
}

// kvMap is what the map workload needs of an engine.
type kvMap interface {
	load(k int) (int, bool)
	store(k, v int)
	delete(k int)
	// entries calls f for each entry of the quiescent map and returns the
	// map's own count of its entries.
	entries(f func(k, v int)) (length int)
}

// valueOf is the only value key k is ever stored with.
func valueOf(k int) int { return k*7 + 1 }

func newMapInstance(s Setup, m kvMap) (Instance, error) {
	keys, loads := s.Params["keys"], s.Params["loads"]
	rng := rand.New(rand.NewPCG(s.Seed, 0x6d6170))
	for k := range keys {
		if s.Cancelled(k) {
			return nil, s.Err()
		}
		if rng.IntN(2) == 0 {
			m.store(k, valueOf(k))
		}
	}
	var wrong atomic.Int64 // loads that returned a value not belonging to their key
	var firstWrong atomic.Pointer[string]
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			return func() bool {
				k := rng.IntN(keys)
				switch r := rng.IntN(200); {
				case r < 2*loads:
					if v, ok := m.load(k); ok && v != valueOf(k) {
						if wrong.Add(1) == 1 {
							msg := fmt.Sprintf("load(%d) returned %d, want %d", k, v, valueOf(k))
							firstWrong.Store(&msg)
						}
					}
				case r%2 == 0:
					m.store(k, valueOf(k))
				default:
					m.delete(k)
				}
				return true
			}
		},
		CheckFunc: func() error {
			if n := wrong.Load(); n > 0 {
				return fmt.Errorf("%d loads returned a value of another key; first: %s", n, *firstWrong.Load())
			}
			seen := 0
			var bad error
			length := m.entries(func(k, v int) {
				seen++
				if bad == nil && (k < 0 || k >= keys || v != valueOf(k)) {
					bad = fmt.Errorf("entry %d → %d: not a key of the workload or not its value", k, v)
				}
			})
			if bad != nil {
				return bad
			}
			if seen != length {
				return fmt.Errorf("the map ranges over %d entries but reports Len %d", seen, length)
			}
			return nil
		},
	}, nil
}

type lockfreeAdapter struct{ m lockfree.Map[int, int] }

func (a lockfreeAdapter) load(k int) (int, bool) { return a.m.Load(k) }
func (a lockfreeAdapter) store(k, v int)         { a.m.Store(k, v) }
func (a lockfreeAdapter) delete(k int)           { a.m.Delete(k) }
func (a lockfreeAdapter) entries(f func(k, v int)) int {
	a.m.Range(func(k, v int) bool { f(k, v); return true })
	return a.m.Len()
}

type syncMapAdapter struct{ m sync.Map }

func (a *syncMapAdapter) load(k int) (int, bool) {
	v, ok := a.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int), true
}
func (a *syncMapAdapter) store(k, v int) { a.m.Store(k, v) }
func (a *syncMapAdapter) delete(k int)   { a.m.Delete(k) }
func (a *syncMapAdapter) entries(f func(k, v int)) int {
	n := 0
	a.m.Range(func(k, v any) bool { f(k.(int), v.(int)); n++; return true })
	return n // sync.Map has no Len: its own count is what Range visits
}

type xsyncAdapter struct{ m *xsync.Map[int, int] }

func (a xsyncAdapter) load(k int) (int, bool) { return a.m.Load(k) }
func (a xsyncAdapter) store(k, v int)         { a.m.Store(k, v) }
func (a xsyncAdapter) delete(k int)           { a.m.Delete(k) }
func (a xsyncAdapter) entries(f func(k, v int)) int {
	a.m.Range(func(k, v int) bool { f(k, v); return true })
	return a.m.Size()
}

type cmapAdapter struct{ m cmap.ConcurrentMap[int, int] }

func (a cmapAdapter) load(k int) (int, bool) { return a.m.Get(k) }
func (a cmapAdapter) store(k, v int)         { a.m.Set(k, v) }
func (a cmapAdapter) delete(k int)           { a.m.Remove(k) }
func (a cmapAdapter) entries(f func(k, v int)) int {
	a.m.IterCb(func(k, v int) { f(k, v) })
	return a.m.Count()
}

type tvarAdapter struct{ m *tvar.Map[int, int] }

func (a tvarAdapter) load(k int) (int, bool) {
	var v int
	var ok bool
	stm.Atomically(func(tx *stm.Tx) error { v, ok = a.m.Get(tx, k); return nil })
	return v, ok
}
func (a tvarAdapter) store(k, v int) {
	stm.Atomically(func(tx *stm.Tx) error { a.m.Set(tx, k, v); return nil })
}
func (a tvarAdapter) delete(k int) {
	stm.Atomically(func(tx *stm.Tx) error { a.m.Delete(tx, k); return nil })
}
func (a tvarAdapter) entries(f func(k, v int)) int {
	return stm.Eval(func(tx *stm.Tx) int {
		for k, v := range a.m.Range(tx) {
			f(k, v)
		}
		return a.m.Len(tx)
	})
}

type lockedMapAdapter struct {
	mu     sync.RWMutex
	m      map[int]int
	shared bool // loads take the read lock
}

func (a *lockedMapAdapter) load(k int) (int, bool) {
	if a.shared {
		a.mu.RLock()
		defer a.mu.RUnlock()
	} else {
		a.mu.Lock()
		defer a.mu.Unlock()
	}
	v, ok := a.m[k]
	return v, ok
}
func (a *lockedMapAdapter) store(k, v int) { a.mu.Lock(); a.m[k] = v; a.mu.Unlock() }
func (a *lockedMapAdapter) delete(k int)   { a.mu.Lock(); delete(a.m, k); a.mu.Unlock() }
func (a *lockedMapAdapter) entries(f func(k, v int)) int {
	for k, v := range a.m {
		f(k, v)
	}
	return len(a.m)
}
