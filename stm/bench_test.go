package stm_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// Benchmarks compare gostm with github.com/anacrolix/stm v0.2.0 (the Go STM
// the module proxy serves) and sync.Mutex on the same cases, in one run:
//
//	go test -run '^$' -bench . -benchmem ./stm/
//
// Sub-benchmark names carry engine=..., so benchstat can pivot on it:
//
//	benchstat -col /engine results.txt

func BenchmarkEmpty(b *testing.B) {
	b.Run("engine=gostm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			stm.Atomically(func(*stm.Tx) error { return nil })
		}
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			astm.Atomically(func(*astm.Tx) interface{} { return nil })
		}
	})
	b.Run("engine=mutex", func(b *testing.B) {
		var mu sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			//lint:ignore SA2001 the empty critical section is the case measured
			mu.Unlock()
		}
	})
}

func BenchmarkReadOnly(b *testing.B) {
	for _, n := range []int{1, 4, 16, 1024} {
		b.Run(fmt.Sprintf("vars=%d/engine=gostm", n), func(b *testing.B) {
			vars := make([]*stm.Var[int], n)
			for i := range vars {
				vars[i] = stm.NewVar(i)
			}
			b.ReportAllocs()
			sum := 0
			for b.Loop() {
				sum += stm.Eval(func(tx *stm.Tx) int {
					s := 0
					for _, v := range vars {
						s += v.Get(tx)
					}
					return s
				})
			}
		})
		// The same with View, written out: passing Eval or View as a func
		// value would keep them from inlining and allocate a closure per
		// transaction, which is not what either costs.
		b.Run(fmt.Sprintf("vars=%d/engine=gostm-view", n), func(b *testing.B) {
			vars := make([]*stm.Var[int], n)
			for i := range vars {
				vars[i] = stm.NewVar(i)
			}
			b.ReportAllocs()
			sum := 0
			for b.Loop() {
				sum += stm.View(func(tx *stm.Tx) int {
					s := 0
					for _, v := range vars {
						s += v.Get(tx)
					}
					return s
				})
			}
		})
		b.Run(fmt.Sprintf("vars=%d/engine=anacrolix", n), func(b *testing.B) {
			vars := make([]*astm.Var, n)
			for i := range vars {
				vars[i] = astm.NewVar(i)
			}
			b.ReportAllocs()
			for b.Loop() {
				astm.Atomically(func(tx *astm.Tx) interface{} {
					s := 0
					for _, v := range vars {
						s += tx.Get(v).(int)
					}
					return s
				})
			}
		})
		b.Run(fmt.Sprintf("vars=%d/engine=mutex", n), func(b *testing.B) {
			var mu sync.Mutex
			vals := make([]int, n)
			b.ReportAllocs()
			sum := 0
			for b.Loop() {
				mu.Lock()
				for _, v := range vals {
					sum += v
				}
				mu.Unlock()
			}
		})
	}
}

func BenchmarkIncrement(b *testing.B) {
	b.Run("engine=gostm", func(b *testing.B) {
		v := stm.NewVar(0)
		b.ReportAllocs()
		for b.Loop() {
			stm.Atomically(func(tx *stm.Tx) error {
				v.Set(tx, v.Get(tx)+1)
				return nil
			})
		}
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		v := astm.NewVar(0)
		b.ReportAllocs()
		for b.Loop() {
			astm.Atomically(func(tx *astm.Tx) interface{} {
				tx.Set(v, tx.Get(v).(int)+1)
				return nil
			})
		}
	})
	b.Run("engine=mutex", func(b *testing.B) {
		var mu sync.Mutex
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			n++
			mu.Unlock()
		}
	})
}

// BenchmarkIncrementBoxed is BenchmarkIncrement on a Var whose values are
// boxed (16 bytes): one allocation per write.
func BenchmarkIncrementBoxed(b *testing.B) {
	type wide struct{ n, pad int }
	b.Run("engine=gostm", func(b *testing.B) {
		v := stm.NewVar(wide{})
		b.ReportAllocs()
		for b.Loop() {
			stm.Atomically(func(tx *stm.Tx) error {
				w := v.Get(tx)
				w.n++
				v.Set(tx, w)
				return nil
			})
		}
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		v := astm.NewVar(wide{})
		b.ReportAllocs()
		for b.Loop() {
			astm.Atomically(func(tx *astm.Tx) interface{} {
				w := tx.Get(v).(wide)
				w.n++
				tx.Set(v, w)
				return nil
			})
		}
	})
}

// BenchmarkWriteSet increments 1024 Vars in one transaction: the cost of a
// large write set (its logs and index are kept by the Tx between
// transactions).
func BenchmarkWriteSet(b *testing.B) {
	const n = 1024
	b.Run("engine=gostm", func(b *testing.B) {
		vars := make([]*stm.Var[int], n)
		for i := range vars {
			vars[i] = stm.NewVar(i)
		}
		b.ReportAllocs()
		for b.Loop() {
			stm.Atomically(func(tx *stm.Tx) error {
				for _, v := range vars {
					v.Set(tx, v.Get(tx)+1)
				}
				return nil
			})
		}
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		vars := make([]*astm.Var, n)
		for i := range vars {
			vars[i] = astm.NewVar(i)
		}
		b.ReportAllocs()
		for b.Loop() {
			astm.Atomically(func(tx *astm.Tx) interface{} {
				for _, v := range vars {
					tx.Set(v, tx.Get(v).(int)+1)
				}
				return nil
			})
		}
	})
}

func BenchmarkTransfer(b *testing.B) {
	b.Run("engine=gostm", func(b *testing.B) {
		x, y := stm.NewVar(1<<40), stm.NewVar(0)
		b.ReportAllocs()
		for b.Loop() {
			stm.Atomically(func(tx *stm.Tx) error {
				x.Set(tx, x.Get(tx)-1)
				y.Set(tx, y.Get(tx)+1)
				return nil
			})
		}
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		x, y := astm.NewVar(1<<40), astm.NewVar(0)
		b.ReportAllocs()
		for b.Loop() {
			astm.Atomically(func(tx *astm.Tx) interface{} {
				tx.Set(x, tx.Get(x).(int)-1)
				tx.Set(y, tx.Get(y).(int)+1)
				return nil
			})
		}
	})
	b.Run("engine=mutex", func(b *testing.B) {
		var mu sync.Mutex
		x, y := 1<<40, 0
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			x--
			y++
			mu.Unlock()
		}
	})
}

// BenchmarkOrElse measures entering a choice whose first alternative
// succeeds: the cost of the checkpoint.
func BenchmarkOrElse(b *testing.B) {
	b.Run("engine=gostm", func(b *testing.B) {
		v := stm.NewVar(1)
		first := func(tx *stm.Tx) int { return v.Get(tx) }
		second := func(tx *stm.Tx) int { return 0 }
		b.ReportAllocs()
		for b.Loop() {
			stm.Eval(func(tx *stm.Tx) int { return stm.OrElse(tx, first, second) })
		}
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		v := astm.NewVar(1)
		sel := astm.Select(
			func(tx *astm.Tx) interface{} { return tx.Get(v) },
			func(tx *astm.Tx) interface{} { return 0 },
		)
		b.ReportAllocs()
		for b.Loop() {
			astm.Atomically(sel)
		}
	})
}

// BenchmarkPingPong measures Retry wake-up latency: one op is a round trip
// through two Vars between two goroutines, each blocking in Retry until the
// other's commit. The channel case is the same round trip over unbuffered
// channels.
func BenchmarkPingPong(b *testing.B) {
	b.Run("engine=gostm", func(b *testing.B) {
		gostmPingPong(b,
			func(ping, pong *stm.Var[int], i int) (stop bool) {
				return stm.Eval(func(tx *stm.Tx) bool {
					p := ping.Get(tx)
					if p < 0 {
						return true
					}
					tx.Check(p == i)
					pong.Set(tx, i)
					return false
				})
			},
			func(pong *stm.Var[int], i int) {
				stm.Atomically(func(tx *stm.Tx) error {
					tx.Check(pong.Get(tx) == i)
					return nil
				})
			})
	})
	// The same round trip with each side returning stm.ErrRetry instead
	// of calling Check: no panic is unwound.
	b.Run("engine=gostm-errretry", func(b *testing.B) {
		gostmPingPong(b,
			func(ping, pong *stm.Var[int], i int) (stop bool) {
				stm.Atomically(func(tx *stm.Tx) error {
					p := ping.Get(tx)
					if stop = p < 0; stop {
						return nil
					}
					if p != i {
						return stm.ErrRetry
					}
					pong.Set(tx, i)
					return nil
				})
				return stop
			},
			func(pong *stm.Var[int], i int) {
				stm.Atomically(func(tx *stm.Tx) error {
					if pong.Get(tx) != i {
						return stm.ErrRetry
					}
					return nil
				})
			})
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		ping, pong := astm.NewVar(0), astm.NewVar(0)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; ; i++ {
				stop := astm.Atomically(func(tx *astm.Tx) interface{} {
					p := tx.Get(ping).(int)
					if p < 0 {
						return true
					}
					tx.Assert(p == i)
					tx.Set(pong, i)
					return false
				}).(bool)
				if stop {
					return
				}
			}
		}()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			astm.AtomicSet(ping, i)
			astm.Atomically(func(tx *astm.Tx) interface{} {
				tx.Assert(tx.Get(pong).(int) == i)
				return nil
			})
		}
		astm.AtomicSet(ping, -1)
		<-done
	})
	b.Run("engine=channel", func(b *testing.B) {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for i := range ping {
				pong <- i
			}
			close(pong)
		}()
		b.ReportAllocs()
		for b.Loop() {
			ping <- 1
			<-pong
		}
		close(ping)
		for range pong {
		}
	})
}

// gostmPingPong runs the round trip with gostm: a partner goroutine runs
// answer for rounds 1, 2, ... until it reports stop (ping set to -1), and
// each op stores the round in ping and runs await until pong shows it.
func gostmPingPong(b *testing.B, answer func(ping, pong *stm.Var[int], i int) (stop bool), await func(pong *stm.Var[int], i int)) {
	ping, pong := stm.NewVar(0), stm.NewVar(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; !answer(ping, pong, i); i++ {
		}
	}()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		ping.Store(i)
		await(pong, i)
	}
	ping.Store(-1)
	<-done
}

// BenchmarkBank runs transfers between random accounts of 1024 from
// GOMAXPROCS goroutines (RunParallel): the throughput case of DESIGN.md §4.
func BenchmarkBank(b *testing.B) {
	const accounts = 1024
	b.Run("engine=gostm", func(b *testing.B) {
		acct := make([]*stm.Var[int], accounts)
		for i := range acct {
			acct[i] = stm.NewVar(1000)
		}
		var seeds atomic.Uint64
		before := stm.ReadStats()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(seeds.Add(1), 1))
			for pb.Next() {
				from, to := acct[rng.IntN(accounts)], acct[rng.IntN(accounts)]
				stm.Atomically(func(tx *stm.Tx) error {
					f := from.Get(tx)
					from.Set(tx, f-1)
					to.Set(tx, to.Get(tx)+1)
					return nil
				})
			}
		})
		st := stm.ReadStats().Sub(before)
		b.ReportMetric(float64(st.Aborts)/float64(b.N), "aborts/op")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("engine=anacrolix", func(b *testing.B) {
		acct := make([]*astm.Var, accounts)
		for i := range acct {
			acct[i] = astm.NewVar(1000)
		}
		var seeds atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(seeds.Add(1), 1))
			for pb.Next() {
				from, to := acct[rng.IntN(accounts)], acct[rng.IntN(accounts)]
				astm.Atomically(func(tx *astm.Tx) interface{} {
					f := tx.Get(from).(int)
					tx.Set(from, f-1)
					tx.Set(to, tx.Get(to).(int)+1)
					return nil
				})
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("engine=mutex", func(b *testing.B) {
		// Fine-grained: a mutex per account, locked in index order.
		type account struct {
			mu  sync.Mutex
			bal int
		}
		acct := make([]account, accounts)
		var seeds atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(seeds.Add(1), 1))
			for pb.Next() {
				i, j := rng.IntN(accounts), rng.IntN(accounts)
				if i == j {
					acct[i].mu.Lock()
					//lint:ignore SA2001 a self-transfer changes nothing
					acct[i].mu.Unlock()
					continue
				}
				lo, hi := min(i, j), max(i, j)
				acct[lo].mu.Lock()
				acct[hi].mu.Lock()
				acct[i].bal--
				acct[j].bal++
				acct[hi].mu.Unlock()
				acct[lo].mu.Unlock()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
}
