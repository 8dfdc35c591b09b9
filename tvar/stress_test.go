package tvar_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

// Many producers and consumers on one queue. Items are (producer, seq).
// Each consumer's pop transaction also takes a ticket from a counter Var,
// which orders the pops exactly as they were serialised; sorted by ticket,
// the pops must be, per producer, 0, 1, 2, ... with nothing missing or
// repeated (so the consumed multiset is the produced one and per-producer
// FIFO order holds across all consumers). The same transactions check
// 0 <= len <= cap in their own snapshot.

type item struct{ producer, seq int }

// fifoUnderTest is what the stress test needs from a queue.
type fifoUnderTest interface {
	push(tx *stm.Tx, it item)
	pop(tx *stm.Tx) item
	// invariant reports a broken length invariant in tx's snapshot, or "".
	invariant(tx *stm.Tx) string
}

type queueSUT struct{ q *tvar.Queue[item] }

func (s queueSUT) push(tx *stm.Tx, it item) { s.q.Push(tx, it) }
func (s queueSUT) pop(tx *stm.Tx) item      { return s.q.Pop(tx) }
func (s queueSUT) invariant(tx *stm.Tx) string {
	if n := s.q.Len(tx); n < 0 || (n == 0) != s.q.IsEmpty(tx) {
		return fmt.Sprintf("Len %d, IsEmpty %v", n, s.q.IsEmpty(tx))
	}
	return ""
}

type boundedSUT struct{ q *tvar.BoundedQueue[item] }

func (s boundedSUT) push(tx *stm.Tx, it item) { s.q.Push(tx, it) }
func (s boundedSUT) pop(tx *stm.Tx) item      { return s.q.Pop(tx) }
func (s boundedSUT) invariant(tx *stm.Tx) string {
	n, full, empty := s.q.Len(tx), s.q.IsFull(tx), s.q.IsEmpty(tx)
	if n < 0 || n > s.q.Cap() || full != (n == s.q.Cap()) || empty != (n == 0) {
		return fmt.Sprintf("Len %d, Cap %d, IsFull %v, IsEmpty %v", n, s.q.Cap(), full, empty)
	}
	return ""
}

func stressFIFO(t *testing.T, q fifoUnderTest, producers, consumers, perProducer int) {
	total := producers * perProducer
	ticket := stm.NewVar(0)
	type pop struct {
		ticket int
		it     item
	}
	pops := make([][]pop, consumers)
	var wg sync.WaitGroup
	var bad sync.Once
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				err := stm.Atomically(func(tx *stm.Tx) error {
					q.push(tx, item{p, i})
					if s := q.invariant(tx); s != "" {
						return fmt.Errorf("after push: %s", s)
					}
					return nil
				})
				if err != nil {
					bad.Do(func() { t.Error(err) })
					return
				}
			}
		})
	}
	for c := range consumers {
		wg.Go(func() {
			for {
				var got pop
				done := false
				err := stm.Atomically(func(tx *stm.Tx) error {
					n := ticket.Get(tx)
					if n == total {
						done = true
						return nil
					}
					if s := q.invariant(tx); s != "" {
						return fmt.Errorf("before pop: %s", s)
					}
					got = pop{n, q.pop(tx)}
					ticket.Set(tx, n+1)
					return nil
				})
				if err != nil {
					bad.Do(func() { t.Error(err) })
					return
				}
				if done {
					return
				}
				pops[c] = append(pops[c], got)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := slices.Concat(pops...)
	slices.SortFunc(all, func(a, b pop) int { return a.ticket - b.ticket })
	next := make([]int, producers)
	for i, p := range all {
		if p.ticket != i {
			t.Fatalf("ticket %d at position %d: a pop was lost or duplicated", p.ticket, i)
		}
		if p.it.seq != next[p.it.producer] {
			t.Fatalf("pop %d is item %d of producer %d; expected item %d (FIFO per producer broken, or an item lost/duplicated)",
				i, p.it.seq, p.it.producer, next[p.it.producer])
		}
		next[p.it.producer]++
	}
	if len(all) != total {
		t.Fatalf("consumed %d items, produced %d", len(all), total)
	}
}

func TestQueueProducersConsumers(t *testing.T) {
	stressFIFO(t, queueSUT{tvar.NewQueue[item]()}, 4, 3, scale(3000, 300, 500))
}

func TestBoundedQueueProducersConsumers(t *testing.T) {
	for _, c := range []int{1, 3, 64} {
		t.Run(fmt.Sprintf("cap=%d", c), func(t *testing.T) {
			q, err := tvar.NewBoundedQueue[item](c)
			if err != nil {
				t.Fatal(err)
			}
			stressFIFO(t, boundedSUT{q}, 4, 3, scale(2000, 200, 300))
		})
	}
}
