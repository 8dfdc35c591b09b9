package tvar_test

import (
	"fmt"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Benchmarks: go test -bench . -benchmem ./tvar/ (add -cpu 1,2,4 to see
// scaling). Each reports aborts/op, the engine's conflict aborts per
// operation over the run.

func reportAborts(b *testing.B, before stm.Stats) {
	d := stm.ReadStats().Sub(before)
	b.ReportMetric(float64(d.Aborts)/float64(b.N), "aborts/op")
}

// concurrentMap is what the map benchmark needs from each contender.
type concurrentMap interface {
	set(k, v int)
	del(k int)
}

type tvarMap struct{ m *tvar.Map[int, int] }

func (t tvarMap) set(k, v int) { atomically(func(tx *stm.Tx) { t.m.Set(tx, k, v) }) }
func (t tvarMap) del(k int)    { atomically(func(tx *stm.Tx) { t.m.Delete(tx, k) }) }

// varMap is the naive alternative: one Var holding a Go map that is never
// mutated once stored, so every write copies it.
type varMap struct{ v *stm.Var[map[int]int] }

func (t varMap) set(k, v int) {
	atomically(func(tx *stm.Tx) {
		m := maps.Clone(t.v.Get(tx))
		m[k] = v
		t.v.Set(tx, m)
	})
}

func (t varMap) del(k int) {
	atomically(func(tx *stm.Tx) {
		m := maps.Clone(t.v.Get(tx))
		delete(m, k)
		t.v.Set(tx, m)
	})
}

type syncMap struct{ m *sync.Map }

func (t syncMap) set(k, v int) { t.m.Store(k, v) }
func (t syncMap) del(k int)    { t.m.Delete(k) }

// BenchmarkMap: every goroutine of RunParallel works on its own 256 keys
// of a map preloaded with 256 keys per goroutine. "update" sets present
// keys (the tvar.Map writes only the entry's value Var); "churn" deletes
// and re-inserts them (trie nodes change). Keys are disjoint, so any
// abort is a false conflict of the data structure.
func BenchmarkMap(b *testing.B) {
	const perG = 256
	for _, workload := range []string{"update", "churn"} {
		for _, impl := range []string{"tvar.Map", "Var[map]", "sync.Map"} {
			b.Run(workload+"/"+impl, func(b *testing.B) {
				procs := runtime.GOMAXPROCS(0)
				var m concurrentMap
				switch impl {
				case "tvar.Map":
					m = tvarMap{tvar.NewMap[int, int]()}
				case "Var[map]":
					m = varMap{stm.NewVar(map[int]int{})}
				default:
					m = syncMap{new(sync.Map)}
				}
				for k := range procs * perG {
					m.set(k, k)
				}
				var ids atomic.Int64
				before := stm.ReadStats()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					base := int(ids.Add(1)-1) % procs * perG
					i := 0
					for pb.Next() {
						k := base + i%perG
						if workload == "update" {
							m.set(k, i)
						} else if i/perG%2 == 0 {
							m.del(k)
						} else {
							m.set(k, i)
						}
						i++
					}
				})
				b.StopTimer()
				reportAborts(b, before)
			})
		}
	}
}

// BenchmarkBoundedQueue moves b.N items from one producer to one consumer
// through a BoundedQueue and, for comparison, a buffered channel of the
// same capacity. One op is one item.
func BenchmarkBoundedQueue(b *testing.B) {
	for _, c := range []int{1, 64} {
		b.Run(fmt.Sprintf("tvar/cap=%d", c), func(b *testing.B) {
			q, err := tvar.NewBoundedQueue[int](c)
			if err != nil {
				b.Fatal(err)
			}
			before := stm.ReadStats()
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := range b.N {
					atomically(func(tx *stm.Tx) { q.Push(tx, i) })
				}
			})
			for range b.N {
				stm.Eval(q.Pop)
			}
			wg.Wait()
			reportAborts(b, before)
		})
		b.Run(fmt.Sprintf("chan/cap=%d", c), func(b *testing.B) {
			ch := make(chan int, c)
			go func() {
				for i := range b.N {
					ch <- i
				}
			}()
			for range b.N {
				<-ch
			}
		})
	}
}

// BenchmarkMapInsert: each goroutine of RunParallel inserts keys no other
// goroutine touches (and no key twice) into one map preloaded with 1<<16
// keys, one insert per transaction. The preload makes the trie deep enough
// that two inserts rarely rewrite the same node, so the aborts left are
// the ones the map's size bookkeeping causes. Run it with -cpu 2 to see
// two inserters meet; one op is one insert.
func BenchmarkMapInsert(b *testing.B) {
	const preload = 1 << 16
	m := tvar.NewMap[int, int]()
	for lo := 0; lo < preload; lo += 1024 {
		atomically(func(tx *stm.Tx) {
			for k := lo; k < lo+1024; k++ {
				m.Set(tx, -1-k, k) // negative: never one of the inserted keys
			}
		})
	}
	var ids atomic.Int64
	before := stm.ReadStats()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		base := int(ids.Add(1)-1) << 40
		for i := 0; pb.Next(); i++ {
			atomically(func(tx *stm.Tx) { m.Set(tx, base+i, i) })
		}
	})
	b.StopTimer()
	reportAborts(b, before)
}
