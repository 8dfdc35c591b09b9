package dstm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReadYourWritesAndCommit(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	a := NewVar(key("a"), "unset")
	n := NewVar(key("n"), 7)
	err := Atomically(ctx, c, func(tx *Tx) error {
		if got := a.Get(tx); got != "unset" {
			t.Errorf("absent key read %q, want the zero given to NewVar", got)
		}
		a.Set(tx, "x")
		if got := a.Get(tx); got != "x" {
			t.Errorf("read after own write = %q, want x", got)
		}
		n.Modify(tx, func(v int) int { return v + 1 })
		return nil
	})
	must(t, err)
	got, err := Eval(ctx, c, func(tx *Tx) string { return fmt.Sprintf("%s %d", a.Get(tx), n.Get(tx)) })
	must(t, err)
	if got != "x 8" {
		t.Fatalf("after commit: %q, want \"x 8\"", got)
	}
	if s := c.Stats(); s.Commits != 1 || s.ReadOnly != 1 {
		t.Fatalf("stats %+v: want 1 update commit and 1 read-only commit", s)
	}
}

func TestErrorAbortsAndHooks(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	v := NewVar(key("v"), 0)
	boom := errors.New("boom")
	hooks := 0
	err := Atomically(ctx, c, func(tx *Tx) error {
		v.Set(tx, 1)
		tx.AfterCommit(func() { hooks++ })
		return boom
	})
	if !errors.Is(err, boom) || err != boom {
		t.Fatalf("Atomically returned %v, want the body's error unchanged", err)
	}
	if hooks != 0 {
		t.Fatal("a hook ran for a failed transaction")
	}
	var order []int
	must(t, Atomically(ctx, c, func(tx *Tx) error {
		order = order[:0] // a re-run must not repeat hooks
		if v.Get(tx) != 0 {
			t.Error("the failed transaction's write is visible")
		}
		v.Set(tx, 2)
		tx.AfterCommit(func() { order = append(order, 1) })
		tx.AfterCommit(func() {
			order = append(order, 2)
			if tx.CommitRevision() == 0 {
				t.Error("CommitRevision is 0 inside a hook")
			}
		})
		return nil
	}))
	if fmt.Sprint(order) != "[1 2]" {
		t.Fatalf("hooks ran as %v, want [1 2]", order)
	}
}

func TestPanicPropagates(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	v := NewVar(key("v"), 0)
	func() {
		defer func() {
			if r := recover(); r != "mine" {
				t.Fatalf("recovered %v, want the body's own panic value", r)
			}
		}()
		_ = Atomically(ctx, c, func(tx *Tx) error {
			v.Set(tx, 1)
			panic("mine")
		})
	}()
	got, err := Eval(ctx, c, func(tx *Tx) int { return v.Get(tx) })
	must(t, err)
	if got != 0 {
		t.Fatal("a panicking transaction's write committed")
	}
}

func TestMisusePanics(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	v := NewVar(key("v"), 0)
	var kept *Tx
	must(t, Atomically(ctx, c, func(tx *Tx) error { kept = tx; v.Get(tx); return nil }))
	for name, f := range map[string]func(){
		"Tx after its transaction": func() { v.Get(kept) },
		"Retry with nothing read":  func() { _ = Atomically(ctx, c, func(tx *Tx) error { tx.Retry(); return nil }) },
		"nil Var":                  func() { _ = Atomically(ctx, c, func(tx *Tx) error { (*Var[int])(nil).Get(tx); return nil }) },
		"empty key":                func() { NewVar("", 0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				t.Log(r)
			}()
			f()
		})
	}
	err := Atomically(ctx, c, func(tx *Tx) error { NewVar("dstm/markers/x", 0).Set(tx, 1); return nil })
	if err == nil || !strings.Contains(err.Error(), "commit markers") {
		t.Fatalf("writing a marker key: %v, want an error naming the markers' prefix", err)
	}
}

func TestDecodeErrorFails(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	_, err := shared.Client().Put(ctx, key("bad"), "not json")
	must(t, err)
	err = Atomically(ctx, c, func(tx *Tx) error { NewVar(key("bad"), 0).Get(tx); return nil })
	if err == nil || !strings.Contains(err.Error(), key("bad")) {
		t.Fatalf("reading a value the codec cannot decode: %v, want an error naming the key", err)
	}
}

// TestNoLostUpdates runs concurrent increments of shared counters: every
// commit must be counted exactly once.
func TestNoLostUpdates(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	x, y := NewVar(key("x"), 0), NewVar(key("y"), 0)
	const workers, each = 4, 15
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := Atomically(ctx, c, func(tx *Tx) error {
					x.Set(tx, x.Get(tx)+1)
					y.Set(tx, y.Get(tx)-1)
					return nil
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := Eval(ctx, c, func(tx *Tx) [2]int { return [2]int{x.Get(tx), y.Get(tx)} })
	must(t, err)
	if got != [2]int{workers * each, -workers * each} {
		t.Fatalf("counters %v after %d increments each", got, workers*each)
	}
	t.Logf("stats: %+v", c.Stats())
}

// TestRetryBlocksUntilChange: a withdrawal blocks while the balance is
// short, is not woken by a write to an unrelated key, and completes once a
// deposit lands.
func TestRetryBlocksUntilChange(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	bal, other := NewVar(key("bal"), 0), NewVar(key("other"), 0)
	attempts := make(chan int, 100)
	done := make(chan error, 1)
	go func() {
		n := 0
		done <- Atomically(ctx, c, func(tx *Tx) error {
			n++
			attempts <- n
			b := bal.Get(tx)
			tx.Check(b >= 10)
			bal.Set(tx, b-10)
			return nil
		})
	}()
	<-attempts // the first attempt ran and will block
	for i := range 3 {
		must(t, Atomically(ctx, c, func(tx *Tx) error { other.Set(tx, i); return nil }))
	}
	must(t, Atomically(ctx, c, func(tx *Tx) error { bal.Set(tx, bal.Get(tx)+5); return nil }))
	// 5 is still short: the withdrawal may wake once and block again.
	must(t, Atomically(ctx, c, func(tx *Tx) error { bal.Set(tx, bal.Get(tx)+5); return nil }))
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked withdrawal never completed after the deposits")
	}
	close(attempts)
	n := 0
	for range attempts {
		n++
	}
	if n > 3 {
		t.Fatalf("%d attempts: writes to an unrelated key woke the Retry", n+1)
	}
	got, err := Eval(ctx, c, func(tx *Tx) int { return bal.Get(tx) })
	must(t, err)
	if got != 0 {
		t.Fatalf("balance %d, want 0", got)
	}
}

func TestRetryCanceledByContext(t *testing.T) {
	c, key := testClient(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	v := NewVar(key("v"), 0)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Atomically(ctx, c, func(tx *Tx) error {
			tx.Check(v.Get(tx) > 0)
			return nil
		})
	}()
	go func() {
		// Cancel once the body has run once (Retry is then being set up
		// or waiting: both must end with ctx's error).
		for c.Stats().Retries == 0 {
			time.Sleep(time.Millisecond)
		}
		close(started)
		cancel()
	}()
	<-started
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Atomically returned %v, want context.Canceled", err)
	}
}

// TestOrElse: a retrying alternative's writes are discarded, the next one
// runs; when all retry, a change to a key read only by the first wakes it.
func TestOrElse(t *testing.T) {
	c, key := testClient(t)
	ctx := testCtx(t)
	a, b, log := NewVar(key("a"), 0), NewVar(key("b"), 0), NewVar(key("log"), "")
	take := func(v *Var[int], name string) func(*Tx) string {
		return func(tx *Tx) string {
			log.Set(tx, log.Get(tx)+"tried "+name+";")
			n := v.Get(tx)
			tx.Check(n > 0)
			v.Set(tx, n-1)
			return name
		}
	}
	must(t, Atomically(ctx, c, func(tx *Tx) error { b.Set(tx, 1); return nil }))
	got, err := Eval(ctx, c, func(tx *Tx) string { return OrElse(tx, take(a, "a"), take(b, "b")) })
	must(t, err)
	if got != "b" {
		t.Fatalf("OrElse took from %q, want b", got)
	}
	l, err := Eval(ctx, c, func(tx *Tx) string { return log.Get(tx) })
	must(t, err)
	if l != "tried b;" {
		t.Fatalf("log %q: the retried alternative's write survived", l)
	}

	// Both empty now: block; a deposit into a (read only by the first
	// alternative) must wake the transaction.
	done := make(chan string, 1)
	go func() {
		got, err := Eval(ctx, c, func(tx *Tx) string { return OrElse(tx, take(a, "a"), take(b, "b")) })
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	for c.Stats().Retries == 0 {
		time.Sleep(time.Millisecond)
	}
	must(t, Atomically(ctx, c, func(tx *Tx) error { a.Set(tx, 1); return nil }))
	select {
	case got := <-done:
		if got != "a" {
			t.Fatalf("woken transaction took from %q, want a", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a change to a key read by the first alternative did not wake the transaction")
	}
}

func TestPrefetchOneRevision(t *testing.T) {
	c, key := testClient(t, WithMaxTxnOps(16)) // several Txns for 50 keys
	ctx := testCtx(t)
	vars := make([]*Var[int], 50)
	keyed := make([]Keyed, len(vars))
	for i := range vars {
		vars[i] = NewVar(key(fmt.Sprint(i)), 0)
		keyed[i] = vars[i]
	}
	must(t, Atomically(ctx, c, func(tx *Tx) error {
		for i, v := range vars {
			v.Set(tx, i)
		}
		return nil
	}))
	// A writer keeps moving one unit between the first and the last Var
	// while readers prefetch and sum: every attempt must see the total.
	want := 50 * 49 / 2
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := Atomically(ctx, c, func(tx *Tx) error {
				vars[0].Set(tx, vars[0].Get(tx)-1)
				vars[49].Set(tx, vars[49].Get(tx)+1)
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 20 {
		must(t, Atomically(ctx, c, func(tx *Tx) error {
			tx.Prefetch(keyed...)
			sum := 0
			for _, v := range vars {
				sum += v.Get(tx)
			}
			if sum != want {
				t.Errorf("an attempt summed %d, want %d", sum, want)
			}
			return nil
		}))
	}
	close(stop)
	wg.Wait()
}

func TestBadConfigurationIsNamed(t *testing.T) {
	for name, f := range map[string]func(){
		"nil client":     func() { New(nil) },
		"MaxTxnOps 1":    func() { New(shared.Client(), WithMaxTxnOps(1)) },
		"short TTL":      func() { New(shared.Client(), WithMarkerTTL(time.Second)) },
		"empty prefix":   func() { New(shared.Client(), WithMarkerPrefix("")) },
		"zero backoff":   func() { New(shared.Client(), WithMaxBackoff(0)) },
		"nil codec":      func() { NewVar("k", 0, WithCodec(nil)) },
		"nil Atomically": func() { _ = Atomically(context.Background(), New(shared.Client()), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "dstm: ") {
					t.Fatalf("recovered %v, want a panic message starting with \"dstm: \"", r)
				}
			}()
			f()
		})
	}
	_, err := StartEmbedded(context.Background(), EmbedConfig{MaxTxnOps: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxTxnOps: -1") {
		t.Fatalf("StartEmbedded with MaxTxnOps -1: %v, want an error naming the field", err)
	}
	if _, err := Dial(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Fatalf("Dial with no endpoints: %v", err)
	}
}
