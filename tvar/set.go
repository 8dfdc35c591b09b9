package tvar

import (
	"iter"

	"gostm.dev/stm"
)

// Set is a transactional set, a Map with no values: distinct elements
// commit in parallel as distinct keys of a Map do, and Len has the same
// striped, exact count.
type Set[K comparable] struct {
	m *Map[K, struct{}]
}

// NewSet returns an empty set.
func NewSet[K comparable]() *Set[K] {
	return &Set[K]{NewMap[K, struct{}]()}
}

func (s *Set[K]) check(op string) {
	if s == nil || s.m == nil {
		misuse("Set", op)
	}
}

// Add adds k and reports whether it was absent. Adding a present element
// writes nothing, so it conflicts only with a removal of the same element.
func (s *Set[K]) Add(tx *stm.Tx, k K) bool {
	s.check("Add")
	return s.m.put(tx, k, s.m.hash(k), struct{}{}, false)
}

// Remove removes k and reports whether it was present.
func (s *Set[K]) Remove(tx *stm.Tx, k K) bool {
	s.check("Remove")
	return s.m.delete(tx, k, s.m.hash(k))
}

// Contains reports whether k is in s.
func (s *Set[K]) Contains(tx *stm.Tx, k K) bool {
	s.check("Contains")
	return s.m.find(tx, k, s.m.hash(k)) != nil
}

// Len returns the number of elements in s.
func (s *Set[K]) Len(tx *stm.Tx) int {
	s.check("Len")
	return s.m.Len(tx)
}

// Range returns an iterator over the elements of s in tx, in an
// unspecified order, with Map.Range's guarantees: one consistent
// snapshot, and, if the loop body adds or removes elements, each element
// at most once, and an element only if it is present when the loop
// reaches it.
func (s *Set[K]) Range(tx *stm.Tx) iter.Seq[K] {
	s.check("Range")
	return func(yield func(K) bool) {
		for k := range s.m.Range(tx) {
			if !yield(k) {
				return
			}
		}
	}
}
