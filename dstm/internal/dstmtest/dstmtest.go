// Package dstmtest starts what dstm's tests need.
package dstmtest

import (
	"context"
	"testing"
	"time"

	"gostm.dev/dstm"
)

// Embedded starts an embedded etcd member without fsync for t (stopped
// when t ends) and returns it with a context that ends with t or after two
// minutes.
func Embedded(t testing.TB) (*dstm.Embedded, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e, err := dstm.StartEmbedded(ctx, dstm.EmbedConfig{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e, ctx
}
