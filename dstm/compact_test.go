package dstm

import (
	"testing"
)

// TestCompactionRestartsAndWakes: a snapshot compacted away under a running
// attempt restarts it on a fresh snapshot (it never reads a mix), and a
// Retry whose watch would start at a compacted revision wakes instead of
// hanging.
func TestCompactionRestartsAndWakes(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	cli := shared.Client()
	a, b := NewVar(key("a"), 0), NewVar(key("b"), 0)
	compact := func() {
		t.Helper()
		must(t, Atomically(ctx, New(cli), func(tx *Tx) error { a.Set(tx, a.Get(tx)+1); b.Set(tx, b.Get(tx)+1); return nil }))
		resp, err := cli.Get(ctx, key("a"))
		must(t, err)
		_, err = cli.Compact(ctx, resp.Header.Revision)
		must(t, err)
	}
	restarts := c.Stats().Restarts
	attempts := 0
	var seen [2]int
	must(t, Atomically(ctx, c, func(tx *Tx) error {
		attempts++
		x := a.Get(tx)
		if attempts == 1 {
			compact() // the snapshot of this attempt is gone: reading b must restart
		}
		seen = [2]int{x, b.Get(tx)}
		return nil
	}))
	if attempts != 2 || c.Stats().Restarts != restarts+1 || seen != [2]int{1, 1} {
		t.Fatalf("%d attempts, %d restarts, saw %v: want 2 attempts, 1 restart, a=b=1", attempts, c.Stats().Restarts-restarts, seen)
	}

	attempts = 0
	must(t, Atomically(ctx, c, func(tx *Tx) error {
		attempts++
		x := a.Get(tx)
		if attempts == 1 {
			compact() // the watch from this snapshot's revision + 1 cannot start
			tx.Retry()
		}
		tx.Check(x == 2)
		return nil
	}))
	if attempts != 2 {
		t.Fatalf("%d attempts, want 2", attempts)
	}
}
