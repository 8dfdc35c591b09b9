package stm

import "gostm.dev/stm/internal/hook"

// Test-only access to engine internals.

// WaitersOn returns how many transactions are registered to wake on v.
func WaitersOn[T any](v *Var[T]) int {
	q := v.base.waiters.Load()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ws)
}

// SetAcceptNewerReads switches the non-opacity mutation on or off.
func SetAcceptNewerReads(on bool) { setMutation(hook.AcceptNewerReads, on) }

// Debug reports whether nested transactions are detected.
func Debug() bool { return debug }

// SetOwnerChecks switches the per-operation goroutine checks on or off
// (GOSTMDEBUG=1 mode) and returns the previous setting. Call it only while
// no transaction runs.
func SetOwnerChecks(on bool) bool {
	old := debugOwner
	debugOwner = on
	if on {
		debug = true
	} else {
		debug = raceEnabled || debugEnv
	}
	return old
}

// SetSkipCommitValidation switches the lost-update mutation on or off.
func SetSkipCommitValidation(on bool) { setMutation(hook.SkipReadValidation, on) }

func setMutation(m hook.Mutation, on bool) {
	if on {
		hook.SetMutations(m)
	} else {
		hook.SetMutations(0)
	}
}
