package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// queueWorkload: producers and consumers share a bounded FIFO queue; a
// producer blocks while it is full, a consumer while it is empty. Half the
// workers (rounded up) produce; a single worker alternates. For the STM
// engines, blocking is Retry.
func queueWorkload() Workload {
	return Workload{
		Name: "queue",
		Doc:  "producers and consumers on a bounded FIFO queue, blocking when full or empty (invariant: taken + left = put as multisets, FIFO per producer)",
		Params: []Param{
			{Name: "capacity", Usage: "queue capacity", Default: 64, Min: 1},
		},
		Role: queueRole,
		Engines: []Engine{
			{Name: Gostm, Doc: "a ring of Vars with head and tail Vars; blocking is Retry", New: newQueueGostm, Counters: GostmCounters},
			{Name: Anacrolix, Doc: "the same ring in anacrolix Vars", New: newQueueAnacrolix, Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "a ring behind a mutex with two sync.Conds", New: newQueueCond},
			{Name: Channel, Doc: "a buffered channel", New: newQueueChannel},
		},
	}
}

func queueRole(g, n int) string {
	switch {
	case n == 1:
		return "both"
	case g < (n+1)/2:
		return "producer"
	}
	return "consumer"
}

const qSeqBits = 40

// qLedger is what workers put and took, kept per worker: a count and a sum
// of hashes of the items, which match for equal multisets and differ, with
// overwhelming probability, for any loss or duplication.
type qLedger struct {
	put, took []qTally
	last      [][]uint64 // per worker, per producer: last sequence number taken
	bad       []string   // per worker: the first FIFO violation seen
	seq       []uint64   // per worker: sequence numbers of items put
}

type qTally struct{ n, h uint64 }

func (t *qTally) add(x uint64) { t.n++; t.h += mix64(x) }

// mix64 is the splitmix64 finaliser: a bijection that spreads bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func newQLedger(n int) *qLedger {
	l := &qLedger{put: make([]qTally, n), took: make([]qTally, n), last: make([][]uint64, n), bad: make([]string, n), seq: make([]uint64, n)}
	for g := range l.last {
		l.last[g] = make([]uint64, n)
	}
	return l
}

// item returns the next item worker g puts: its index and a sequence number.
func (l *qLedger) item(g int) uint64 { return uint64(g)<<qSeqBits | (l.seq[g] + 1) }

func (l *qLedger) didPut(g int, x uint64) { l.seq[g]++; l.put[g].add(x) }

func (l *qLedger) didTake(g int, x uint64) {
	l.took[g].add(x)
	p, s := x>>qSeqBits, x&(1<<qSeqBits-1)
	if int(p) >= len(l.last) {
		if l.bad[g] == "" {
			l.bad[g] = fmt.Sprintf("took %#x, which no producer put", x)
		}
		return
	}
	if s <= l.last[g][p] && l.bad[g] == "" {
		l.bad[g] = fmt.Sprintf("took item %d of producer %d after item %d: not FIFO", s, p, l.last[g][p])
	}
	l.last[g][p] = s
}

func (l *qLedger) check(left []uint64) error {
	for g, b := range l.bad {
		if b != "" {
			return fmt.Errorf("worker %d %s", g, b)
		}
	}
	var put, out qTally
	for g := range l.put {
		put.n, put.h = put.n+l.put[g].n, put.h+l.put[g].h
		out.n, out.h = out.n+l.took[g].n, out.h+l.took[g].h
	}
	for _, x := range left {
		out.add(x)
	}
	if put != out {
		return fmt.Errorf("put %d items, but %d were taken or left in the queue (or the same number, different items)", put.n, out.n)
	}
	return nil
}

// qWorker returns worker g's operation given put and take functions that
// report false when Stop interrupted them.
func qWorker(l *qLedger, g, n int, put func(uint64) bool, take func() (uint64, bool)) func() bool {
	role := queueRole(g, n)
	turn := false
	return func() bool {
		if role == "producer" || (role == "both" && !turn) {
			turn = true
			x := l.item(g)
			if !put(x) {
				return false
			}
			l.didPut(g, x)
			return true
		}
		turn = false
		x, ok := take()
		if !ok {
			return false
		}
		l.didTake(g, x)
		return true
	}
}

func newQueueGostm(s Setup) (Instance, error) {
	capa := s.Params["capacity"]
	slots := make([]*stm.Var[uint64], capa)
	for i := range slots {
		slots[i] = stm.NewVar[uint64](0)
	}
	head, tail := stm.NewVar(0), stm.NewVar(0) // items ever taken, ever put
	closed := stm.NewVar(false)
	l := newQLedger(s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			var item uint64
			// closed is read first in both bodies, so Stop wakes a
			// blocked worker.
			put := func(tx *stm.Tx) bool {
				if closed.Get(tx) {
					return false
				}
				t := tail.Get(tx)
				tx.Check(t-head.Get(tx) < capa)
				slots[t%capa].Set(tx, item)
				tail.Set(tx, t+1)
				return true
			}
			take := func(tx *stm.Tx) bool {
				if closed.Get(tx) {
					return false
				}
				h := head.Get(tx)
				tx.Check(tail.Get(tx) > h)
				item = slots[h%capa].Get(tx)
				head.Set(tx, h+1)
				return true
			}
			return qWorker(l, g, s.Goroutines,
				func(x uint64) bool { item = x; return stm.Eval(put) },
				func() (uint64, bool) { ok := stm.Eval(take); return item, ok })
		},
		StopFunc: func() { closed.Store(true) },
		CheckFunc: func() error {
			var left []uint64
			for i := head.Load(); i < tail.Load(); i++ {
				left = append(left, slots[i%capa].Load())
			}
			return l.check(left)
		},
	}, nil
}

func newQueueAnacrolix(s Setup) (Instance, error) {
	capa := s.Params["capacity"]
	slots := make([]*astm.Var, capa)
	for i := range slots {
		slots[i] = astm.NewVar(uint64(0))
	}
	head, tail := astm.NewVar(0), astm.NewVar(0)
	closed := astm.NewVar(false)
	l := newQLedger(s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool {
			var item uint64
			put := func(tx *astm.Tx) interface{} {
				if tx.Get(closed).(bool) {
					return false
				}
				t := tx.Get(tail).(int)
				tx.Assert(t-tx.Get(head).(int) < capa)
				tx.Set(slots[t%capa], item)
				tx.Set(tail, t+1)
				return true
			}
			take := func(tx *astm.Tx) interface{} {
				if tx.Get(closed).(bool) {
					return false
				}
				h := tx.Get(head).(int)
				tx.Assert(tx.Get(tail).(int) > h)
				item = tx.Get(slots[h%capa]).(uint64)
				tx.Set(head, h+1)
				return true
			}
			return qWorker(l, g, s.Goroutines,
				func(x uint64) bool { item = x; return astm.Atomically(put).(bool) },
				func() (uint64, bool) { ok := astm.Atomically(take).(bool); return item, ok })
		},
		StopFunc: func() { astm.AtomicSet(closed, true) },
		CheckFunc: func() error {
			var left []uint64
			for i := astm.AtomicGet(head).(int); i < astm.AtomicGet(tail).(int); i++ {
				left = append(left, astm.AtomicGet(slots[i%capa]).(uint64))
			}
			return l.check(left)
		},
	}, nil
}

func newQueueCond(s Setup) (Instance, error) {
	capa := s.Params["capacity"]
	var (
		mu                sync.Mutex
		notFull, notEmpty = sync.Cond{L: &mu}, sync.Cond{L: &mu}
		ring              = make([]uint64, capa)
		head, tail        int
		closed            bool
	)
	l := newQLedger(s.Goroutines)
	put := func(x uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		for tail-head == capa && !closed {
			notFull.Wait()
		}
		if closed {
			return false
		}
		ring[tail%capa] = x
		tail++
		notEmpty.Signal()
		return true
	}
	take := func() (uint64, bool) {
		mu.Lock()
		defer mu.Unlock()
		for tail == head && !closed {
			notEmpty.Wait()
		}
		if closed {
			return 0, false
		}
		x := ring[head%capa]
		head++
		notFull.Signal()
		return x, true
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool { return qWorker(l, g, s.Goroutines, put, take) },
		StopFunc: func() {
			mu.Lock()
			closed = true
			notFull.Broadcast()
			notEmpty.Broadcast()
			mu.Unlock()
		},
		CheckFunc: func() error {
			var left []uint64
			for i := head; i < tail; i++ {
				left = append(left, ring[i%capa])
			}
			return l.check(left)
		},
	}, nil
}

func newQueueChannel(s Setup) (Instance, error) {
	ch := make(chan uint64, s.Params["capacity"])
	done := make(chan struct{})
	l := newQLedger(s.Goroutines)
	put := func(x uint64) bool {
		select {
		case ch <- x:
			return true
		case <-done:
			return false
		}
	}
	take := func() (uint64, bool) {
		select {
		case x := <-ch:
			return x, true
		case <-done:
			return 0, false
		}
	}
	return &Funcs{
		WorkerFunc: func(g int, _ *rand.Rand) func() bool { return qWorker(l, g, s.Goroutines, put, take) },
		StopFunc:   func() { close(done) },
		CheckFunc: func() error {
			var left []uint64
			for len(ch) > 0 {
				left = append(left, <-ch)
			}
			return l.check(left)
		},
	}, nil
}
