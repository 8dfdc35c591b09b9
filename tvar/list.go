package tvar

import "gostm.dev/stm"

// list is an immutable singly linked list with its length: the value the
// two ends of a Queue hold. Cells are never changed once published, so a
// list can be shared between the committed state and any number of
// transaction attempts.
type list[T any] struct {
	head *cell[T]
	n    int
}

type cell[T any] struct {
	val  T
	next *cell[T]
}

func (l list[T]) push(v T) list[T] { return list[T]{&cell[T]{v, l.head}, l.n + 1} }

// reverse returns l's elements in the opposite order. It is the O(n) step
// that makes a two-list queue amortised O(1): each element is reversed at
// most once, when the consumer end runs dry.
func (l list[T]) reverse() list[T] {
	var r *cell[T]
	for c := l.head; c != nil; c = c.next {
		r = &cell[T]{c.val, r}
	}
	return list[T]{r, l.n}
}

// appendTo appends l's elements, head first, to s.
func (l list[T]) appendTo(s []T) []T {
	for c := l.head; c != nil; c = c.next {
		s = append(s, c.val)
	}
	return s
}

// fifo is the state shared by Queue and BoundedQueue: two lists, so that
// producers (who write back) and consumers (who write front) touch
// different Vars, and meet only when front runs dry and the consumer takes
// over back's elements.
type fifo[T any] struct {
	front *stm.Var[list[T]] // the next element to pop first
	back  *stm.Var[list[T]] // the newest element first
}

func newFifo[T any]() fifo[T] {
	return fifo[T]{stm.NewVar(list[T]{}), stm.NewVar(list[T]{})}
}

func (f fifo[T]) push(tx *stm.Tx, v T) {
	f.back.Set(tx, f.back.Get(tx).push(v))
}

// ready returns the front list, first moving back's elements there if
// front is empty; it is empty only if the queue is.
func (f fifo[T]) ready(tx *stm.Tx) list[T] {
	l := f.front.Get(tx)
	if l.n > 0 {
		return l
	}
	b := f.back.Get(tx)
	if b.n == 0 {
		return l
	}
	l = b.reverse()
	f.back.Set(tx, list[T]{})
	f.front.Set(tx, l)
	return l
}

func (f fifo[T]) pop(tx *stm.Tx) (v T, ok bool) {
	l := f.ready(tx)
	if l.n == 0 {
		return v, false
	}
	f.front.Set(tx, list[T]{l.head.next, l.n - 1})
	return l.head.val, true
}

func (f fifo[T]) peek(tx *stm.Tx) (v T, ok bool) {
	l := f.ready(tx)
	if l.n == 0 {
		return v, false
	}
	return l.head.val, true
}

// unGet puts v before every other element. It writes only front, the
// consumers' end, so it never conflicts with a push.
func (f fifo[T]) unGet(tx *stm.Tx, v T) {
	f.front.Set(tx, f.front.Get(tx).push(v))
}

func (f fifo[T]) len(tx *stm.Tx) int { return f.front.Get(tx).n + f.back.Get(tx).n }

func (f fifo[T]) drain(tx *stm.Tx) []T {
	l, b := f.front.Get(tx), f.back.Get(tx)
	if l.n+b.n == 0 {
		return nil
	}
	s := make([]T, 0, l.n+b.n)
	s = l.appendTo(s)
	s = b.reverse().appendTo(s)
	if l.n > 0 {
		f.front.Set(tx, list[T]{})
	}
	if b.n > 0 {
		f.back.Set(tx, list[T]{})
	}
	return s
}
