package stmtest_test

import (
	"fmt"
	"sync"
	"testing"

	"gostm.dev/stm"
	"gostm.dev/stm/stmtest"
)

// The example proposed for the README ("Proving your transactional code
// race free"), kept here so that it stays compilable and true.
func TestTransfersAreSerializable(t *testing.T) {
	rec := stmtest.NewRecorder()
	defer rec.Stop()

	// The black-box check needs every written value to be unique: keep the
	// balance in the high digits and a per-attempt serial number in the
	// low ones.
	const unit = 1_000_000
	accounts := make([]*stm.Var[int], 3)
	for i := range accounts {
		accounts[i] = stm.NewVar(100 * unit)
		stmtest.Name(rec, accounts[i], fmt.Sprintf("acct%d", i))
	}

	var wg sync.WaitGroup
	for g := range 4 {
		c := rec.Client(g) // one Client per goroutine: its log is its own
		wg.Go(func() {
			serial := g * 100_000
			for i := range 200 {
				from, to := accounts[i%3], accounts[(i+g+1)%3]
				if from == to {
					continue
				}
				err := c.Atomically(func(tx *stm.Tx) error {
					serial++ // every attempt writes new values
					from.Set(tx, (from.Get(tx)/unit-1)*unit+serial)
					to.Set(tx, (to.Get(tx)/unit+1)*unit+serial)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	rec.Stop()

	// Fails the test with an explanation such as
	//   G2: T12 < T9 because T12 read a version of acct1 that T9 overwrote ...
	// and saves the history as JSON Lines if anything is wrong.
	stmtest.Check(t, rec.History())
}
