package tvar

import (
	"fmt"

	"gostm.dev/stm"
)

// BoundedQueue is a transactional FIFO queue with a fixed capacity
// (Haskell's TBQueue): Push blocks while it is full, Pop while it is empty.
//
// Besides the two lists of Queue, the free slots are split between two
// counters: budget, which only producers decrement, and freed, which only
// consumers increment. A producer takes over freed only when budget is
// spent, so while the queue is neither empty nor full a Push and a Pop
// touch disjoint Vars and commit in parallel.
type BoundedQueue[T any] struct {
	f      fifo[T]
	budget *stm.Var[int] // free slots producers may use without looking at freed
	freed  *stm.Var[int] // slots freed by consumers since producers last collected them
	cap    int
}

// NewBoundedQueue returns an empty queue holding at most capacity
// elements. A capacity below 1 is an error wrapping ErrInvalidSize.
func NewBoundedQueue[T any](capacity int) (*BoundedQueue[T], error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("%w: NewBoundedQueue capacity %d, must be at least 1", ErrInvalidSize, capacity)
	}
	return &BoundedQueue[T]{
		f:      newFifo[T](),
		budget: stm.NewVar(capacity),
		freed:  stm.NewVar(0),
		cap:    capacity,
	}, nil
}

func (q *BoundedQueue[T]) check(op string) {
	if q == nil || q.budget == nil {
		misuse("BoundedQueue", op)
	}
}

// reserve takes one free slot, reporting false if there is none.
func (q *BoundedQueue[T]) reserve(tx *stm.Tx) bool {
	b := q.budget.Get(tx)
	if b == 0 {
		b = q.freed.Get(tx)
		if b == 0 {
			return false
		}
		q.freed.Set(tx, 0)
	}
	q.budget.Set(tx, b-1)
	return true
}

// reclaim takes one free slot for an element put back at the front,
// reporting false if there is none. Unlike reserve it takes the slots
// consumers freed first, so that an element popped and put back touches
// only the consumers' Vars (front and freed) while there are any.
func (q *BoundedQueue[T]) reclaim(tx *stm.Tx) bool {
	if f := q.freed.Get(tx); f > 0 {
		q.freed.Set(tx, f-1)
		return true
	}
	b := q.budget.Get(tx)
	if b == 0 {
		return false
	}
	q.budget.Set(tx, b-1)
	return true
}

// Push appends v to the end of q, blocking while q is full.
func (q *BoundedQueue[T]) Push(tx *stm.Tx, v T) {
	q.check("Push")
	tx.Check(q.reserve(tx))
	q.f.push(tx, v)
}

// TryPush is Push that returns false instead of blocking when q is full.
func (q *BoundedQueue[T]) TryPush(tx *stm.Tx, v T) bool {
	q.check("TryPush")
	if !q.reserve(tx) {
		return false
	}
	q.f.push(tx, v)
	return true
}

// Pop removes and returns the first element of q, blocking while q is empty.
func (q *BoundedQueue[T]) Pop(tx *stm.Tx) T {
	q.check("Pop")
	v, ok := q.f.pop(tx)
	tx.Check(ok)
	q.freed.Set(tx, q.freed.Get(tx)+1)
	return v
}

// TryPop is Pop that returns false instead of blocking when q is empty.
func (q *BoundedQueue[T]) TryPop(tx *stm.Tx) (T, bool) {
	q.check("TryPop")
	v, ok := q.f.pop(tx)
	if ok {
		q.freed.Set(tx, q.freed.Get(tx)+1)
	}
	return v, ok
}

// Peek returns the first element of q without removing it, blocking while
// q is empty.
func (q *BoundedQueue[T]) Peek(tx *stm.Tx) T {
	q.check("Peek")
	v, ok := q.f.peek(tx)
	tx.Check(ok)
	return v
}

// TryPeek is Peek that returns false instead of blocking when q is empty.
func (q *BoundedQueue[T]) TryPeek(tx *stm.Tx) (T, bool) {
	q.check("TryPeek")
	return q.f.peek(tx)
}

// UnGet puts v back at the front of q, so that the next Pop returns it,
// blocking while q is full (Haskell's unGetTBQueue, which retries when
// full too): an element put back takes a slot like any other, so the
// queue never holds more than Cap. An element popped earlier in the same
// transaction has freed a slot, so Pop then UnGet never blocks.
func (q *BoundedQueue[T]) UnGet(tx *stm.Tx, v T) {
	q.check("UnGet")
	tx.Check(q.reclaim(tx))
	q.f.unGet(tx, v)
}

// TryUnGet is UnGet that returns false instead of blocking when q is full.
func (q *BoundedQueue[T]) TryUnGet(tx *stm.Tx, v T) bool {
	q.check("TryUnGet")
	if !q.reclaim(tx) {
		return false
	}
	q.f.unGet(tx, v)
	return true
}

// Drain removes every element of q and returns them in FIFO order (nil if
// q is empty). It never blocks.
func (q *BoundedQueue[T]) Drain(tx *stm.Tx) []T {
	q.check("Drain")
	s := q.f.drain(tx)
	if len(s) > 0 {
		q.freed.Set(tx, q.freed.Get(tx)+len(s))
	}
	return s
}

// Len returns the number of elements in q. It reads both slot counters,
// not the lists, so it conflicts only with Pushes and Pops that change them.
func (q *BoundedQueue[T]) Len(tx *stm.Tx) int {
	q.check("Len")
	return q.cap - q.budget.Get(tx) - q.freed.Get(tx)
}

// Cap returns the capacity q was created with.
func (q *BoundedQueue[T]) Cap() int {
	q.check("Cap")
	return q.cap
}

// IsFull reports whether q holds Cap elements.
func (q *BoundedQueue[T]) IsFull(tx *stm.Tx) bool {
	q.check("IsFull")
	return q.budget.Get(tx) == 0 && q.freed.Get(tx) == 0
}

// IsEmpty reports whether q has no elements.
func (q *BoundedQueue[T]) IsEmpty(tx *stm.Tx) bool {
	q.check("IsEmpty")
	return q.f.len(tx) == 0
}
