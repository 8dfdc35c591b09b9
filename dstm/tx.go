package dstm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Tx is one attempt of a transaction: its snapshot revision, what it read
// and what it wrote. It is valid only inside the body it was passed to, on
// that body's goroutine.
type Tx struct {
	c   *Client
	ctx context.Context

	rev      int64 // the snapshot revision; 0 until the first read
	reads    map[string]*entry
	readKeys []string          // reads' keys in first-read order: the commit's comparisons
	pre      map[string]*entry // read at rev but not (yet) by this attempt: Prefetch, a conflict's re-read
	writes   []write
	widx     map[string]int // key -> index of its write in writes
	hooks    []func()

	commitRev int64
	done      bool
	slow      int // requests of this transaction that timed out
}

// entry is a key as the snapshot holds it.
type entry struct {
	data         []byte
	mod, created int64 // mod-revision and create-revision; 0 if absent
	present      bool
	decoded      any // the last value Get decoded from data
}

// write is a buffered Set.
type write struct {
	key  string
	data []byte
	val  any
}

// Signals that end an attempt, thrown as panics through the body.
type retrySignal struct{}

type restartSignal struct{} // the snapshot was compacted: run again on a fresh one

type failSignal struct{ err error } // the transaction fails with err

func (tx *Tx) check(op string) {
	if tx == nil {
		panic("dstm: " + op + " called with a nil *Tx")
	}
	if tx.done {
		panic("dstm: " + op + " called on a Tx whose transaction has ended (a Tx is valid only inside its body)")
	}
}

func (tx *Tx) fail(err error) { panic(failSignal{err}) }

// Revision returns the attempt's snapshot revision: every read of the
// attempt is served at it. It is 0 until the attempt's first read.
func (tx *Tx) Revision() int64 {
	tx.check("Revision")
	return tx.rev
}

// CommitRevision returns the revision at which the transaction committed:
// the revision of its writes, or its snapshot revision if it wrote nothing.
// It is meant for AfterCommit hooks, and is 0 before the commit.
func (tx *Tx) CommitRevision() int64 { return tx.commitRev }

// Retry abandons this attempt and blocks until a key read so far (by this
// attempt, including OrElse alternatives that retried) changes, then runs
// the body again. Retry with nothing read could never wake, and panics.
func (tx *Tx) Retry() {
	tx.check("Retry")
	panic(retrySignal{})
}

// Check calls Retry unless ok.
func (tx *Tx) Check(ok bool) {
	if !ok {
		tx.Retry()
	}
}

// AfterCommit registers f to run once, after the transaction commits, on the
// goroutine that called Atomically, in registration order. It never runs for
// an attempt that aborted, retried or failed, nor for a commit whose outcome
// stayed unknown.
func (tx *Tx) AfterCommit(f func()) {
	tx.check("AfterCommit")
	if f == nil {
		panic("dstm: AfterCommit called with a nil function")
	}
	tx.hooks = append(tx.hooks, f)
}

// Prefetch reads the keys of vars in as few round trips as the server's
// max-txn-ops allows, at the attempt's snapshot, so that the Gets that
// follow are served from memory. Keys already read or written are skipped.
// Prefetching a key does not make it part of the read set: only a Get does.
func (tx *Tx) Prefetch(vars ...Keyed) {
	tx.check("Prefetch")
	var keys []string
	seen := make(map[string]bool, len(vars))
	for _, v := range vars {
		k := v.Key()
		if seen[k] || tx.reads[k] != nil || tx.pre[k] != nil {
			continue
		}
		if _, ok := tx.widx[k]; ok {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	for len(keys) > 0 {
		n := min(len(keys), tx.c.opts.maxTxnOps)
		tx.fetch(keys[:n])
		keys = keys[n:]
	}
}

// Keyed is anything with an etcd key: every *Var.
type Keyed interface{ Key() string }

// written returns the attempt's own write of key.
func (tx *Tx) written(key string) (write, bool) {
	if i, ok := tx.widx[key]; ok {
		return tx.writes[i], true
	}
	return write{}, false
}

func (tx *Tx) write(key string, data []byte, val any) {
	if tx.c.isMarker(key) {
		tx.fail(fmt.Errorf("dstm: key %q lies under the commit markers' prefix %q: choose another key or WithMarkerPrefix", key, tx.c.opts.markerPrefix))
	}
	// Appended, never overwritten in place, so that an OrElse checkpoint
	// (a length of writes) can undo it; the commit takes the last write of
	// each key.
	tx.widx[key] = len(tx.writes)
	tx.writes = append(tx.writes, write{key, data, val})
}

// read returns key's entry in the snapshot, reading it from etcd if needed.
func (tx *Tx) read(key string) *entry {
	if e := tx.reads[key]; e != nil {
		return e
	}
	e := tx.pre[key]
	if e == nil {
		tx.fetch([]string{key})
		e = tx.pre[key]
	}
	delete(tx.pre, key)
	tx.reads[key] = e
	tx.readKeys = append(tx.readKeys, key)
	return e
}

// fetch reads keys (at most maxTxnOps) into tx.pre at the snapshot
// revision, fixing the snapshot if this is the attempt's first read. It
// retries transient failures until the context ends.
func (tx *Tx) fetch(keys []string) {
	c := tx.c
	for try := 0; ; try++ {
		var opts []clientv3.OpOption
		if tx.rev != 0 {
			// A revision fixes the answer, so any member may serve it
			// without consensus; one that has not applied the revision yet
			// says "future revision", and the retry asks the leader.
			opts = append(opts, clientv3.WithRev(tx.rev))
			if try == 0 {
				opts = append(opts, clientv3.WithSerializable())
			}
		}
		var err error
		var rev int64
		var got []*entry
		rctx, cancel := c.callCtx(tx.ctx, tx.slow)
		if len(keys) == 1 {
			var resp *clientv3.GetResponse
			resp, err = c.cli.Get(rctx, keys[0], opts...)
			if err == nil {
				rev = resp.Header.Revision
				got = []*entry{entryOf(resp)}
			}
		} else {
			ops := make([]clientv3.Op, len(keys))
			for i, k := range keys {
				ops[i] = clientv3.OpGet(k, clientv3.WithRev(tx.rev))
			}
			var resp *clientv3.TxnResponse
			resp, err = c.cli.Txn(rctx).Then(ops...).Commit()
			if err == nil {
				rev = resp.Header.Revision
				for _, r := range resp.Responses {
					got = append(got, entryOf((*clientv3.GetResponse)(r.GetResponseRange())))
				}
			}
		}
		tx.timedOut(rctx)
		cancel()
		if err == nil {
			if tx.rev == 0 {
				tx.rev = rev
			}
			for i, k := range keys {
				tx.pre[k] = got[i]
			}
			return
		}
		switch {
		case isCompacted(err):
			c.stats.restarts.Add(1)
			panic(restartSignal{})
		case tx.ctx.Err() != nil:
			tx.fail(tx.ctx.Err())
		case isPermanent(err):
			c.stats.permanent.Add(1)
			if isTooManyOps(err) {
				err = fmt.Errorf("%w: reading %d keys in one Txn (WithMaxTxnOps says %d): %w", ErrTooManyOps, len(keys), c.opts.maxTxnOps, err)
			}
			tx.fail(fmt.Errorf("dstm: reading %q: %w", keys[0], err))
		}
		c.stats.readRetries.Add(1)
		if !sleepCtx(tx.ctx, backoff(try, c.opts.maxBackoff)) {
			tx.fail(tx.ctx.Err())
		}
	}
}

// timedOut counts a request whose own bound expired while the caller's
// context was still live.
func (tx *Tx) timedOut(rctx context.Context) {
	if rctx.Err() != nil && tx.ctx.Err() == nil {
		tx.slow++
	}
}

func entryOf(resp *clientv3.GetResponse) *entry {
	if len(resp.Kvs) == 0 {
		return &entry{}
	}
	kv := resp.Kvs[0]
	return &entry{data: kv.Value, mod: kv.ModRevision, created: kv.CreateRevision, present: true}
}

// backoff returns a random pause for the try-th repetition: up to 1ms,
// doubling with every try, capped at limit.
func backoff(try int, limit time.Duration) time.Duration {
	d := limit
	if try < 20 {
		d = min(limit, time.Millisecond<<try)
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d): // collectable once it fires or is dropped (Go 1.23+)
		return true
	case <-ctx.Done():
		return false
	}
}

// OrElse runs first; if it calls Retry, its writes and hooks are discarded
// (its reads are kept: the choice depended on them) and the next alternative
// runs. If every alternative retries, the transaction retries and wakes when
// a key read by any of them changes. Errors and panics are not caught.
func OrElse[T any](tx *Tx, first func(*Tx) T, others ...func(*Tx) T) T {
	tx.check("OrElse")
	alts := append([]func(*Tx) T{first}, others...)
	for i, alt := range alts {
		if alt == nil {
			panic(fmt.Sprintf("dstm: OrElse called with a nil alternative (number %d)", i+1))
		}
	}
	for _, alt := range alts[:len(alts)-1] {
		nw, nh := len(tx.writes), len(tx.hooks)
		if v, ok := tryAlt(tx, alt); ok {
			return v
		}
		tx.writes, tx.hooks = tx.writes[:nw], tx.hooks[:nh]
		clear(tx.widx)
		for i, w := range tx.writes {
			tx.widx[w.key] = i
		}
	}
	return alts[len(alts)-1](tx)
}

// tryAlt runs alt, reporting false if it called Retry.
func tryAlt[T any](tx *Tx, alt func(*Tx) T) (v T, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, retry := r.(retrySignal); !retry {
				panic(r)
			}
			ok = false
		}
	}()
	return alt(tx), true
}

// errRetryNothingRead is the panic of a Retry that could never wake.
var errRetryNothingRead = errors.New("dstm: Retry called before anything was read: nothing could ever wake it (read the keys whose change should wake it first)")
