package dstm

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shared is the embedded member most tests run on (tests use keys under
// their own names, so they do not see each other's data).
var shared *Embedded

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	var err error
	shared, err = StartEmbedded(ctx, EmbedConfig{NoFsync: true})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dstm tests: starting the embedded etcd:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := shared.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "dstm tests: closing the embedded etcd:", err)
		code = 1
	}
	os.Exit(code)
}

// testClient returns a Client on the shared member and a function that
// names keys under the test's own prefix. The prefix is the test's name
// and the number of its run, so that a test run again in the same process
// (go test -count=2) starts from empty keys too; the clients of one run of
// a test share it.
func testClient(t testing.TB, opts ...Option) (*Client, func(string) string) {
	t.Helper()
	c := New(shared.Client(), append(shared.Options(), opts...)...)
	t.Cleanup(func() { c.Close(context.Background()) })
	run, _ := testRuns.LoadOrStore(t, testRunCount.Add(1))
	prefix := fmt.Sprintf("test/%s/%d/", strings.ReplaceAll(t.Name(), "/", "_"), run)
	return c, func(k string) string { return prefix + k }
}

// testRuns numbers the test runs that asked for a client.
var (
	testRuns     sync.Map // testing.TB -> uint64
	testRunCount atomic.Uint64
)

// testCtx returns a context that ends with the test or after a minute,
// so that a hang fails the test instead of the whole run.
func testCtx(t testing.TB) context.Context { return testCtxFor(t, time.Minute) }

// testCtxFor is testCtx with a limit of d.
func testCtxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// must fails t if err is not nil.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
