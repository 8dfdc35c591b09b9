package dstm

import (
	"context"
	"fmt"
	"os"
	"strings"
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
// names keys under the test's own prefix.
func testClient(t testing.TB, opts ...Option) (*Client, func(string) string) {
	t.Helper()
	c := New(shared.Client(), append(shared.Options(), opts...)...)
	t.Cleanup(func() { c.Close(context.Background()) })
	prefix := "test/" + strings.ReplaceAll(t.Name(), "/", "_") + "/"
	return c, func(k string) string { return prefix + k }
}

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
