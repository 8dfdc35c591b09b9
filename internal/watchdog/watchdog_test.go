package watchdog

import (
	"fmt"
	"testing"
	"time"
)

type recorder struct{ failed string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestWithinPassesWhenDone(t *testing.T) {
	var r recorder
	ran := false
	Within(&r, time.Minute, "quick", func() { ran = true })
	if !ran || r.failed != "" {
		t.Fatalf("ran=%v failed=%q", ran, r.failed)
	}
}

func TestWithinFailsWhenStuck(t *testing.T) {
	var r recorder
	release := make(chan struct{})
	defer close(release)
	Within(&r, time.Millisecond, "stuck", func() { <-release })
	if r.failed != "stuck did not finish within 1ms (it would hang the process)" {
		t.Fatalf("failure message %q", r.failed)
	}
}
