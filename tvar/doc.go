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
// Operations named after a blocking action (Take, Put, Pop, Push and UnGet
// on a full BoundedQueue, Acquire, Read) call tx.Retry when they cannot
// proceed: the whole transaction waits until one of the Vars it read
// changes, then runs again. Their Try variants return false instead, and
// any blocking operation can be turned into a choice with stm.OrElse.
//
// The operations follow Haskell's stm package, including the ones that
// are easy to miss: MVar.Write replaces an MVar's content whether or not
// it is full and never blocks (writeTMVar), and UnGet puts an element
// back at the front of a Queue, a BoundedQueue or one Reader of a Chan
// (unGetTQueue, unGetTBQueue, unGetTChan), for a consumer that took an
// element in an earlier transaction and cannot handle it.
//
// A Map or Set may be changed inside a Range loop over it, in the same
// transaction, with the exact rules Map.Range gives: a key deleted before
// the loop reaches it is not visited, and every value visited is the
// current one.
//
// The types are built only on stm's public API. Each is laid out so that
// operations that need not conflict touch different Vars: a Queue's
// producers and consumers use different ends, a Map's distinct keys live
// in different trie nodes and entries and update its size with blind
// stm.Add, an Array's elements are separate Vars. Values are stored as given; as with stm.Var, mutating a stored
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
