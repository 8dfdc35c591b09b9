package dstm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Client runs transactions on one etcd cluster. It is safe for concurrent
// use; one per process (or per etcd client) is enough. It owns no goroutine;
// Close releases the lease of its commit markers.
type Client struct {
	cli  *clientv3.Client
	opts options
	id   string // unique per Client: names its commit markers
	seq  atomic.Uint64

	leaseMu  sync.Mutex
	lease    clientv3.LeaseID
	leaseEnd time.Time // when the lease expires, as estimated at its grant

	// spent holds markers of commits known to have applied: nothing needs
	// them any more, and later commits delete a few each (the lease would
	// only remove them after its TTL).
	spentMu sync.Mutex
	spent   []string

	stats stats
}

// An Option configures a Client.
type Option func(*options)

type options struct {
	markerPrefix   string
	markerTTL      time.Duration
	resolveTimeout time.Duration
	maxBackoff     time.Duration
	maxTxnOps      int
	requestTimeout time.Duration
}

// WithMarkerPrefix sets the key prefix of the commit markers (default
// "dstm/markers/"). Keep the program's own keys outside it.
func WithMarkerPrefix(p string) Option { return func(o *options) { o.markerPrefix = p } }

// WithMarkerTTL sets how long a commit marker lives (default 5 minutes, at
// least 10 seconds). An unknown outcome must be resolved well within it:
// Atomically gives up (ErrOutcomeUnknown) after a quarter of it. The
// marker of a commit known to have applied is deleted by one of the
// Client's next commits (each deletes up to 8); the others (those that
// settled a lost reply as not committed, and the last few) expire with it.
func WithMarkerTTL(d time.Duration) Option { return func(o *options) { o.markerTTL = d } }

// WithResolveTimeout bounds how long Atomically keeps asking the cluster
// whether a commit whose reply was lost took effect (default 30 seconds).
// The caller's context does not bound it: a caller whose context ended
// during a commit still learns whether the transaction committed.
func WithResolveTimeout(d time.Duration) Option { return func(o *options) { o.resolveTimeout = d } }

// WithMaxBackoff bounds the random pause between attempts of a transaction
// that keeps conflicting (default 50ms).
func WithMaxBackoff(d time.Duration) Option { return func(o *options) { o.maxBackoff = d } }

// WithRequestTimeout bounds each request to etcd (default 1 second); a
// transaction whose requests time out doubles the bound for its later ones,
// up to 32 times. A member whose leader has just died holds a request until
// its own timeout (about 5 seconds) expires; the shorter bound lets the
// transaction ask another member sooner. A commit that times out is settled
// through its marker like any lost reply, so a short bound costs round
// trips, never correctness.
func WithRequestTimeout(d time.Duration) Option { return func(o *options) { o.requestTimeout = d } }

// WithMaxTxnOps tells the Client the server's --max-txn-ops (default 128,
// etcd's default; StartEmbedded's server takes 4096). Prefetch splits its
// reads into Txns of this size, and a commit whose read set is larger skips
// re-reading it on a conflict.
func WithMaxTxnOps(n int) Option { return func(o *options) { o.maxTxnOps = n } }

// New returns a Client that runs transactions through cli. Panics on a nil
// cli or an option out of range, naming it.
func New(cli *clientv3.Client, opts ...Option) *Client {
	if cli == nil {
		panic("dstm: New called with a nil *clientv3.Client (use StartEmbedded or Dial to get one)")
	}
	o := options{
		markerPrefix:   "dstm/markers/",
		markerTTL:      5 * time.Minute,
		resolveTimeout: 30 * time.Second,
		maxBackoff:     50 * time.Millisecond,
		maxTxnOps:      128,
		requestTimeout: time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	switch {
	case o.markerPrefix == "":
		panic("dstm: WithMarkerPrefix(\"\"): the commit markers need a prefix of their own")
	case o.markerTTL < 10*time.Second:
		panic(fmt.Sprintf("dstm: WithMarkerTTL(%v): need at least 10s to resolve lost replies", o.markerTTL))
	case o.resolveTimeout <= 0:
		panic(fmt.Sprintf("dstm: WithResolveTimeout(%v): must be positive", o.resolveTimeout))
	case o.requestTimeout <= 0:
		panic(fmt.Sprintf("dstm: WithRequestTimeout(%v): must be positive", o.requestTimeout))
	case o.maxBackoff <= 0:
		panic(fmt.Sprintf("dstm: WithMaxBackoff(%v): must be positive", o.maxBackoff))
	case o.maxTxnOps < 2:
		panic(fmt.Sprintf("dstm: WithMaxTxnOps(%d): etcd needs at least 2 (one key and the commit marker)", o.maxTxnOps))
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &Client{cli: cli, opts: o, id: hex.EncodeToString(b[:])}
}

// Etcd returns the etcd client the Client uses.
func (c *Client) Etcd() *clientv3.Client { return c.cli }

// Close revokes the lease of the Client's commit markers, which deletes
// them. Transactions must have finished; the etcd client stays open.
func (c *Client) Close(ctx context.Context) error {
	c.leaseMu.Lock()
	defer c.leaseMu.Unlock()
	if c.lease == 0 {
		return nil
	}
	_, err := c.cli.Revoke(ctx, c.lease)
	c.lease = 0
	if err != nil && !isLeaseNotFound(err) {
		return fmt.Errorf("dstm: revoking the commit markers' lease: %w", err)
	}
	return nil
}

// callCtx bounds one request of a transaction that has already seen slow
// requests time out.
func (c *Client) callCtx(ctx context.Context, slow int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.requestTimeout<<min(slow, 5))
}

// markerKey returns a key no other commit uses.
func (c *Client) markerKey() string {
	return c.opts.markerPrefix + c.id + "/" + fmt.Sprint(c.seq.Add(1))
}

// isMarker reports whether key lies in the markers' key space.
func (c *Client) isMarker(key string) bool { return strings.HasPrefix(key, c.opts.markerPrefix) }

// markerLease returns a lease with at least half its TTL left, granting a
// new one when needed. Old leases are left to expire, so that the markers
// under them stay readable for as long as they might be asked about.
func (c *Client) markerLease(ctx context.Context) (clientv3.LeaseID, error) {
	c.leaseMu.Lock()
	defer c.leaseMu.Unlock()
	if c.lease != 0 && time.Until(c.leaseEnd) > c.opts.markerTTL/2 {
		return c.lease, nil
	}
	start := time.Now()
	gctx, cancel := c.callCtx(ctx, 0)
	defer cancel()
	resp, err := c.cli.Grant(gctx, int64(c.opts.markerTTL/time.Second))
	if err != nil {
		return 0, err
	}
	c.lease, c.leaseEnd = resp.ID, start.Add(time.Duration(resp.TTL)*time.Second)
	return c.lease, nil
}

// maxSpent bounds the spent markers a Client remembers (the rest expire
// with their lease); spentPerCommit is how many one commit deletes.
const (
	maxSpent       = 1024
	spentPerCommit = 8
)

// takeSpent removes up to n spent markers from the list and returns them.
func (c *Client) takeSpent(n int) []string {
	c.spentMu.Lock()
	defer c.spentMu.Unlock()
	n = max(0, min(n, len(c.spent)))
	out := slices.Clone(c.spent[len(c.spent)-n:])
	c.spent = c.spent[:len(c.spent)-n]
	return out
}

// addSpent returns markers to the list (a commit that carried their
// deletion did not apply) or adds a newly spent one.
func (c *Client) addSpent(keys ...string) {
	c.spentMu.Lock()
	defer c.spentMu.Unlock()
	c.spent = append(c.spent, keys[:min(len(keys), maxSpent-len(c.spent))]...)
}

// dropLease forgets lease, which the server no longer knows.
func (c *Client) dropLease(lease clientv3.LeaseID) {
	c.leaseMu.Lock()
	if c.lease == lease {
		c.lease = 0
	}
	c.leaseMu.Unlock()
}

// Stats counts what a Client's transactions did since it was created.
type Stats struct {
	Commits         int64 // update transactions committed
	ReadOnly        int64 // read-only transactions committed (no round trip)
	Conflicts       int64 // commits refused because a key read had changed
	Restarts        int64 // attempts restarted because their snapshot was compacted
	Retries         int64 // times a body called Retry and waited on watches
	Wakeups         int64 // waits that ended because a watched key changed
	ReadRetries     int64 // reads repeated after a transient error
	Unknown         int64 // commits whose reply was lost
	ResolvedCommit  int64 // ... and that the marker proved committed
	ResolvedAbort   int64 // ... and that the marker proved not committed
	Unresolved      int64 // ... and whose outcome stayed unknown (ErrOutcomeUnknown)
	PermanentErrors int64 // requests etcd rejected for good
}

type stats struct {
	commits, readOnly, conflicts, restarts, retries, wakeups, readRetries atomic.Int64
	unknown, resolvedCommit, resolvedAbort, unresolved, permanent         atomic.Int64
}

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Commits: s.commits.Load(), ReadOnly: s.readOnly.Load(), Conflicts: s.conflicts.Load(),
		Restarts: s.restarts.Load(), Retries: s.retries.Load(), Wakeups: s.wakeups.Load(),
		ReadRetries: s.readRetries.Load(), Unknown: s.unknown.Load(),
		ResolvedCommit: s.resolvedCommit.Load(), ResolvedAbort: s.resolvedAbort.Load(),
		Unresolved: s.unresolved.Load(), PermanentErrors: s.permanent.Load(),
	}
}
