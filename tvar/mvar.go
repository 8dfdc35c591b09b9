package tvar

import "gostm.dev/stm"

// MVar is a transactional box that is either empty or holds one value: a
// one-slot channel whose Take and Put compose with other transactional
// operations. It is Haskell's TMVar.
type MVar[T any] struct {
	v *stm.Var[mvarState[T]]
}

type mvarState[T any] struct {
	val  T
	full bool
}

// NewMVar returns an MVar holding v.
func NewMVar[T any](v T) *MVar[T] {
	return &MVar[T]{stm.NewVar(mvarState[T]{v, true})}
}

// NewEmptyMVar returns an empty MVar.
func NewEmptyMVar[T any]() *MVar[T] {
	return &MVar[T]{stm.NewVar(mvarState[T]{})}
}

func (m *MVar[T]) check(op string) {
	if m == nil || m.v == nil {
		misuse("MVar", op)
	}
}

// Take empties m and returns its value, blocking while m is empty.
func (m *MVar[T]) Take(tx *stm.Tx) T {
	m.check("Take")
	s := m.v.Get(tx)
	tx.Check(s.full)
	m.v.Set(tx, mvarState[T]{})
	return s.val
}

// TryTake is Take that returns false instead of blocking when m is empty.
func (m *MVar[T]) TryTake(tx *stm.Tx) (T, bool) {
	m.check("TryTake")
	s := m.v.Get(tx)
	if !s.full {
		return s.val, false
	}
	m.v.Set(tx, mvarState[T]{})
	return s.val, true
}

// Put fills m with v, blocking while m is full.
func (m *MVar[T]) Put(tx *stm.Tx, v T) {
	m.check("Put")
	tx.Check(!m.v.Get(tx).full)
	m.v.Set(tx, mvarState[T]{v, true})
}

// TryPut is Put that returns false instead of blocking when m is full.
func (m *MVar[T]) TryPut(tx *stm.Tx, v T) bool {
	m.check("TryPut")
	if m.v.Get(tx).full {
		return false
	}
	m.v.Set(tx, mvarState[T]{v, true})
	return true
}

// Write puts v in m whether m is empty or full, replacing the value there
// (Haskell's writeTMVar). It never blocks and does not read m: it is the
// way to publish a latest value, such as a setting or a status, that
// readers Read and a taker may Take, where Put would wait for the old one
// to be taken. It wakes transactions blocked on an empty m.
func (m *MVar[T]) Write(tx *stm.Tx, v T) {
	m.check("Write")
	m.v.Set(tx, mvarState[T]{v, true})
}

// Read returns m's value without taking it, blocking while m is empty.
func (m *MVar[T]) Read(tx *stm.Tx) T {
	m.check("Read")
	s := m.v.Get(tx)
	tx.Check(s.full)
	return s.val
}

// TryRead is Read that returns false instead of blocking when m is empty.
func (m *MVar[T]) TryRead(tx *stm.Tx) (T, bool) {
	m.check("TryRead")
	s := m.v.Get(tx)
	return s.val, s.full
}

// Swap replaces m's value with v and returns the old one, blocking while m
// is empty (it never fills an empty MVar).
func (m *MVar[T]) Swap(tx *stm.Tx, v T) T {
	m.check("Swap")
	s := m.v.Get(tx)
	tx.Check(s.full)
	m.v.Set(tx, mvarState[T]{v, true})
	return s.val
}

// IsEmpty reports whether m is empty.
func (m *MVar[T]) IsEmpty(tx *stm.Tx) bool {
	m.check("IsEmpty")
	return !m.v.Get(tx).full
}
