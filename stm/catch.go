package stm

import "errors"

// Catch runs fn as a nested part of tx and returns its error. If fn returns
// a non-nil error, everything fn wrote in tx (Sets, Commutes, AfterCommit
// hooks) is rolled back and the transaction goes on, as after Haskell's
// catchSTM; what fn read stays read, since the outcome depended on it. If
// fn returns nil, its writes stay, as if it had been called directly.
//
// Retry inside fn (or fn returning ErrRetry) is not an error to catch: it
// retries the enclosing transaction (or OrElse alternative), as in GHC.
// Panics are not caught either: they end the whole transaction as usual.
func Catch(tx *Tx, fn func(tx *Tx) error) error {
	if fn == nil {
		panic("stm: Catch called with a nil function")
	}
	tx.checkWritable()
	cp := tx.enterBranch()
	err := fn(tx)
	if tx.state == txRetrying {
		// fn recovered our Retry panic and returned anyway: it retried.
		tx.leaveBranch(cp)
		panic(retrySignal)
	}
	if err == nil {
		tx.leaveBranch(cp)
		return nil
	}
	if errors.Is(err, ErrRetry) {
		tx.leaveBranch(cp)
		tx.Retry()
	}
	tx.rollback(cp)
	return err
}
