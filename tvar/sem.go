package tvar

import (
	"fmt"
	"math"

	"gostm.dev/stm"
)

// Sem is a transactional counting semaphore (Haskell's TSem): Acquire(n)
// blocks until n units are available and takes them, Release(n) returns
// them. Because Acquire is part of a transaction, a transaction that needs
// units from two semaphores takes both or neither.
type Sem struct {
	v *stm.Var[int]
}

// NewSem returns a semaphore with n units available. A negative n is an
// error wrapping ErrInvalidSize.
func NewSem(n int) (*Sem, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: NewSem count %d, must not be negative", ErrInvalidSize, n)
	}
	return &Sem{stm.NewVar(n)}, nil
}

func (s *Sem) check(op string) {
	if s == nil || s.v == nil {
		misuse("Sem", op)
	}
}

func checkUnits(op string, n int) {
	if n < 0 {
		panic(fmt.Sprintf("tvar: Sem.%s called with n = %d; the number of units must not be negative", op, n))
	}
}

// Acquire takes n units, blocking until that many are available. It
// panics if n is negative. Acquire(tx, 0) returns at once.
func (s *Sem) Acquire(tx *stm.Tx, n int) {
	s.check("Acquire")
	checkUnits("Acquire", n)
	if n == 0 {
		return
	}
	a := s.v.Get(tx)
	tx.Check(a >= n)
	s.v.Set(tx, a-n)
}

// TryAcquire is Acquire that returns false instead of blocking when fewer
// than n units are available.
func (s *Sem) TryAcquire(tx *stm.Tx, n int) bool {
	s.check("TryAcquire")
	checkUnits("TryAcquire", n)
	if n == 0 {
		return true
	}
	a := s.v.Get(tx)
	if a < n {
		return false
	}
	s.v.Set(tx, a-n)
	return true
}

// Release returns n units. It panics if n is negative or if the count
// would overflow an int.
func (s *Sem) Release(tx *stm.Tx, n int) {
	s.check("Release")
	checkUnits("Release", n)
	if n == 0 {
		return
	}
	a := s.v.Get(tx)
	if a > math.MaxInt-n {
		panic(fmt.Sprintf("tvar: Sem.Release(%d) with %d units available overflows int", n, a))
	}
	s.v.Set(tx, a+n)
}

// Available returns the number of units that can be acquired now.
func (s *Sem) Available(tx *stm.Tx) int {
	s.check("Available")
	return s.v.Get(tx)
}
