package dstm

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkStartEmbedded starts and stops the embedded member (fsync on, as
// StartEmbedded's default) and reports the median start-up time, from the
// call to a client that has had an answer.
// Run: go test -run '^$' -bench StartEmbedded -benchtime 9x ./dstm
func BenchmarkStartEmbedded(b *testing.B) {
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		e, err := StartEmbedded(context.Background(), EmbedConfig{})
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/1e6, "median-ms")
}

// BenchmarkTransfer is a two-key transfer on the shared member (fsync off):
// one linearizable read, one cached read, one Txn.
func BenchmarkTransfer(b *testing.B) {
	c, key := testClient(b)
	ctx := context.Background()
	x, y := NewVar(key("x"), 0), NewVar(key("y"), 0)
	for b.Loop() {
		if err := Atomically(ctx, c, func(tx *Tx) error {
			x.Set(tx, x.Get(tx)-1)
			y.Set(tx, y.Get(tx)+1)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
