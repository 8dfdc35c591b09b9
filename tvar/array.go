package tvar

import (
	"fmt"

	"gostm.dev/stm"
)

// Array is a fixed-length array of transactional elements (Haskell's
// TArray). Each element is its own Var, so transactions that touch
// different indices never conflict.
type Array[T any] struct {
	vs []*stm.Var[T]
}

// NewArray returns an array of n elements, each set to init. A negative n
// is an error wrapping ErrInvalidSize; n == 0 gives an empty array.
func NewArray[T any](n int, init T) (*Array[T], error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: NewArray length %d, must not be negative", ErrInvalidSize, n)
	}
	a := &Array[T]{make([]*stm.Var[T], n)}
	for i := range a.vs {
		a.vs[i] = stm.NewVar(init)
	}
	return a, nil
}

// NewArrayOf returns an array holding a copy of vals.
func NewArrayOf[T any](vals ...T) *Array[T] {
	a := &Array[T]{make([]*stm.Var[T], len(vals))}
	for i, v := range vals {
		a.vs[i] = stm.NewVar(v)
	}
	return a
}

func (a *Array[T]) at(op string, i int) *stm.Var[T] {
	if a == nil || a.vs == nil {
		misuse("Array", op)
	}
	if uint(i) >= uint(len(a.vs)) {
		panic(fmt.Sprintf("tvar: Array.%s index %d out of range [0:%d)", op, i, len(a.vs)))
	}
	return a.vs[i]
}

// Len returns the number of elements, fixed at creation.
func (a *Array[T]) Len() int {
	if a == nil || a.vs == nil {
		misuse("Array", "Len")
	}
	return len(a.vs)
}

// Get returns element i. It panics if i is out of range.
func (a *Array[T]) Get(tx *stm.Tx, i int) T { return a.at("Get", i).Get(tx) }

// Set sets element i to v. It panics if i is out of range.
func (a *Array[T]) Set(tx *stm.Tx, i int, v T) { a.at("Set", i).Set(tx, v) }

// Modify replaces element i with f applied to it.
func (a *Array[T]) Modify(tx *stm.Tx, i int, f func(T) T) { a.at("Modify", i).Modify(tx, f) }

// Swap sets element i to v and returns the value it replaced.
func (a *Array[T]) Swap(tx *stm.Tx, i int, v T) T { return a.at("Swap", i).Swap(tx, v) }

// Snapshot returns a copy of every element, consistent as of tx. It reads
// every element, so it conflicts with a write to any of them.
func (a *Array[T]) Snapshot(tx *stm.Tx) []T {
	if a == nil || a.vs == nil {
		misuse("Array", "Snapshot")
	}
	s := make([]T, len(a.vs))
	for i, v := range a.vs {
		s[i] = v.Get(tx)
	}
	return s
}
