// Package watchdog fails a test whose code hangs, instead of letting the
// test binary hang until its timeout: a watchdog, not a timing assumption.
package watchdog

import "time"

// T is the part of testing.TB that Within needs.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Within runs f in a goroutine and fails t (from the calling goroutine) if
// f has not returned within d. what names f in the failure.
func Within(t T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v (it would hang the process)", what, d)
	}
}
