package stmtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm"
	"gostm.dev/stm/internal/hook"
)

// A Recorder records the transactions run through its Clients as a
// History. Create it with NewRecorder, run every transaction on the Vars
// under test through Recorder.Atomically or a Client, then call Stop and
// History.
//
// The engine reports to one process-wide observer; any number of Recorders
// may be active at once, and transactions not run through a Recorder are
// ignored. Writes made outside a recorded transaction (Var.Store, or a
// plain stm.Atomically) are invisible to the history and make the checkers
// report reads of unknown versions or values: route every write through
// the Recorder.
type Recorder struct {
	clock atomic.Uint64 // the logical clock behind every tick
	vars  sync.Map      // unsafe.Pointer (the Var's core) -> *varInfo
	nvars atomic.Int64

	mu      sync.Mutex // guards clients and names; not on the per-operation path
	clients []*Client
	names   map[*varInfo]string
	stopped bool

	// notify, if set, gets a token (without blocking) whenever a client
	// blocks in Retry; the workload runner's stall watchdog listens to it.
	notify chan struct{}
	// stateMu, used only with notify, lets the watchdog see every client's
	// state at one instant: changes take it shared (they do not exclude
	// each other), the watchdog exclusively.
	stateMu sync.RWMutex
}

// varInfo is what the recorder knows about one Var.
type varInfo struct {
	id int
	// latest is the highest version a recorded commit gave the Var, so the
	// stall watchdog can tell whether a blocked transaction's reads are stale.
	latest atomic.Uint64
}

// A Client runs recorded transactions for one goroutine: its log is its
// own, so recording takes no lock shared with other goroutines. A Client
// must not be used by two goroutines at once.
type Client struct {
	rec    *Recorder
	id     int
	naming string // non-empty for the internal client behind Name

	txns   []*txnBuf
	att    *attemptBuf // the attempt running now
	lastTx *stm.Tx

	state   atomic.Int32               // clientIdle, clientRunning or clientBlocked
	blocked atomic.Pointer[[]readMark] // the reads of the attempt that blocked in Retry
}

const (
	clientIdle int32 = iota
	clientRunning
	clientBlocked
)

type readMark struct {
	v   *varInfo
	ver uint64
}

type txnBuf struct {
	client           int
	view             bool
	invoke, complete uint64
	outcome          Outcome
	err              string
	attempts         []*attemptBuf
}

type attemptBuf struct {
	start, end uint64
	outcome    AttemptOutcome
	rv, wv     uint64
	ops        []opBuf
}

type opBuf struct {
	kind  OpKind
	v     *varInfo
	value any
	old   any // Commuted only
	ver   uint64
	own   bool
	keep  int
}

// active maps each running recorded attempt's *stm.Tx to its Client. An
// entry lives from the body's entry to the engine's commit or end event
// for that attempt, so a pooled Tx reused by an unrecorded transaction
// afterwards is never mistaken for ours.
var active sync.Map

// installMu guards installed, the number of Recorders not yet stopped.
var (
	installMu sync.Mutex
	installed int
	previous  hook.Observer
)

// NewRecorder returns a Recorder and installs the engine observer that
// feeds it. Call Stop when done (defer rec.Stop()).
func NewRecorder() *Recorder {
	installMu.Lock()
	defer installMu.Unlock()
	if installed == 0 {
		previous = hook.SetObserver(dispatcher{})
	}
	installed++
	return &Recorder{names: map[*varInfo]string{}}
}

// Stop ends recording; the observer is removed when the last active
// Recorder stops. Stop is idempotent. Transactions must have finished.
func (r *Recorder) Stop() {
	r.mu.Lock()
	was := r.stopped
	r.stopped = true
	r.mu.Unlock()
	if was {
		return
	}
	installMu.Lock()
	defer installMu.Unlock()
	installed--
	if installed == 0 {
		hook.SetObserver(previous)
		previous = nil
	}
}

func (r *Recorder) tick() uint64 { return r.clock.Add(1) }

// Client returns the client for goroutine number i (i >= 0), creating it
// on first use. Give each goroutine its own number.
func (r *Recorder) Client(i int) *Client {
	if i < 0 {
		panic("stmtest: negative client number")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.clients) <= i {
		r.clients = append(r.clients, nil)
	}
	if r.clients[i] == nil {
		r.clients[i] = &Client{rec: r, id: i}
	}
	return r.clients[i]
}

// Atomically runs fn as a recorded transaction of goroutine number g: it
// is r.Client(g).Atomically(fn). Hot loops should keep the Client instead.
func (r *Recorder) Atomically(g int, fn func(tx *stm.Tx) error) error {
	return r.Client(g).Atomically(fn)
}

// Name gives v a name for reports and histories. Call it before running
// transactions on v, outside any transaction, while r is recording.
func Name[T any](r *Recorder, v *stm.Var[T], name string) {
	// The observer identifies a Var by the address the engine reports, so
	// learn it the same way: a recorded read-only transaction reading v.
	c := &Client{rec: r, id: -1, naming: name}
	_ = stm.Atomically(func(tx *stm.Tx) error {
		active.Store(tx, c)
		v.Get(tx)
		return nil
	})
}

// Atomically is stm.Atomically, recorded.
func (c *Client) Atomically(fn func(tx *stm.Tx) error) error {
	//lint:ignore SA1012 nil means no context: run calls stm.Atomically
	return c.run(nil, fn, false)
}

// View is stm.View, recorded: fn runs as a declared read-only transaction
// on one snapshot, and the Txn is marked View. fn returns nothing, since a
// method cannot be generic: let it store its result in a variable of the
// caller's.
func (c *Client) View(fn func(tx *stm.Tx)) {
	if fn == nil {
		panic("stmtest: View called with a nil function")
	}
	//lint:ignore SA1012 nil means no context: a View never blocks
	_ = c.run(nil, func(tx *stm.Tx) error { fn(tx); return nil }, true)
}

// AtomicallyContext is stm.AtomicallyContext, recorded. A transaction whose
// context ends while it is blocked in Retry is recorded as Canceled.
func (c *Client) AtomicallyContext(ctx context.Context, fn func(tx *stm.Tx) error) error {
	if ctx == nil {
		panic("stmtest: AtomicallyContext called with a nil Context")
	}
	return c.run(ctx, fn, false)
}

// run runs fn as a recorded transaction: with stm.View if view is set,
// else with stm.Atomically or, given ctx, stm.AtomicallyContext.
func (c *Client) run(ctx context.Context, fn func(tx *stm.Tx) error, view bool) (err error) {
	if fn == nil {
		panic("stmtest: Atomically called with a nil function")
	}
	r := c.rec
	t := &txnBuf{client: c.id, view: view, invoke: r.tick()}
	c.txns = append(c.txns, t)
	body := func(tx *stm.Tx) error {
		a := &attemptBuf{start: r.tick()}
		t.attempts = append(t.attempts, a)
		c.att = a
		c.lastTx = tx                  //stmvet:ignore the recorder observes every attempt by design: it matches the Tx in the engine's events
		c.setState(clientRunning, nil) //stmvet:ignore the recorder's own state, not the transaction's: it must change on every attempt
		active.Store(tx, c)
		return fn(tx)
	}
	returned := false
	defer func() {
		c.setState(clientIdle, nil)
		if a := c.att; a != nil && a.outcome == "" {
			// No end event (the body called runtime.Goexit): drop our entry
			// so that the Tx, back in the pool, is not attributed to us.
			a.outcome, a.end = AttemptUnknown, r.tick()
			active.CompareAndDelete(c.lastTx, c)
		}
		c.att = nil
		t.complete = r.tick()
		if returned {
			return
		}
		p := recover()
		t.outcome, t.err = Panicked, fmt.Sprint(p)
		if p != nil {
			panic(p)
		}
	}()
	switch {
	case view:
		// body returns nil: the error result only fits Atomically's shape.
		stm.View(func(tx *stm.Tx) struct{} { _ = body(tx); return struct{}{} })
	case ctx == nil:
		err = stm.Atomically(body)
	default:
		err = stm.AtomicallyContext(ctx, body)
	}
	returned = true
	switch {
	case err == nil:
		t.outcome = Committed
	case ctx != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) &&
		(len(t.attempts) == 0 || t.attempts[len(t.attempts)-1].outcome == AttemptRetry):
		t.outcome, t.err = Canceled, err.Error()
	default:
		t.outcome, t.err = Failed, err.Error()
	}
	return err
}

// setState records what c is doing, for the stall watchdog.
func (c *Client) setState(s int32, blocked *[]readMark) {
	if c.rec.notify == nil {
		c.state.Store(s)
		return
	}
	c.rec.stateMu.RLock()
	if blocked != nil {
		c.blocked.Store(blocked)
	}
	c.state.Store(s)
	c.rec.stateMu.RUnlock()
}

// varOf returns the recorder's entry for the Var whose core is at p.
func (r *Recorder) varOf(p unsafe.Pointer) *varInfo {
	if v, ok := r.vars.Load(p); ok {
		return v.(*varInfo)
	}
	vi := &varInfo{id: int(r.nvars.Add(1))}
	v, _ := r.vars.LoadOrStore(p, vi)
	return v.(*varInfo)
}

// dispatcher is the one observer installed in the engine; it hands each
// event to the Client whose attempt it belongs to.
type dispatcher struct{}

func clientOf(tx any) *Client {
	if c, ok := active.Load(tx); ok {
		return c.(*Client)
	}
	return nil
}

func (dispatcher) Read(tx any, v unsafe.Pointer, version uint64, own bool, value any) {
	c := clientOf(tx)
	if c == nil {
		return
	}
	vi := c.rec.varOf(v)
	if c.naming != "" {
		c.rec.mu.Lock()
		c.rec.names[vi] = c.naming
		c.rec.mu.Unlock()
		return
	}
	c.att.ops = append(c.att.ops, opBuf{kind: Read, v: vi, value: value, ver: version, own: own})
}

func (dispatcher) Write(tx any, v unsafe.Pointer, value any) {
	if c := clientOf(tx); c != nil && c.att != nil {
		c.att.ops = append(c.att.ops, opBuf{kind: Write, v: c.rec.varOf(v), value: value})
	}
}

// Commuted records the commit's application of a Var's pending commutes
// as one operation: a read of old at version and a write of new, both at
// the commit's point in the serial order (see the Commuted OpKind).
func (dispatcher) Commuted(tx any, v unsafe.Pointer, version uint64, old, new any) {
	if c := clientOf(tx); c != nil && c.att != nil {
		c.att.ops = append(c.att.ops, opBuf{kind: Commuted, v: c.rec.varOf(v), value: new, old: old, ver: version})
	}
}

func (dispatcher) Rollback(tx any, keep int) {
	if c := clientOf(tx); c != nil && c.att != nil {
		c.att.ops = append(c.att.ops, opBuf{kind: Rollback, keep: keep})
	}
}

func (dispatcher) Commit(tx any, rv, wv uint64) {
	c := clientOf(tx)
	if c == nil {
		return
	}
	active.Delete(tx)
	a := c.att
	if a == nil {
		return
	}
	a.outcome, a.rv, a.wv, a.end = AttemptCommit, rv, wv, c.rec.tick()
	if wv == 0 {
		return
	}
	for _, i := range a.liveWrites() {
		l := &a.ops[i].v.latest
		for {
			old := l.Load()
			if old >= wv || l.CompareAndSwap(old, wv) {
				break
			}
		}
	}
}

func (dispatcher) End(tx any, how string) {
	c := clientOf(tx)
	if c == nil {
		return
	}
	active.Delete(tx)
	a := c.att
	if a == nil {
		return
	}
	a.outcome, a.end = AttemptOutcome(how), c.rec.tick()
	if a.outcome != AttemptRetry {
		return
	}
	var reads []readMark
	for _, op := range a.ops {
		if op.kind == Read && !op.own {
			reads = append(reads, readMark{op.v, op.ver})
		}
	}
	c.setState(clientBlocked, &reads)
	if n := c.rec.notify; n != nil {
		select {
		case n <- struct{}{}:
		default:
		}
	}
}

func (a *attemptBuf) liveWrites() []int {
	var o ownWrites
	for i, op := range a.ops {
		o.apply(i, Op{Kind: op.kind, Keep: op.keep}) // values do not matter here
	}
	ws := make([]int, len(o.live))
	for i, w := range o.live {
		ws[i] = w.op
	}
	return ws
}

// History merges the clients' logs into one History, transactions in
// order of invocation. Call it once the recorded transactions have
// finished (after Stop, or after joining the goroutines).
func (r *Recorder) History() *History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &History{Versioned: true}
	r.vars.Range(func(_, v any) bool {
		vi := v.(*varInfo)
		h.Vars = append(h.Vars, VarInfo{ID: vi.id, Name: r.names[vi]})
		return true
	})
	slices.SortFunc(h.Vars, func(a, b VarInfo) int { return cmp.Compare(a.ID, b.ID) })
	var bufs []*txnBuf
	for _, c := range r.clients {
		if c != nil {
			bufs = append(bufs, c.txns...)
		}
	}
	slices.SortFunc(bufs, func(a, b *txnBuf) int { return cmp.Compare(a.invoke, b.invoke) })
	for i, t := range bufs {
		txn := Txn{ID: i + 1, Client: t.client, Invoke: t.invoke, Complete: t.complete, Outcome: t.outcome, Err: t.err, View: t.view}
		for _, a := range t.attempts {
			at := Attempt{Start: a.start, End: a.end, Outcome: a.outcome, RV: a.rv, WV: a.wv, Ops: make([]Op, len(a.ops))}
			if at.Outcome == "" {
				at.Outcome = AttemptUnknown
			}
			for j, op := range a.ops {
				o := Op{Kind: op.kind, Version: op.ver, Own: op.own, Keep: op.keep}
				if op.v != nil {
					o.Var = op.v.id
				}
				if op.kind != Rollback {
					o.Value = marshalValue(op.value)
				}
				if op.kind == Commuted {
					o.Old = marshalValue(op.old)
				}
				at.Ops[j] = o
			}
			txn.Attempts = append(txn.Attempts, at)
		}
		h.Txns = append(h.Txns, txn)
	}
	return h
}

// marshalValue renders a recorded value as canonical JSON. Values that
// JSON cannot represent are recorded as their Go syntax, as a string.
func marshalValue(v any) json.RawMessage {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(nil, int64(x), 10)
	case int64:
		return strconv.AppendInt(nil, x, 10)
	case string:
		b, _ := json.Marshal(x)
		return b
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprintf("%#v", v))
	}
	return b
}
