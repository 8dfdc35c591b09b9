package testseed

import (
	"strings"
	"testing"
)

// fakeTB records what Get logs and whether it failed.
type fakeTB struct {
	testing.TB
	logs   []string
	failed string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Name() string                   { return "TestX" }
func (f *fakeTB) Logf(format string, a ...any)   { f.logs = append(f.logs, format) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.failed = format; panic("fatal") }

func TestGetReplaysFromEnv(t *testing.T) {
	t.Setenv("TESTSEED_X", "12345")
	f := &fakeTB{TB: t}
	if got := Get(f, "TESTSEED_X"); got != 12345 {
		t.Fatalf("Get = %d, want 12345", got)
	}
}

func TestGetFreshSeedIsLoggedWithReplayLine(t *testing.T) {
	t.Setenv("TESTSEED_X", "")
	f := &fakeTB{TB: t}
	Get(f, "TESTSEED_X")
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], "replay") {
		t.Fatalf("logs %q: want one line saying how to replay", f.logs)
	}
}

func TestGetRejectsMalformedEnv(t *testing.T) {
	t.Setenv("TESTSEED_X", "twelve")
	f := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		Get(f, "TESTSEED_X")
	}()
	if f.failed == "" {
		t.Fatal("a malformed seed was accepted")
	}
}
