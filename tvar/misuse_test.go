package tvar_test

import (
	"errors"
	"strings"
	"testing"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

func TestConstructorErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		bad  string
	}{
		{"NewBoundedQueue(0)", second(tvar.NewBoundedQueue[int](0)), "capacity 0"},
		{"NewBoundedQueue(-3)", second(tvar.NewBoundedQueue[int](-3)), "capacity -3"},
		{"NewSem(-1)", second(tvar.NewSem(-1)), "count -1"},
		{"NewArray(-2)", second(tvar.NewArray(-2, 0)), "length -2"},
	} {
		if !errors.Is(c.err, tvar.ErrInvalidSize) {
			t.Errorf("%s: err = %v, want one wrapping ErrInvalidSize", c.name, c.err)
		} else if !strings.Contains(c.err.Error(), c.bad) {
			t.Errorf("%s: err = %q does not name the bad value (%q)", c.name, c.err, c.bad)
		}
	}
	if _, err := tvar.NewSem(0); err != nil {
		t.Errorf("NewSem(0): %v", err)
	}
	if a, err := tvar.NewArray(0, 0); err != nil || a.Len() != 0 {
		t.Errorf("NewArray(0): %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestSemNegativeUnits(t *testing.T) {
	s, _ := tvar.NewSem(1)
	mustPanic(t, "tvar: Sem.Acquire called with n = -1; the number of units must not be negative", func() {
		atomically(func(tx *stm.Tx) { s.Acquire(tx, -1) })
	})
	mustPanic(t, "tvar: Sem.Release called with n = -2; the number of units must not be negative", func() {
		atomically(func(tx *stm.Tx) { s.Release(tx, -2) })
	})
	mustPanic(t, "tvar: Sem.TryAcquire called with n = -3; the number of units must not be negative", func() {
		atomically(func(tx *stm.Tx) { s.TryAcquire(tx, -3) })
	})
	// The panics rolled back nothing and left the semaphore usable.
	if n := stm.Eval(s.Available); n != 1 {
		t.Fatalf("Available = %d, want 1", n)
	}
}

func TestArrayIndexOutOfRange(t *testing.T) {
	a := tvar.NewArrayOf(1, 2, 3)
	mustPanic(t, "tvar: Array.Get index 3 out of range [0:3)", func() {
		atomically(func(tx *stm.Tx) { a.Get(tx, 3) })
	})
	mustPanic(t, "tvar: Array.Set index -1 out of range [0:3)", func() {
		atomically(func(tx *stm.Tx) { a.Set(tx, -1, 0) })
	})
}

// Every type's operations on a nil pointer or a zero value panic with a
// message naming the type and the operation, never a nil dereference
// inside stm.
func TestNilAndZeroReceivers(t *testing.T) {
	cases := []struct {
		want string
		f    func(tx *stm.Tx)
	}{
		{"tvar: Take called on a nil or zero *MVar (create it with NewMVar)", func(tx *stm.Tx) { (*tvar.MVar[int])(nil).Take(tx) }},
		{"tvar: Put called on a nil or zero *MVar (create it with NewMVar)", func(tx *stm.Tx) { new(tvar.MVar[int]).Put(tx, 1) }},
		{"tvar: Write called on a nil or zero *MVar (create it with NewMVar)", func(tx *stm.Tx) { (*tvar.MVar[int])(nil).Write(tx, 1) }},
		{"tvar: UnGet called on a nil or zero *Queue (create it with NewQueue)", func(tx *stm.Tx) { new(tvar.Queue[int]).UnGet(tx, 1) }},
		{"tvar: UnGet called on a nil or zero *BoundedQueue (create it with NewBoundedQueue)", func(tx *stm.Tx) { (*tvar.BoundedQueue[int])(nil).UnGet(tx, 1) }},
		{"tvar: TryUnGet called on a nil or zero *BoundedQueue (create it with NewBoundedQueue)", func(tx *stm.Tx) { new(tvar.BoundedQueue[int]).TryUnGet(tx, 1) }},
		{"tvar: Push called on a nil or zero *Queue (create it with NewQueue)", func(tx *stm.Tx) { (*tvar.Queue[int])(nil).Push(tx, 1) }},
		{"tvar: Pop called on a nil or zero *Queue (create it with NewQueue)", func(tx *stm.Tx) { new(tvar.Queue[int]).Pop(tx) }},
		{"tvar: Push called on a nil or zero *BoundedQueue (create it with NewBoundedQueue)", func(tx *stm.Tx) { (*tvar.BoundedQueue[int])(nil).Push(tx, 1) }},
		{"tvar: Len called on a nil or zero *BoundedQueue (create it with NewBoundedQueue)", func(tx *stm.Tx) { new(tvar.BoundedQueue[int]).Len(tx) }},
		{"tvar: Acquire called on a nil or zero *Sem (create it with NewSem)", func(tx *stm.Tx) { (*tvar.Sem)(nil).Acquire(tx, 1) }},
		{"tvar: Release called on a nil or zero *Sem (create it with NewSem)", func(tx *stm.Tx) { new(tvar.Sem).Release(tx, 1) }},
		{"tvar: Get called on a nil or zero *Array (create it with NewArray)", func(tx *stm.Tx) { (*tvar.Array[int])(nil).Get(tx, 0) }},
		{"tvar: Snapshot called on a nil or zero *Array (create it with NewArray)", func(tx *stm.Tx) { new(tvar.Array[int]).Snapshot(tx) }},
	}
	cases = append(cases, mapMisuseCases...)
	cases = append(cases, []struct {
		want string
		f    func(tx *stm.Tx)
	}{
		{"tvar: Write called on a nil or zero *Chan (create it with NewChan)", func(tx *stm.Tx) { (*tvar.Chan[int])(nil).Write(tx, 1) }},
		{"tvar: NewReader called on a nil or zero *Chan (create it with NewChan)", func(tx *stm.Tx) { new(tvar.Chan[int]).NewReader(tx) }},
		{"tvar: Read called on a nil or zero *Reader (create it with NewReader)", func(tx *stm.Tx) { (*tvar.Reader[int])(nil).Read(tx) }},
		{"tvar: Dup called on a nil or zero *Reader (create it with NewReader)", func(tx *stm.Tx) { new(tvar.Reader[int]).Dup(tx) }},
		{"tvar: UnGet called on a nil or zero *Reader (create it with NewReader)", func(tx *stm.Tx) { (*tvar.Reader[int])(nil).UnGet(tx, 1) }},
	}...)
	for _, c := range cases {
		mustPanic(t, c.want, func() { atomically(c.f) })
	}
	mustPanic(t, "tvar: Cap called on a nil or zero *BoundedQueue (create it with NewBoundedQueue)", func() { (*tvar.BoundedQueue[int])(nil).Cap() })
	mustPanic(t, "tvar: Len called on a nil or zero *Array (create it with NewArray)", func() { (*tvar.Array[int])(nil).Len() })
}

// A nil *Tx is stm's to report; tvar must not hide it behind its own
// nil dereference.
func TestNilTx(t *testing.T) {
	q := tvar.NewQueue[int]()
	defer func() {
		r, _ := recover().(string)
		if !strings.HasPrefix(r, "stm: nil *Tx") {
			t.Fatalf("panic %q, want stm's nil *Tx message", r)
		}
	}()
	q.Push(nil, 1)
}
