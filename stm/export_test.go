package stm

import (
	"reflect"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// Test-only access to engine internals.

// WaitersOn returns how many transactions are registered to wake on v.
func WaitersOn[T any](v *Var[T]) int { return waitersOn(&v.base) }

// SetSerialAfter sets the number of aborts after which a transaction runs
// irrevocably (0: every transaction does) and returns the old number.
// Call it only while no transaction runs.
func SetSerialAfter(n int) int {
	old := serialAfter
	serialAfter = n
	return old
}

// SetReexec switches GOSTMDEBUG=reexec on or off and returns the old
// setting. Call it only while no transaction runs.
func SetReexec(on bool) bool {
	old := debugReexec
	debugReexec = on
	return old
}

// ParseDebug exposes GOSTMDEBUG's parser.
var ParseDebug = parseDebug

// Unboxed reports whether a Var[T] stores its value unboxed.
func Unboxed[T any]() bool { return unboxedType(reflect.TypeFor[T]()) }

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

// SetNestedChecks switches the detection of nested transactions on or off
// and returns the previous setting, so that a test can see what a build
// without the race detector or GOSTMDEBUG does. Call it only while no
// transaction runs.
func SetNestedChecks(on bool) bool {
	old := debug
	debug = on
	return old
}

// SerialSelfWait is the panic of a body that would wait for itself.
const SerialSelfWait = serialSelfWait

// NewWaiter, Park and Signal expose the Retry waiter.
func NewWaiter() *waiter      { return newWaiter() }
func (w *waiter) Park() error { return w.park(nil, true) }
func (w *waiter) Signal()     { w.signal() }

// VarCoreOffset is the offset of a Var's untyped part.
func VarCoreOffset[T any]() uintptr {
	var v Var[T]
	return unsafe.Offsetof(v.base)
}

// StopKeepingHistory ends the period after a snapshot read during which
// commits keep the versions they replace (see history.go), so that a test
// of allocations measures the engine without snapshot readers. It reports
// false if a snapshot reader is registered now.
func StopKeepingHistory() bool {
	history.until.Store(0)
	return history.readers.Load() == 0
}

// KeepsHistory reports whether v keeps old versions now, and how many.
func KeepsHistory[T any](v *Var[T]) (bool, int) {
	p, _, m := v.base.loadWord()
	if m&histBit == 0 {
		return false, 0
	}
	n := 0
	for x := node(p).prev.Load(); x != nil; x = x.prev.Load() {
		n++
	}
	return true, n
}

// HistoryKeep returns how many versions a Var's history keeps at least.
func HistoryKeep() int { return int(history.keep.Load()) }

// MaxChain is the most versions a Var keeps for registered readers.
const MaxChain = maxChain
