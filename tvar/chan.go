package tvar

import "gostm.dev/stm"

// Chan is a transactional broadcast channel (Haskell's TChan): every
// Reader sees every value written after it was created, in write order,
// and blocks when it has nothing new.
//
// The channel is a linked list of Var cells. The writer end holds the
// empty cell (the hole) that the next Write fills, and each Reader holds
// its own position Var. Nothing else refers to the list, so a value that
// every Reader has passed — or that was written when there were no
// Readers — is unreachable and garbage-collected: a Chan with no Readers
// retains nothing.
//
// Writers conflict with each other (they share the write end) and with
// Readers waiting at the hole; a Reader's reads touch only its position
// and the cells it passes, so Readers never conflict with each other
// unless they share a Reader.
type Chan[T any] struct {
	write *stm.Var[*stm.Var[*chanCell[T]]] // the hole: the cell Var the next Write fills
}

// chanCell is a filled cell; an unfilled cell Var holds nil.
type chanCell[T any] struct {
	val  T
	next *stm.Var[*chanCell[T]]
}

// Reader is one subscriber's position in a Chan. Several goroutines may
// share a Reader; then each value goes to exactly one of them, like a
// queue with competing consumers.
type Reader[T any] struct {
	pos *stm.Var[*stm.Var[*chanCell[T]]] // the next cell to read
}

// NewChan returns a channel with no readers.
func NewChan[T any]() *Chan[T] {
	return &Chan[T]{stm.NewVar(stm.NewVar[*chanCell[T]](nil))}
}

func (c *Chan[T]) check(op string) {
	if c == nil || c.write == nil {
		misuse("Chan", op)
	}
}

func (r *Reader[T]) check(op string) {
	if r == nil || r.pos == nil {
		misuse("Reader", op)
	}
}

// Write appends v to c, for every current Reader. It never blocks.
func (c *Chan[T]) Write(tx *stm.Tx, v T) {
	c.check("Write")
	hole := c.write.Get(tx)
	next := stm.NewVar[*chanCell[T]](nil) // unreachable by others until tx commits
	hole.Set(tx, &chanCell[T]{v, next})
	c.write.Set(tx, next)
}

// NewReader returns a Reader that will see every value written to c after
// tx commits (Haskell's dupTChan).
func (c *Chan[T]) NewReader(tx *stm.Tx) *Reader[T] {
	c.check("NewReader")
	return &Reader[T]{stm.NewVar(c.write.Get(tx))}
}

// Dup returns a new Reader at r's current position: it will see the values
// r has yet to read, and everything written later (Haskell's cloneTChan).
func (r *Reader[T]) Dup(tx *stm.Tx) *Reader[T] {
	r.check("Dup")
	return &Reader[T]{stm.NewVar(r.pos.Get(tx))}
}

// next returns the cell at r's position, or nil if r has read everything.
func (r *Reader[T]) next(tx *stm.Tx) *chanCell[T] {
	return r.pos.Get(tx).Get(tx)
}

// Read returns the next value for r, blocking until there is one.
func (r *Reader[T]) Read(tx *stm.Tx) T {
	r.check("Read")
	c := r.next(tx)
	tx.Check(c != nil)
	r.pos.Set(tx, c.next)
	return c.val
}

// TryRead is Read that returns false instead of blocking.
func (r *Reader[T]) TryRead(tx *stm.Tx) (T, bool) {
	r.check("TryRead")
	c := r.next(tx)
	if c == nil {
		var zero T
		return zero, false
	}
	r.pos.Set(tx, c.next)
	return c.val, true
}

// Peek returns the next value for r without consuming it, blocking until
// there is one.
func (r *Reader[T]) Peek(tx *stm.Tx) T {
	r.check("Peek")
	c := r.next(tx)
	tx.Check(c != nil)
	return c.val
}

// TryPeek is Peek that returns false instead of blocking.
func (r *Reader[T]) TryPeek(tx *stm.Tx) (T, bool) {
	r.check("TryPeek")
	if c := r.next(tx); c != nil {
		return c.val, true
	}
	var zero T
	return zero, false
}

// UnGet puts v back in front of r, so that r's next Read returns it
// (Haskell's unGetTChan). Only r sees it: it goes into a cell of r's own,
// linked ahead of r's position, so other Readers of the Chan, including
// Dups made from r before, never see it, and a Dup made from r afterwards
// does. Goroutines sharing r compete for it like for any value. It never
// blocks.
func (r *Reader[T]) UnGet(tx *stm.Tx, v T) {
	r.check("UnGet")
	cell := stm.NewVar(&chanCell[T]{v, r.pos.Get(tx)}) // unreachable by others until tx commits
	r.pos.Set(tx, cell)
}

// IsEmpty reports whether r has read every value written so far.
func (r *Reader[T]) IsEmpty(tx *stm.Tx) bool {
	r.check("IsEmpty")
	return r.next(tx) == nil
}
