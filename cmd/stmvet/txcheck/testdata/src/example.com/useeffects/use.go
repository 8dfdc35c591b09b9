// Package useeffects calls, in bodies, functions of another package whose
// effects it knows only from facts.
package useeffects

import (
	"example.com/effects"

	"gostm.dev/stm"
)

func use(c *effects.Counter) error {
	return stm.Atomically(func(tx *stm.Tx) error {
		effects.Transfer()             // want `effects.Transfer uses Vars outside this transaction \(effects.Transfer → effects.move → stm.Atomically\)`
		effects.Report()               // want `effects.Report uses Vars outside this transaction`
		c.Reset()                      // want `effects.Counter.Reset uses Vars outside this transaction \(effects.Counter.Reset → stm.Var.Store\)`
		effects.Spawn(func(int) {}, 1) // want `effects.Spawn has side effects \(effects.Spawn → go statement\).*tx.AfterCommit`
		effects.Locked()               // a lock inside another package is its business
		_ = effects.Pure(2)
		c.Add(tx, 1)
		effects.Later(tx)
		return nil
	})
}
