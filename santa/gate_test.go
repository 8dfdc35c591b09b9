package santa

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"gostm.dev/stm"
)

// Inside a synctest bubble, synctest.Wait returns only when every goroutine
// of the bubble is durably blocked, and a transaction parked in Retry is
// (it waits on a channel its own goroutine made). So "still blocked after
// Wait" means blocked for good, not "not yet scheduled": these tests need
// no timing.

// started runs f in a goroutine and returns a flag set when f returns.
func started(f func()) *atomic.Bool {
	var done atomic.Bool
	go func() {
		f()
		done.Store(true)
	}()
	return &done
}

func TestPassBlocksUntilOperate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(2)
		a, b := started(g.Pass), started(g.Pass)
		synctest.Wait()
		if a.Load() || b.Load() {
			t.Fatal("Pass returned through a closed gate")
		}
		op := started(g.Operate)
		synctest.Wait()
		if !a.Load() || !b.Load() || !op.Load() {
			t.Fatalf("after Operate: passed %v %v, operate returned %v; want all true", a.Load(), b.Load(), op.Load())
		}
		// The gate is used up: a third helper waits for the next opening.
		c := started(g.Pass)
		synctest.Wait()
		if c.Load() {
			t.Fatal("a third Pass got through a gate of 2 opened once")
		}
		op2 := started(g.Operate)
		synctest.Wait()
		if !c.Load() || op2.Load() {
			t.Fatalf("second opening: helper passed %v, operate returned %v; want true, false (one pass left)", c.Load(), op2.Load())
		}
		g.Pass()
		synctest.Wait()
		if !op2.Load() {
			t.Fatal("second Operate still blocked after its 2 passes")
		}
	})
}

func TestOperateReturnsAfterNPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(2)
		op := started(g.Operate)
		for i := range 2 {
			synctest.Wait()
			if op.Load() {
				t.Fatalf("Operate returned after %d of 2 passes", i)
			}
			g.Pass()
		}
		synctest.Wait()
		if !op.Load() {
			t.Fatal("Operate still blocked after 2 passes")
		}
	})
}

// operateOneTx is the pitfall: Operate's two transactions merged into
// one. The wait retries, which discards the opening, so no helper can ever
// pass. (It reads the gate before writing it, as Operate does to number
// the opening; without that read the engine would panic, since a Retry
// that read only its own writes has nothing to wait on.)
func operateOneTx(ctx context.Context, g *Gate) error {
	return stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		g.open(tx, g.st.Get(tx).tag+1)
		g.waitUsed(tx)
		return nil
	})
}

func TestOneTransactionOperateBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(1)
		ctx, cancel := context.WithCancel(t.Context())
		var err error
		op := started(func() { err = operateOneTx(ctx, g) })
		helper := started(func() { _ = g.PassContext(ctx) })
		synctest.Wait()
		if op.Load() || helper.Load() {
			t.Fatalf("one-transaction operate: operate returned %v, helper passed %v; want both blocked forever",
				op.Load(), helper.Load())
		}
		cancel()
		synctest.Wait()
		if err == nil {
			t.Fatal("one-transaction operate returned nil after cancel; want the context's error")
		}
	})
}

func TestFourthElfBlocksUntilReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		elves := NewGroup(3)
		for i := 1; i <= 3; i++ {
			if tk := elves.Join(); tk.Gen != 1 || tk.Slot != i {
				t.Fatalf("join %d: gen %d slot %d, want gen 1 slot %d", i, tk.Gen, tk.Slot, i)
			}
		}
		var fourth Ticket
		j := started(func() { fourth = elves.Join() })
		synctest.Wait()
		if j.Load() {
			t.Fatal("a 4th elf joined a full group of 3")
		}
		b := stm.Eval(func(tx *stm.Tx) Batch { return elves.Await(tx) })
		synctest.Wait()
		if !j.Load() {
			t.Fatal("the 4th elf is still blocked after Await reset the group")
		}
		if b.Gen != 1 || fourth.Gen != 2 || fourth.Slot != 1 {
			t.Fatalf("Await took gen %d, 4th elf got gen %d slot %d; want 1, then 2 slot 1", b.Gen, fourth.Gen, fourth.Slot)
		}
		if fourth.In == b.In || fourth.Out == b.Out {
			t.Fatal("generation 2 got generation 1's gates; each generation needs fresh ones")
		}
	})
}

// fill joins every slot of g's current generation.
func fill(g *Group) {
	for range g.Size() {
		g.Join()
	}
}

func choose(reindeer, elves *Group) (string, Batch) {
	var kind string
	var b Batch
	stm.Atomically(func(tx *stm.Tx) error {
		i, batch := Choose(tx, reindeer, elves)
		kind, b = []string{KindReindeer, KindElves}[i], batch
		return nil
	})
	return kind, b
}

func TestSantaPrefersReindeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reindeer, elves := NewGroup(9), NewGroup(3)
		fill(elves)
		fill(reindeer)
		if kind, _ := choose(reindeer, elves); kind != KindReindeer {
			t.Fatalf("both groups full: Santa chose %s, want reindeer", kind)
		}
		// The elves are still waiting, untouched by the reindeer's choice.
		if kind, b := choose(reindeer, elves); kind != KindElves || b.Gen != 1 {
			t.Fatalf("then: Santa chose %s gen %d, want elves gen 1", kind, b.Gen)
		}
	})
}

func TestSantaTakesElvesWhenOnlyTheyAreReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reindeer, elves := NewGroup(9), NewGroup(3)
		fill(elves)
		for range 8 {
			reindeer.Join() // one reindeer short
		}
		if kind, _ := choose(reindeer, elves); kind != KindElves {
			t.Fatalf("only elves full: Santa chose %s", kind)
		}
	})
}

func TestSantaBlocksUntilAGroupFills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reindeer, elves := NewGroup(9), NewGroup(3)
		elves.Join()
		elves.Join()
		var kind string
		s := started(func() { kind, _ = choose(reindeer, elves) })
		synctest.Wait()
		if s.Load() {
			t.Fatal("Santa chose with neither group full")
		}
		// The elf group is the second alternative: Santa must be waiting on
		// the union of both alternatives' reads to wake for it.
		elves.Join()
		synctest.Wait()
		if !s.Load() || kind != KindElves {
			t.Fatalf("elves filled: Santa returned %v with %q, want elves", s.Load(), kind)
		}
	})
}
