package tvar

import "gostm.dev/stm"

// Queue is an unbounded transactional FIFO queue (Haskell's TQueue).
//
// It keeps two immutable lists in two Vars: producers push onto one,
// consumers pop from the other, so a Push and a Pop on a non-empty queue
// commit without conflicting. When the consumer list runs dry, the next
// Pop reverses the producer list into it (O(n) once per n elements, so
// amortised O(1)); that Pop conflicts with concurrent Pushes. Len and
// Drain read both lists and so conflict with both sides.
type Queue[T any] struct {
	f fifo[T]
}

// NewQueue returns an empty queue.
func NewQueue[T any]() *Queue[T] {
	return &Queue[T]{newFifo[T]()}
}

func (q *Queue[T]) check(op string) {
	if q == nil || q.f.front == nil {
		misuse("Queue", op)
	}
}

// Push appends v to the end of q.
func (q *Queue[T]) Push(tx *stm.Tx, v T) {
	q.check("Push")
	q.f.push(tx, v)
}

// Pop removes and returns the first element of q, blocking while q is empty.
func (q *Queue[T]) Pop(tx *stm.Tx) T {
	q.check("Pop")
	v, ok := q.f.pop(tx)
	tx.Check(ok)
	return v
}

// TryPop is Pop that returns false instead of blocking when q is empty.
func (q *Queue[T]) TryPop(tx *stm.Tx) (T, bool) {
	q.check("TryPop")
	return q.f.pop(tx)
}

// Peek returns the first element of q without removing it, blocking while
// q is empty.
func (q *Queue[T]) Peek(tx *stm.Tx) T {
	q.check("Peek")
	v, ok := q.f.peek(tx)
	tx.Check(ok)
	return v
}

// TryPeek is Peek that returns false instead of blocking when q is empty.
func (q *Queue[T]) TryPeek(tx *stm.Tx) (T, bool) {
	q.check("TryPeek")
	return q.f.peek(tx)
}

// UnGet puts v back at the front of q, so that the next Pop returns it
// (Haskell's unGetTQueue): the way to return an element popped in an
// earlier transaction that could not be handled. It never blocks, and it
// writes only the consumers' end, so it does not conflict with Pushes.
func (q *Queue[T]) UnGet(tx *stm.Tx, v T) {
	q.check("UnGet")
	q.f.unGet(tx, v)
}

// Len returns the number of elements in q.
func (q *Queue[T]) Len(tx *stm.Tx) int {
	q.check("Len")
	return q.f.len(tx)
}

// IsEmpty reports whether q has no elements.
func (q *Queue[T]) IsEmpty(tx *stm.Tx) bool {
	q.check("IsEmpty")
	return q.f.len(tx) == 0
}

// Drain removes every element of q and returns them in FIFO order (nil if
// q is empty). It never blocks.
func (q *Queue[T]) Drain(tx *stm.Tx) []T {
	q.check("Drain")
	return q.f.drain(tx)
}
