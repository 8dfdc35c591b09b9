package stm_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"gostm.dev/stm"
)

// BenchmarkHotCounter: every goroutine increments one shared counter
// (b.RunParallel; GOMAXPROCS goroutines, so above 2 on this VM it measures
// oversubscription). gostm's read-modify-write conflicts on it; Add (a
// Commute) does not; atomic.Add and a mutex are the baselines.
//
//	go test -run '^$' -bench HotCounter -cpu 1,2,8 ./stm/
func BenchmarkHotCounter(b *testing.B) {
	b.Run("engine=gostm", func(b *testing.B) {
		v := stm.NewVar(0)
		before := stm.ReadStats()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				stm.Atomically(func(tx *stm.Tx) error { v.Set(tx, v.Get(tx)+1); return nil })
			}
		})
		b.ReportMetric(float64(stm.ReadStats().Sub(before).Aborts)/float64(b.N), "aborts/op")
	})
	b.Run("engine=gostm-add", func(b *testing.B) {
		v := stm.NewVar(0)
		before := stm.ReadStats()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				stm.Atomically(func(tx *stm.Tx) error { stm.Add(tx, v, 1); return nil })
			}
		})
		b.ReportMetric(float64(stm.ReadStats().Sub(before).Aborts)/float64(b.N), "aborts/op")
	})
	b.Run("engine=atomic", func(b *testing.B) {
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Add(1)
			}
		})
	})
	b.Run("engine=mutex", func(b *testing.B) {
		var mu sync.Mutex
		n := 0
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	})
}

// BenchmarkCounterAndOwnVar is the commute case as a benchmark:
// each transaction adds 1 to a shared counter and writes a Var of its
// goroutine's own, with Get+Set or with Add on the counter.
func BenchmarkCounterAndOwnVar(b *testing.B) {
	for _, commute := range []bool{false, true} {
		name := "engine=gostm"
		if commute {
			name = "engine=gostm-add"
		}
		b.Run(name, func(b *testing.B) {
			shared := stm.NewVar(0)
			before := stm.ReadStats()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				own := stm.NewVar(0)
				for pb.Next() {
					stm.Atomically(func(tx *stm.Tx) error {
						if commute {
							stm.Add(tx, shared, 1)
						} else {
							shared.Set(tx, shared.Get(tx)+1)
						}
						own.Set(tx, own.Get(tx)+1)
						return nil
					})
				}
			})
			b.ReportMetric(float64(stm.ReadStats().Sub(before).Aborts)/float64(b.N), "aborts/op")
		})
	}
}

// BenchmarkAuditUnderWriters: one goroutine sums 1024 Vars in a read-only
// transaction (View, or Eval) while another keeps moving units between
// them; ns/op is per audit. attempts/op shows that the View never runs
// twice; the Eval may, before it registers.
func BenchmarkAuditUnderWriters(b *testing.B) {
	const n = 1024
	for _, mode := range []string{"view", "eval"} {
		b.Run("engine=gostm-"+mode, func(b *testing.B) {
			vars := make([]*stm.Var[int], n)
			for i := range vars {
				vars[i] = stm.NewVar(1)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					x, y := vars[i*7919%n], vars[(i*104729+1)%n]
					stm.Atomically(func(tx *stm.Tx) error {
						x.Set(tx, x.Get(tx)-1)
						y.Set(tx, y.Get(tx)+1)
						return nil
					})
				}
			})
			attempts := 0
			sum := func(tx *stm.Tx) int {
				attempts++
				s := 0
				for _, v := range vars {
					s += v.Get(tx)
				}
				return s
			}
			b.ReportAllocs()
			for b.Loop() {
				var s int
				if mode == "view" {
					s = stm.View(sum)
				} else {
					s = stm.Eval(sum)
				}
				if s != n {
					b.Fatalf("audit saw %d, want %d", s, n)
				}
			}
			stop.Store(true)
			wg.Wait()
			b.ReportMetric(float64(attempts)/float64(b.N), "attempts/op")
		})
	}
}
