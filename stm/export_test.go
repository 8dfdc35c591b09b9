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

// Debug reports whether the goroutine-identity checks are on.
func Debug() bool { return debug }

// SetSkipCommitValidation switches the lost-update mutation on or off.
func SetSkipCommitValidation(on bool) { setMutation(hook.SkipReadValidation, on) }

func setMutation(m hook.Mutation, on bool) {
	if on {
		hook.SetMutations(m)
	} else {
		hook.SetMutations(0)
	}
}
