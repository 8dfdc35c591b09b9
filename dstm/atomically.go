package dstm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Atomically runs fn as a transaction on c's cluster and commits it,
// running fn again as often as conflicts, Retry and lost replies require.
//
// It returns nil once the transaction has committed, and then runs the
// AfterCommit hooks of the committed attempt. It returns fn's error
// unchanged if fn returns one (nothing is written); ctx's error if ctx ends
// first (nothing is written: an outcome left uncertain by ctx ending during
// a commit is resolved before Atomically returns); an error wrapping
// ErrOutcomeUnknown if a commit's outcome could not be learnt; or an error
// from etcd that retrying cannot cure (one wrapping ErrTooManyOps, for
// example). A panic in fn propagates with its original value.
func Atomically(ctx context.Context, c *Client, fn func(tx *Tx) error) error {
	switch {
	case ctx == nil:
		panic("dstm: Atomically called with a nil Context (use context.Background())")
	case c == nil:
		panic("dstm: Atomically called with a nil *Client (use dstm.New)")
	case fn == nil:
		panic("dstm: Atomically called with a nil function")
	}
	tx := &Tx{c: c, ctx: ctx, widx: map[string]int{}}
	var pre map[string]*entry // a conflict's re-read of the read set, at preRev
	var preRev int64
	conflicts := 0
	for {
		if err := ctx.Err(); err != nil {
			tx.done = true
			return err
		}
		tx.reset(preRev, pre)
		pre, preRev = nil, 0
		out, err := tx.attempt(fn)
		switch out {
		case outFail:
			tx.done = true
			return err
		case outRestart:
			continue
		case outRetry:
			if len(tx.readKeys) == 0 {
				tx.done = true
				panic(errRetryNothingRead)
			}
			c.stats.retries.Add(1)
			if err := tx.wait(); err != nil {
				tx.done = true
				return err
			}
			c.stats.wakeups.Add(1)
			conflicts = 0
			continue
		}
		if len(tx.writes) == 0 {
			// Read-only: serialized at its snapshot, nothing to send.
			c.stats.readOnly.Add(1)
			tx.commitRev = tx.rev
			tx.finish()
			return nil
		}
		res, err := tx.commit()
		switch res {
		case committed:
			tx.finish()
			return nil
		case failed:
			tx.done = true
			return err
		case conflict:
			pre, preRev = tx.pre, tx.commitRev
			tx.commitRev = 0
		}
		// A conflict or a commit proven not to have happened: run again,
		// at once the first time (a conflict's Else branch already read a
		// fresh snapshot), then after a growing random pause.
		conflicts++
		if conflicts > 1 && !sleepCtx(ctx, backoff(conflicts-2, c.opts.maxBackoff)) {
			tx.done = true
			return ctx.Err()
		}
	}
}

// Eval runs fn as Atomically does and returns its result, or the zero T
// and the error that ended the transaction.
func Eval[T any](ctx context.Context, c *Client, fn func(tx *Tx) T) (T, error) {
	if fn == nil {
		panic("dstm: Eval called with a nil function")
	}
	var v T
	err := Atomically(ctx, c, func(tx *Tx) error {
		v = fn(tx)
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

type outcome int

const (
	outOK outcome = iota
	outFail
	outRetry
	outRestart
)

type commitResult int

const (
	committed    commitResult = iota
	conflict                  // a key read had changed; tx.pre holds the read set re-read at tx.commitRev
	notCommitted              // the reply was lost and the marker proved the commit did not happen
	failed
)

// reset starts a new attempt at snapshot rev with pre read ahead (rev 0 and
// nil: a fresh snapshot at the first read).
func (tx *Tx) reset(rev int64, pre map[string]*entry) {
	tx.rev = rev
	tx.reads = map[string]*entry{}
	tx.readKeys = tx.readKeys[:0]
	if pre == nil {
		pre = map[string]*entry{}
	}
	tx.pre = pre
	tx.writes = tx.writes[:0]
	clear(tx.widx)
	tx.hooks = nil
	tx.commitRev = 0
}

// attempt runs the body once and says how it ended.
func (tx *Tx) attempt(fn func(tx *Tx) error) (out outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			switch s := r.(type) {
			case retrySignal:
				out = outRetry
			case restartSignal:
				out = outRestart
			case failSignal:
				out, err = outFail, s.err
			default:
				tx.done = true
				panic(r)
			}
		}
	}()
	if err := fn(tx); err != nil {
		return outFail, err
	}
	return outOK, nil
}

// finish ends a committed transaction and runs its hooks.
func (tx *Tx) finish() {
	tx.done = true
	for _, h := range tx.hooks {
		h()
	}
}

// commit sends the attempt's writes in one Txn guarded by the mod-revisions
// of its reads and by the absence of a fresh commit marker, and settles an
// unknown outcome through the marker.
func (tx *Tx) commit() (commitResult, error) {
	c := tx.c
	var puts []clientv3.Op
	for i, w := range tx.writes {
		if tx.widx[w.key] == i {
			puts = append(puts, clientv3.OpPut(w.key, string(w.data)))
		}
	}
	cmps := make([]clientv3.Cmp, 0, len(tx.readKeys)+1)
	for _, k := range tx.readKeys {
		if e := tx.reads[k]; e.present {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", e.mod))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
		}
	}
	var reread []clientv3.Op
	if len(tx.readKeys) <= c.opts.maxTxnOps {
		for _, k := range tx.readKeys {
			reread = append(reread, clientv3.OpGet(k))
		}
	}
	for try := 0; ; try++ {
		lease, err := c.markerLease(tx.ctx)
		if err != nil {
			if tx.ctx.Err() != nil {
				return failed, tx.ctx.Err()
			}
			if isPermanent(err) {
				c.stats.permanent.Add(1)
				return failed, fmt.Errorf("dstm: granting the commit markers' lease: %w", err)
			}
			if !sleepCtx(tx.ctx, backoff(try, c.opts.maxBackoff)) {
				return failed, tx.ctx.Err()
			}
			continue
		}
		marker := c.markerKey()
		spent := c.takeSpent(min(spentPerCommit, c.opts.maxTxnOps-len(puts)-1))
		then := append(slices.Clip(puts), clientv3.OpPut(marker, markerCommitted, clientv3.WithLease(lease)))
		for _, k := range spent {
			then = append(then, clientv3.OpDelete(k))
		}
		sent := time.Now()
		rctx, cancel := c.callCtx(tx.ctx, tx.slow)
		resp, err := c.cli.Txn(rctx).
			If(append(cmps, clientv3.Compare(clientv3.CreateRevision(marker), "=", 0))...).
			Then(then...).
			Else(reread...).
			Commit()
		tx.timedOut(rctx)
		cancel()
		// The deletions of spent markers go with the writes: unless the
		// commit applied, they are still to do (c.addSpent(spent...) below).
		switch {
		case err == nil && resp.Succeeded:
			c.stats.commits.Add(1)
			c.addSpent(marker)
			tx.commitRev = resp.Header.Revision
			return committed, nil
		case err == nil:
			c.stats.conflicts.Add(1)
			c.addSpent(spent...)
			tx.pre = nil
			if len(reread) > 0 {
				tx.pre = make(map[string]*entry, len(reread))
				for i, r := range resp.Responses {
					tx.pre[tx.readKeys[i]] = entryOf((*clientv3.GetResponse)(r.GetResponseRange()))
				}
				tx.commitRev = resp.Header.Revision
			}
			return conflict, nil
		case isLeaseNotFound(err):
			// The lease expired (or was revoked): the Txn was rejected
			// whole. Take a new lease and send it again.
			c.dropLease(lease)
			c.addSpent(spent...)
			continue
		case isPermanent(err):
			c.stats.permanent.Add(1)
			c.addSpent(spent...)
			if isTooManyOps(err) {
				return failed, fmt.Errorf("%w: a commit comparing %d keys read and writing %d (the server's max-txn-ops is lower): %w",
					ErrTooManyOps, len(cmps), len(puts), err)
			}
			return failed, fmt.Errorf("dstm: commit rejected: %w", err)
		}
		c.stats.unknown.Add(1)
		ok, rev, err := c.resolve(tx.ctx, marker, sent, err, tx.slow)
		if ok {
			c.stats.commits.Add(1)
			c.addSpent(marker)
			tx.commitRev = rev
			return committed, nil
		}
		c.addSpent(spent...) // deleting a marker twice is harmless
		switch {
		case err != nil:
			return failed, err
		case tx.ctx.Err() != nil:
			return failed, tx.ctx.Err()
		}
		return notCommitted, nil
	}
}

// The values of a commit marker.
const (
	markerCommitted = "c" // written by the commit itself
	markerFenced    = "a" // written by the resolution: the commit can no longer happen
)

// resolve learns whether the commit guarded by marker happened. It creates
// the marker as fenced unless it exists (which makes the commit, should it
// still be in flight, fail its comparison), or reads it. It keeps asking
// until a deadline well inside the marker's lifetime, whether or not ctx has
// ended: a caller must not be told "failed" for a transaction that committed.
func (c *Client) resolve(ctx context.Context, marker string, sent time.Time, cause error, slow int) (committed bool, rev int64, err error) {
	deadline := sent.Add(min(c.opts.resolveTimeout, c.opts.markerTTL/4))
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	last := cause
	for try := 0; ; try++ {
		lease, err := c.markerLease(rctx)
		if err == nil {
			var resp *clientv3.TxnResponse
			tctx, cancel := c.callCtx(rctx, slow+try)
			resp, err = c.cli.Txn(tctx).
				If(clientv3.Compare(clientv3.CreateRevision(marker), "=", 0)).
				Then(clientv3.OpPut(marker, markerFenced, clientv3.WithLease(lease))).
				Else(clientv3.OpGet(marker)).
				Commit()
			cancel()
			if err == nil {
				if !resp.Succeeded {
					kvs := resp.Responses[0].GetResponseRange().Kvs
					if len(kvs) == 1 && string(kvs[0].Value) == markerCommitted {
						c.stats.resolvedCommit.Add(1)
						return true, kvs[0].ModRevision, nil
					}
					// Fenced by an earlier try of ours whose reply was lost.
				}
				c.stats.resolvedAbort.Add(1)
				return false, 0, nil
			}
			if isLeaseNotFound(err) {
				c.dropLease(lease)
			}
		}
		last = err
		if !sleepCtx(rctx, backoff(try, 4*c.opts.maxBackoff)) {
			c.stats.unresolved.Add(1)
			return false, 0, fmt.Errorf("%w: the cluster did not say within %v whether the commit with marker %q happened; last error: %w",
				ErrOutcomeUnknown, time.Since(sent).Round(time.Millisecond), marker, last)
		}
	}
}

// wait blocks until a key the attempt read changes after its snapshot, or
// ctx ends. Watches start at the snapshot revision + 1, so a change that
// committed before the watch was set up still wakes it. A watch that ends
// for another reason (compaction of that revision, a member that lost its
// leader) also ends the wait: the body runs again and reads afresh.
func (tx *Tx) wait() error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(tx.ctx))
	woke := make(chan struct{}, 1)
	signal := func() {
		select {
		case woke <- struct{}{}:
		default:
		}
	}
	var wg sync.WaitGroup
	for _, k := range tx.readKeys {
		wch := tx.c.cli.Watch(wctx, k, clientv3.WithRev(tx.rev+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for resp := range wch {
				if len(resp.Events) > 0 || resp.CompactRevision != 0 || resp.Canceled || resp.Err() != nil {
					signal()
				}
			}
			signal() // the watch ended
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	select {
	case <-woke:
		return nil
	case <-tx.ctx.Done():
		return tx.ctx.Err()
	}
}
