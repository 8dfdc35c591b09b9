package dstm

import (
	"context"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	e, err := StartEmbedded(ctx, EmbedConfig{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start %v", time.Since(start))
	defer e.Close()
	c := New(e.Client(), e.Options()...)
	a, b := NewVar("a", int64(0)), NewVar("b", int64(0))
	for i := range 10 {
		err := Atomically(ctx, c, func(tx *Tx) error {
			a.Set(tx, a.Get(tx)+1)
			b.Set(tx, b.Get(tx)-1)
			return nil
		})
		if err != nil {
			t.Fatal(i, err)
		}
	}
	v, err := Eval(ctx, c, func(tx *Tx) int64 { return a.Get(tx) + b.Get(tx) })
	t.Log(v, err, c.Stats())
}
