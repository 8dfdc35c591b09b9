package dstm

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fault is what faultKV does to the next commit Txn.
type fault int

const (
	noFault     fault = iota
	lostReply         // apply the commit, then report a transport error
	lostRequest       // report a transport error without sending the commit
	late              // hold the commit back (the test sends it later), report an error
	unreachable       // fail this commit and every later request
	cancelAfter       // apply the commit, then cancel the caller's context and report its error
	hang              // apply the commit, then hold the reply until the request's context ends
)

// faultKV wraps a client's KV to inject one fault into the next commit (a
// Txn whose Then branch holds the writes and the commit marker).
type faultKV struct {
	clientv3.KV
	mu     sync.Mutex
	next   fault
	down   bool
	held   clientv3.Txn // the commit held back by late
	cancel context.CancelFunc
}

func (f *faultKV) inject(x fault) {
	f.mu.Lock()
	f.next = x
	f.mu.Unlock()
}

func (f *faultKV) Txn(ctx context.Context) clientv3.Txn {
	// Without the per-request cancellation, so that a held-back commit
	// can still be sent after the call that made it has returned.
	return &faultTxn{f: f, Txn: f.KV.Txn(context.WithoutCancel(ctx)), ctx: ctx}
}

type faultTxn struct {
	clientv3.Txn
	f     *faultKV
	ctx   context.Context // the request's own
	thens int
}

func (t *faultTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *faultTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }
func (t *faultTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	t.thens = len(ops)
	t.Txn = t.Txn.Then(ops...)
	return t
}

var errInjected = status.Error(codes.Unavailable, "injected: connection lost")

func (t *faultTxn) Commit() (*clientv3.TxnResponse, error) {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errInjected
	}
	x := noFault
	if t.thens >= 2 { // writes and the marker: a commit
		x, f.next = f.next, noFault
	}
	switch x {
	case lostReply:
		if _, err := t.Txn.Commit(); err != nil {
			return nil, err
		}
		return nil, errInjected
	case lostRequest:
		return nil, errInjected
	case late:
		f.held = t.Txn
		return nil, errInjected
	case unreachable:
		f.down = true
		return nil, errInjected
	case hang:
		if _, err := t.Txn.Commit(); err != nil {
			return nil, err
		}
		<-t.ctx.Done()
		return nil, t.ctx.Err()
	case cancelAfter:
		if _, err := t.Txn.Commit(); err != nil {
			return nil, err
		}
		f.cancel()
		return nil, context.Canceled
	}
	return t.Txn.Commit()
}

// faultClient returns a Client whose etcd client injects faults.
func faultClient(t *testing.T, opts ...Option) (*Client, *faultKV, func(string) string) {
	t.Helper()
	cli, err := Dial(testCtx(t), shared.Endpoints())
	must(t, err)
	t.Cleanup(func() { cli.Close() })
	f := &faultKV{KV: cli.KV}
	cli.KV = f
	c := New(cli, opts...)
	_, key := testClient(t)
	return c, f, key
}

// incr adds 1 to v in a transaction whose hook counts its commits.
func incr(ctx context.Context, c *Client, v *Var[int], hooks *int) error {
	return Atomically(ctx, c, func(tx *Tx) error {
		v.Set(tx, v.Get(tx)+1)
		tx.AfterCommit(func() { *hooks++ })
		return nil
	})
}

func value(t *testing.T, v *Var[int]) int {
	t.Helper()
	c := New(shared.Client())
	x, err := Eval(testCtx(t), c, func(tx *Tx) int { return v.Get(tx) })
	must(t, err)
	return x
}

func TestLostReplyOfACommit(t *testing.T) {
	for _, tc := range []struct {
		name           string
		fault          fault
		resolvedCommit int64
	}{
		{"reply lost after apply", lostReply, 1},
		{"request lost before apply", lostRequest, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, key := faultClient(t)
			ctx := testCtx(t)
			v := NewVar(key("n"), 0)
			hooks := 0
			f.inject(tc.fault)
			if err := incr(ctx, c, v, &hooks); err != nil {
				t.Fatalf("Atomically returned %v for a transaction whose reply was lost: the marker should have settled it", err)
			}
			if got := value(t, v); got != 1 || hooks != 1 {
				t.Fatalf("value %d, hooks %d: want the increment applied once and its hook run once", got, hooks)
			}
			s := c.Stats()
			if s.Unknown != 1 || s.ResolvedCommit != tc.resolvedCommit || s.ResolvedCommit+s.ResolvedAbort != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestLateCommitIsFenced: a commit that reaches the server only after its
// outcome was resolved as "did not happen" must fail, or the transaction
// would take effect twice. The transaction writes w without reading it
// (its only read, r, does not change), so nothing but the fenced marker can
// stop the late commit: each attempt writes its own number, and after the
// late first attempt arrives w must still hold the second's.
func TestLateCommitIsFenced(t *testing.T) {
	c, f, key := faultClient(t)
	ctx := testCtx(t)
	r, w := NewVar(key("r"), 0), NewVar(key("w"), 0)
	attempts, hooks := 0, 0
	f.inject(late)
	must(t, Atomically(ctx, c, func(tx *Tx) error {
		attempts++
		r.Get(tx)
		w.Set(tx, attempts)
		tx.AfterCommit(func() { hooks++ })
		return nil
	}))
	f.mu.Lock()
	held := f.held
	f.mu.Unlock()
	if held == nil || attempts != 2 {
		t.Fatalf("held %v after %d attempts: the fault was not injected as planned", held, attempts)
	}
	resp, err := held.Commit()
	must(t, err)
	if resp.Succeeded {
		t.Fatal("the held-back first attempt applied after its outcome had been resolved as not committed")
	}
	if got := value(t, w); got != 2 || hooks != 1 {
		t.Fatalf("w = %d, hooks %d: want 2 (the committed attempt's write) and 1", got, hooks)
	}
}

func TestOutcomeUnknownWhenUnreachable(t *testing.T) {
	c, f, key := faultClient(t, WithResolveTimeout(200*time.Millisecond))
	ctx := testCtx(t)
	v := NewVar(key("n"), 0)
	hooks := 0
	must(t, incr(ctx, c, v, &hooks)) // warm: lease granted, snapshot path works
	f.inject(unreachable)
	err := incr(ctx, c, v, &hooks)
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Atomically returned %v, want an error wrapping ErrOutcomeUnknown", err)
	}
	t.Log(err)
	if hooks != 1 {
		t.Fatalf("%d hooks ran: none may run for an unresolved commit", hooks-1)
	}
}

// TestContextEndsDuringCommit: the caller's context ends while the commit is
// in flight and the commit did happen: the caller must be told it committed.
func TestContextEndsDuringCommit(t *testing.T) {
	c, f, key := faultClient(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	f.cancel = cancel
	v := NewVar(key("n"), 0)
	hooks := 0
	f.inject(cancelAfter)
	if err := incr(ctx, c, v, &hooks); err != nil {
		t.Fatalf("Atomically returned %v, but the transaction committed", err)
	}
	if got := value(t, v); got != 1 || hooks != 1 {
		t.Fatalf("value %d, hooks %d: want 1 and 1", got, hooks)
	}
	// And when it did not happen, the caller gets its context's error.
	ctx2, cancel2 := context.WithCancel(testCtx(t))
	cancel2()
	if err := incr(ctx2, c, v, &hooks); !errors.Is(err, context.Canceled) {
		t.Fatalf("Atomically with an ended context returned %v, want context.Canceled", err)
	}
}

// TestSpentMarkersAreDeleted: each commit deletes a few markers of earlier
// commits that are known to have applied, so a busy Client does not keep
// one live key per commit for the lease's lifetime.
func TestSpentMarkersAreDeleted(t *testing.T) {
	c, key := testClient(t, WithMarkerPrefix("test/spent-markers/"))
	ctx := testCtx(t)
	v := NewVar(key("n"), 0)
	hooks := 0
	for range 40 {
		must(t, incr(ctx, c, v, &hooks))
	}
	resp, err := shared.Client().Get(ctx, "test/spent-markers/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	must(t, err)
	if resp.Count > 2 {
		t.Fatalf("%d markers left after 40 sequential commits, want at most 2 (the latest ones)", resp.Count)
	}
	if got := value(t, v); got != 40 || hooks != 40 {
		t.Fatalf("value %d, hooks %d", got, hooks)
	}
}

// TestRequestTimeoutSettlesAHungCommit: a commit whose reply never comes
// (a member holding it for a dead leader) times out after the request bound
// and is settled through its marker, long before the caller's context ends.
func TestRequestTimeoutSettlesAHungCommit(t *testing.T) {
	c, f, key := faultClient(t, WithRequestTimeout(50*time.Millisecond))
	v := NewVar(key("n"), 0)
	hooks := 0
	f.inject(hang)
	done := make(chan error, 1)
	go func() { done <- incr(context.Background(), c, v, &hooks) }() // only the request bound can end the hang
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the hung commit was never given up on: requests are not bounded")
	}
	if got := value(t, v); got != 1 || hooks != 1 {
		t.Fatalf("value %d, hooks %d: want 1 and 1", got, hooks)
	}
	if s := c.Stats(); s.Unknown != 1 || s.ResolvedCommit != 1 {
		t.Fatalf("stats %+v: want the timed-out commit resolved as committed", s)
	}
}
