package lockfree

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	cmap "github.com/orcaman/concurrent-map/v2"
	"github.com/puzpuzpuz/xsync/v4"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Benchmarks: the matrix (key space × read share × key type × warm
// or growing from empty) for every variant of this package and the peers
// sync.Map, xsync/v4 Map, orcaman/concurrent-map/v2 and gostm's
// transactional tvar.Map (one transaction per operation: the price of a map
// whose operations compose with other transactional state).
//
// The default matrix uses key spaces of 1K and 100K; -lockfree.fullmatrix
// adds 1M. Filter with -bench, e.g.
//
//	go test -run '^$' -bench 'Maps/type=int/mode=warm/keys=1K/reads=90' ./lockfree
//
// Every level is named key=value, so benchstat can lay the results out
// as a table of cells × maps:
//
//	benchstat -col /map -row /type,/mode,/keys,/reads results.txt
var fullMatrix = flag.Bool("lockfree.fullmatrix", false, "benchmark the 1M key space too")

// benchOrder, when not 0, seeds a shuffle of the maps' order in every cell
// of BenchmarkMaps. On a small machine a map's numbers depend on what ran
// just before it (the heap and caches the previous map left), so a fixed
// order would always hand that effect to the same maps; runs with
// different seeds spread it over all of them.
var benchOrder = flag.Uint64("lockfree.order", 0, "seed for a per-cell shuffle of the map order in BenchmarkMaps (0: declared order)")

// benchMap is what the throughput benchmarks need from a map.
type benchMap[K comparable] interface {
	Load(K) (int, bool)
	Store(K, int)
	Delete(K)
}

type syncMapAdapter[K comparable] struct{ m sync.Map }

func (a *syncMapAdapter[K]) Load(k K) (int, bool) {
	v, ok := a.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int), true
}
func (a *syncMapAdapter[K]) Store(k K, v int) { a.m.Store(k, v) }
func (a *syncMapAdapter[K]) Delete(k K)       { a.m.Delete(k) }

type cmapAdapter[K comparable] struct{ m cmap.ConcurrentMap[K, int] }

func (a cmapAdapter[K]) Load(k K) (int, bool) { return a.m.Get(k) }
func (a cmapAdapter[K]) Store(k K, v int)     { a.m.Set(k, v) }
func (a cmapAdapter[K]) Delete(k K)           { a.m.Remove(k) }

type tvarAdapter[K comparable] struct{ m *tvar.Map[K, int] }

func (a tvarAdapter[K]) Load(k K) (v int, ok bool) {
	stm.Atomically(func(tx *stm.Tx) error { v, ok = a.m.Get(tx, k); return nil })
	return v, ok
}
func (a tvarAdapter[K]) Store(k K, v int) {
	stm.Atomically(func(tx *stm.Tx) error { a.m.Set(tx, k, v); return nil })
}
func (a tvarAdapter[K]) Delete(k K) {
	stm.Atomically(func(tx *stm.Tx) error { a.m.Delete(tx, k); return nil })
}

type benchTarget struct {
	name string
	newI func() benchMap[int]
	newS func() benchMap[string]
}

func benchTargets() []benchTarget {
	var ts []benchTarget
	for _, v := range variants {
		if v.testOnly {
			continue
		}
		ts = append(ts, benchTarget{
			name: v.name,
			newI: func() benchMap[int] { return v.newII() },
			newS: func() benchMap[string] { return v.newSI() },
		})
	}
	return append(ts,
		benchTarget{"sync.Map",
			func() benchMap[int] { return &syncMapAdapter[int]{} },
			func() benchMap[string] { return &syncMapAdapter[string]{} }},
		benchTarget{"xsync",
			func() benchMap[int] { return xsync.NewMap[int, int]() },
			func() benchMap[string] { return xsync.NewMap[string, int]() }},
		benchTarget{"cmap",
			func() benchMap[int] {
				return cmapAdapter[int]{cmap.NewWithCustomShardingFunction[int, int](func(k int) uint32 {
					return uint32((uint64(k) * 0x9e3779b97f4a7c15) >> 32)
				})}
			},
			func() benchMap[string] { return cmapAdapter[string]{cmap.New[int]()} }},
		benchTarget{"tvar.Map",
			func() benchMap[int] { return tvarAdapter[int]{tvar.NewMap[int, int]()} },
			func() benchMap[string] { return tvarAdapter[string]{tvar.NewMap[string, int]()} }},
	)
}

// stringKeys are long-prefix strings, as in go-concurrent-map-bench.
func stringKeys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = "a-long-common-prefix-to-defeat-early-exit/" + strconv.Itoa(i)
	}
	return ks
}

// xorshift is a per-goroutine generator cheap enough not to dominate.
type xorshift uint64

func (x *xorshift) next() uint64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return uint64(*x)
}

var benchSeed atomic.Uint64

// runMix runs the mixed workload: reads% Loads, the rest split evenly
// between Store and Delete (warm) or all Stores (grow, so the map grows
// from empty). It reports the Load hit rate.
func runMix[K comparable](b *testing.B, m benchMap[K], keys []K, reads int, grow bool) {
	b.ReportAllocs()
	var hits, loads atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := xorshift(benchSeed.Add(0x9e3779b97f4a7c15) | 1)
		n := uint64(len(keys))
		var h, l int64
		// mixOp's body, spelled out: as a call (it does not inline) it
		// would add a few ns to every operation, a third of the fastest
		// cells.
		for pb.Next() {
			x := r.next()
			k := keys[(x>>16)%n]
			op := int(x % 100)
			switch {
			case op < reads:
				l++
				if _, ok := m.Load(k); ok {
					h++
				}
			case grow || op < reads+(100-reads)/2:
				m.Store(k, int(x))
			default:
				m.Delete(k)
			}
		}
		hits.Add(h)
		loads.Add(l)
	})
	if l := loads.Load(); l > 0 {
		b.ReportMetric(100*float64(hits.Load())/float64(l), "hit%")
	}
}

// mixOp runs the operation of the mix that the random word x picks: a Load
// of a key (reporting whether it hit) with probability reads%, otherwise a
// Store or, when not growing, as often a Delete. It is runMix's loop body,
// for BenchmarkPaired.
func mixOp[K comparable](m benchMap[K], keys []K, reads int, grow bool, x uint64) (load, hit bool) {
	k := keys[(x>>16)%uint64(len(keys))]
	switch op := int(x % 100); {
	case op < reads:
		_, ok := m.Load(k)
		return true, ok
	case grow || op < reads+(100-reads)/2:
		m.Store(k, int(x))
	default:
		m.Delete(k)
	}
	return false, false
}

// benchCell is one cell of the matrix.
type benchCell struct {
	name   string // type=…/mode=…/keys=…/reads=…
	str    bool   // string keys (else int)
	keys   int    // key space
	reads  int    // percent of Loads
	grow   bool   // from empty (else prefilled)
	number uint64 // 1, 2, …: seeds -lockfree.order
}

// matrix returns the cells (1M keys only with -lockfree.fullmatrix)
// and the int and string keys they draw from.
func matrix() (cells []benchCell, ints []int, strs []string) {
	sizes := []int{1_000, 100_000}
	if *fullMatrix {
		sizes = append(sizes, 1_000_000)
	}
	ints = make([]int, sizes[len(sizes)-1])
	for i := range ints {
		ints[i] = i
	}
	strs = stringKeys(len(ints))
	for _, kt := range []string{"int", "string"} {
		for _, mode := range []string{"warm", "grow"} {
			for _, n := range sizes {
				for _, reads := range []int{100, 90, 75, 50} {
					if mode == "grow" && reads == 100 {
						continue // nothing would ever be stored
					}
					cells = append(cells, benchCell{
						name: fmt.Sprintf("type=%s/mode=%s/keys=%s/reads=%d", kt, mode, sizeName(n), reads),
						str:  kt == "string", keys: n, reads: reads, grow: mode == "grow",
						number: uint64(len(cells) + 1),
					})
				}
			}
		}
	}
	return cells, ints, strs
}

func BenchmarkMaps(b *testing.B) {
	withoutHook(b)
	cells, ints, strs := matrix()
	for _, c := range cells {
		for _, tgt := range orderedTargets(c.number) {
			b.Run(c.name+"/map="+tgt.name, func(b *testing.B) {
				if c.str {
					benchOne(b, tgt.newS, strs[:c.keys], c.reads, c.grow)
				} else {
					benchOne(b, tgt.newI, ints[:c.keys], c.reads, c.grow)
				}
			})
		}
	}
}

// orderedTargets returns the maps in the order -lockfree.order gives the
// cell numbered cell.
func orderedTargets(cell uint64) []benchTarget {
	ts := benchTargets()
	if *benchOrder != 0 {
		r := rand.New(rand.NewPCG(*benchOrder, cell))
		r.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	}
	return ts
}

func benchOne[K comparable](b *testing.B, newMap func() benchMap[K], keys []K, reads int, grow bool) {
	// Collect what earlier benchmarks left before filling, so the new
	// map's nodes are laid out in freed, swept memory rather than
	// interleaved with the previous map's garbage (which makes a map's
	// reads depend on what ran before it).
	runtime.GC()
	m := newMap()
	if !grow {
		for i, k := range keys {
			m.Store(k, i)
		}
	}
	// Leave no garbage from filling (or from the previous run) for the
	// timed part to collect.
	runtime.GC()
	runMix(b, m, keys, reads, grow)
}

// withoutHook turns the tests' yield hook (hook_test.go) off for one
// benchmark, which must measure the maps as users get them: the hook sits
// on write paths of our variants only and would tax them against the peers.
// Benchmarks run one at a time after the tests, so nothing reads the hook
// meanwhile.
func withoutHook(b *testing.B) {
	saved := testHook
	testHook = nil
	b.Cleanup(func() { testHook = saved })
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1_000:
		return strconv.Itoa(n/1_000) + "K"
	}
	return strconv.Itoa(n)
}

// BenchmarkLoad is single-goroutine Load of a present int key: the 0-alloc
// path.
func BenchmarkLoad(b *testing.B) {
	withoutHook(b)
	const n = 1 << 16
	for _, tgt := range benchTargets() {
		b.Run(tgt.name, func(b *testing.B) {
			m := tgt.newI()
			for i := range n {
				m.Store(i, i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Load(i & (n - 1))
				i++
			}
		})
	}
}

// BenchmarkStoreOverwrite is single-goroutine Store over present keys.
func BenchmarkStoreOverwrite(b *testing.B) {
	withoutHook(b)
	const n = 1 << 16
	for _, tgt := range benchTargets() {
		b.Run(tgt.name, func(b *testing.B) {
			m := tgt.newI()
			for i := range n {
				m.Store(i, i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Store(i&(n-1), i)
				i++
			}
		})
	}
}

var memSink any

// BenchmarkMemory reports the live heap per entry of a map of 100K int→int
// entries, measured after GC.
func BenchmarkMemory(b *testing.B) {
	withoutHook(b)
	const n = 100_000
	for _, tgt := range benchTargets() {
		b.Run(tgt.name, func(b *testing.B) {
			var perEntry float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				m := tgt.newI()
				for i := range n {
					m.Store(i, i)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				memSink = m
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
				memSink = nil
			}
			b.ReportMetric(perEntry, "B/entry")
		})
	}
}
