// Package tvar provides transactional data types — MVar, Queue,
// BoundedQueue, Chan, Sem, Array, Map and Set — that compose with each other
// and with any other gostm.dev/stm Var inside one atomic transaction.
//
// Every operation takes the *stm.Tx of the transaction it belongs to, so a
// caller can, for example, pop from one queue and push onto another, or
// take k items or none, atomically:
//
//	err := stm.Atomically(func(tx *stm.Tx) error {
//		v := from.Pop(tx) // blocks (Retry) while from is empty
//		to.Push(tx, v)
//		return nil
//	})
//
// Operations named after a blocking action (Take, Put, Pop, Push on a full
// BoundedQueue, Acquire, Read) call tx.Retry when they cannot proceed: the
// whole transaction waits until one of the Vars it read changes, then runs
// again. Their Try variants return false instead, and any blocking
// operation can be turned into a choice with stm.OrElse.
//
// The types are built only on stm's public API. Each is laid out so that
// operations that need not conflict touch different Vars: a Queue's
// producers and consumers use different ends, a Map's distinct keys live
// in different trie nodes and entries, an Array's elements are separate
// Vars. Values are stored as given; as with stm.Var, mutating a stored
// value in place (a slice's elements, a pointer's target) is invisible to
// the engine, so store values that are not shared or not mutated.
//
// Every type must be created with its constructor; a nil or zero value
// panics with a message naming the type and the operation. Constructors
// whose size argument can be invalid return an error wrapping
// ErrInvalidSize that names the bad value.
package tvar

import "errors"

// ErrInvalidSize is wrapped by the errors that constructors return for a
// capacity, length or count out of range.
var ErrInvalidSize = errors.New("tvar: invalid size")

// misuse panics for an operation on a nil or zero (not constructed) value.
func misuse(typ, op string) {
	panic("tvar: " + op + " called on a nil or zero *" + typ + " (create it with New" + typ + ")")
}
