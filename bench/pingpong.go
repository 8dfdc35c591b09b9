package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// pingPongWorkload measures wake-up latency: each worker is a pinger with
// a ponger goroutine of its own; one operation is a round trip in which
// each side blocks until the other has answered. For STM engines both
// sides block in Retry, so the operation is two Retry wake-ups.
func pingPongWorkload() Workload {
	return Workload{
		Name: "pingpong",
		Doc:  "round trips between a worker and its partner goroutine, each blocking until the other answers (invariant: every ping answered once)",
		Engines: []Engine{
			{Name: Gostm, Doc: "two Vars; each side blocks in Retry", New: newPingPongGostm, Counters: GostmCounters},
			{Name: Anacrolix, Doc: "two anacrolix Vars; each side blocks in Retry", New: newPingPongAnacrolix, Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "a mutex and a sync.Cond per pair", New: newPingPongCond},
			{Name: Channel, Doc: "two unbuffered channels per pair", New: newPingPongChannel},
		},
	}
}

// pingCounts holds what each pair did, to check that the partner answered
// every ping exactly once: pongs equals pings, or pings+1 when the last
// round trip was cut short by Stop after the ping was answered.
type pingCounts struct {
	pings, pongs []int
	cut          []bool // the worker's last operation was interrupted
}

func newPingCounts(n int) *pingCounts {
	return &pingCounts{pings: make([]int, n), pongs: make([]int, n), cut: make([]bool, n)}
}

func (c *pingCounts) check() error {
	for g := range c.pings {
		p, q := c.pings[g], c.pongs[g]
		if q == p || (c.cut[g] && q == p+1) {
			continue
		}
		return fmt.Errorf("pair %d: %d round trips completed but the partner answered %d pings", g, p, q)
	}
	return nil
}

func newPingPongGostm(s Setup) (Instance, error) {
	n := s.Goroutines
	closed := stm.NewVar(false)
	counts := newPingCounts(n)
	type pair struct{ ping, pong *stm.Var[int] }
	pairs := make([]pair, n)
	var wg sync.WaitGroup
	for g := range pairs {
		p := pair{stm.NewVar(0), stm.NewVar(0)}
		pairs[g] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := 0
			// The partner reads closed first, so Stop wakes it.
			answer := func(tx *stm.Tx) bool {
				if closed.Get(tx) {
					return false
				}
				tx.Check(p.ping.Get(tx) == i)
				p.pong.Set(tx, i)
				return true
			}
			for {
				i++
				if !stm.Eval(answer) {
					return
				}
				counts.pongs[g] = i
			}
		}()
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			p := pairs[g]
			i := 0
			await := func(tx *stm.Tx) bool {
				if closed.Get(tx) {
					return false
				}
				tx.Check(p.pong.Get(tx) == i)
				return true
			}
			return func() bool {
				i++
				p.ping.Store(i)
				if !stm.Eval(await) {
					counts.cut[g] = true
					return false
				}
				counts.pings[g] = i
				return true
			}
		},
		StopFunc:  func() { closed.Store(true); wg.Wait() },
		CheckFunc: counts.check,
	}, nil
}

func newPingPongAnacrolix(s Setup) (Instance, error) {
	n := s.Goroutines
	closed := astm.NewVar(false)
	counts := newPingCounts(n)
	type pair struct{ ping, pong *astm.Var }
	pairs := make([]pair, n)
	var wg sync.WaitGroup
	for g := range pairs {
		p := pair{astm.NewVar(0), astm.NewVar(0)}
		pairs[g] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := 0
			answer := func(tx *astm.Tx) interface{} {
				if tx.Get(closed).(bool) {
					return false
				}
				tx.Assert(tx.Get(p.ping).(int) == i)
				tx.Set(p.pong, i)
				return true
			}
			for {
				i++
				if !astm.Atomically(answer).(bool) {
					return
				}
				counts.pongs[g] = i
			}
		}()
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			p := pairs[g]
			i := 0
			await := func(tx *astm.Tx) interface{} {
				if tx.Get(closed).(bool) {
					return false
				}
				tx.Assert(tx.Get(p.pong).(int) == i)
				return true
			}
			return func() bool {
				i++
				astm.AtomicSet(p.ping, i)
				if !astm.Atomically(await).(bool) {
					counts.cut[g] = true
					return false
				}
				counts.pings[g] = i
				return true
			}
		},
		StopFunc:  func() { astm.AtomicSet(closed, true); wg.Wait() },
		CheckFunc: counts.check,
	}, nil
}

func newPingPongCond(s Setup) (Instance, error) {
	n := s.Goroutines
	counts := newPingCounts(n)
	type pair struct {
		mu         sync.Mutex
		cond       sync.Cond
		ping, pong int
		closed     bool
	}
	pairs := make([]*pair, n)
	var wg sync.WaitGroup
	for g := range pairs {
		p := &pair{}
		p.cond.L = &p.mu
		pairs[g] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.mu.Lock()
			defer p.mu.Unlock()
			for i := 1; ; i++ {
				for p.ping != i && !p.closed {
					p.cond.Wait()
				}
				if p.closed {
					return
				}
				p.pong = i
				counts.pongs[g] = i
				p.cond.Broadcast()
			}
		}()
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			p := pairs[g]
			i := 0
			return func() bool {
				i++
				p.mu.Lock()
				defer p.mu.Unlock()
				p.ping = i
				p.cond.Broadcast()
				for p.pong != i && !p.closed {
					p.cond.Wait()
				}
				if p.pong != i {
					counts.cut[g] = true
					return false
				}
				counts.pings[g] = i
				return true
			}
		},
		StopFunc: func() {
			for _, p := range pairs {
				p.mu.Lock()
				p.closed = true
				p.cond.Broadcast()
				p.mu.Unlock()
			}
			wg.Wait()
		},
		CheckFunc: counts.check,
	}, nil
}

func newPingPongChannel(s Setup) (Instance, error) {
	n := s.Goroutines
	counts := newPingCounts(n)
	done := make(chan struct{})
	type pair struct{ ping, pong chan int }
	pairs := make([]pair, n)
	var wg sync.WaitGroup
	for g := range pairs {
		p := pair{make(chan int), make(chan int)}
		pairs[g] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case i := <-p.ping:
					select {
					case p.pong <- i:
						counts.pongs[g] = i
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			p := pairs[g]
			i := 0
			return func() bool {
				i++
				select {
				case p.ping <- i:
				case <-done:
					return false
				}
				select {
				case <-p.pong:
					counts.pings[g] = i
					return true
				case <-done:
					// The partner took the ping but cannot answer now.
					counts.cut[g] = true
					return false
				}
			}
		},
		StopFunc:  func() { close(done); wg.Wait() },
		CheckFunc: counts.check,
	}, nil
}
