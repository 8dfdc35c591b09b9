// Package stm is a stub of gostm.dev/stm for the analyzer's tests: the
// signatures of its API and no engine.
package stm

import (
	"context"
	"errors"
)

var ErrRetry = errors.New("stm: retry")

type Tx struct{}

type Var[T any] struct{ v T }

func NewVar[T any](v T) *Var[T]               { return &Var[T]{v} }
func (v *Var[T]) Get(tx *Tx) T                { return v.v }
func (v *Var[T]) Set(tx *Tx, x T)             { v.v = x }
func (v *Var[T]) Modify(tx *Tx, f func(T) T)  { v.v = f(v.v) }
func (v *Var[T]) Swap(tx *Tx, x T) T          { old := v.v; v.v = x; return old }
func (v *Var[T]) Load() T                     { return v.v }
func (v *Var[T]) Store(x T)                   { v.v = x }
func (v *Var[T]) Commute(tx *Tx, f func(T) T) { v.v = f(v.v) }

type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

func Add[T Integer](tx *Tx, v *Var[T], delta T) { v.v += delta }

func Atomically(fn func(tx *Tx) error) error                             { return fn(&Tx{}) }
func AtomicallyContext(ctx context.Context, fn func(tx *Tx) error) error { return fn(&Tx{}) }
func Eval[T any](fn func(tx *Tx) T) T                                    { return fn(&Tx{}) }
func View[T any](fn func(tx *Tx) T) T                                    { return fn(&Tx{}) }

func (tx *Tx) Retry()               {}
func (tx *Tx) Check(ok bool)        {}
func (tx *Tx) AfterCommit(f func()) {}

func OrElse[T any](tx *Tx, first func(*Tx) T, others ...func(*Tx) T) T { return first(tx) }
func Catch(tx *Tx, fn func(tx *Tx) error) error                        { return fn(tx) }
