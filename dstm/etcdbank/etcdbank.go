// Package etcdbank is the bank-account demo of package bank with its
// accounts kept in etcd: one bank on dstm transactions and, for comparison,
// one on etcd's own concurrency.NewSTM. Both implement bank.Bank, so
// bank.RunBank drives them and checks B1 to B5 exactly as in memory.
package etcdbank

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"gostm.dev/bank"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The modes the banks report.
const (
	// ModeDSTM is a bank on dstm transactions.
	ModeDSTM bank.Mode = "etcd-dstm"
	// ModeEtcdSTM is a bank on etcd's concurrency.NewSTM (serializable
	// snapshot isolation, its default).
	ModeEtcdSTM bank.Mode = "etcd-stm"
)

// AuditStats describe the audits of a run: how many attempts each needed
// and how long each took, from the call to the committed result.
type AuditStats struct {
	Audits      int           `json:"audits"`
	Attempts    int           `json:"attempts"`
	MaxAttempts int           `json:"max_attempts"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	Max         time.Duration `json:"max_ns"`
}

// MeanAttempts returns the attempts per audit.
func (s AuditStats) MeanAttempts() float64 {
	if s.Audits == 0 {
		return 0
	}
	return float64(s.Attempts) / float64(s.Audits)
}

// auditLog collects AuditStats from concurrent audits.
type auditLog struct {
	mu        sync.Mutex
	attempts  []int
	latencies []time.Duration
}

func (l *auditLog) record(attempts int, d time.Duration) {
	l.mu.Lock()
	l.attempts = append(l.attempts, attempts)
	l.latencies = append(l.latencies, d)
	l.mu.Unlock()
}

func (l *auditLog) stats() AuditStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := AuditStats{Audits: len(l.attempts)}
	for _, a := range l.attempts {
		s.Attempts += a
		s.MaxAttempts = max(s.MaxAttempts, a)
	}
	if n := len(l.latencies); n > 0 {
		d := slices.Sorted(slices.Values(l.latencies))
		s.P50, s.P99, s.Max = d[n/2], d[min(n-1, n*99/100)], d[n-1]
	}
	return s
}

// accounts holds what both banks share: the keys, the rules, the log.
type accounts struct {
	ctx       context.Context
	cli       *clientv3.Client
	prefix    string
	keys      []string
	initial   int64
	overdraft bool
	audits    auditLog
}

func newAccounts(ctx context.Context, cli *clientv3.Client, prefix string, o bank.Options) (*accounts, error) {
	if o.Accounts < 1 {
		return nil, fmt.Errorf("etcdbank: Accounts = %d: need at least 1 account", o.Accounts)
	}
	if o.Initial < 0 {
		return nil, fmt.Errorf("etcdbank: Initial = %d: the opening balance must not be negative", o.Initial)
	}
	if prefix == "" {
		return nil, fmt.Errorf("etcdbank: an empty key prefix would put the accounts among everything else in etcd")
	}
	a := &accounts{ctx: ctx, cli: cli, prefix: prefix, initial: o.Initial, overdraft: o.Overdraft}
	for i := range o.Accounts {
		a.keys = append(a.keys, fmt.Sprintf("%sacct/%06d", prefix, i))
	}
	// A fresh bank: clear what an earlier run left, then open the accounts,
	// a hundred per Txn (etcd's default max-txn-ops is 128).
	if _, err := cli.Delete(ctx, prefix, clientv3.WithPrefix()); err != nil {
		return nil, fmt.Errorf("etcdbank: clearing %q: %w", prefix, err)
	}
	for keys := range slices.Chunk(a.keys, 100) {
		var ops []clientv3.Op
		for _, k := range keys {
			ops = append(ops, clientv3.OpPut(k, fmt.Sprint(o.Initial)))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return nil, fmt.Errorf("etcdbank: opening the accounts: %w", err)
		}
	}
	return a, nil
}

// Accounts returns the number of accounts.
func (a *accounts) Accounts() int { return len(a.keys) }

// AuditStats returns the audits' attempts and latencies so far.
func (a *accounts) AuditStats() AuditStats { return a.audits.stats() }

// Close deletes the accounts from etcd.
func (a *accounts) Close() {
	_, _ = a.cli.Delete(context.WithoutCancel(a.ctx), a.prefix, clientv3.WithPrefix())
}

// check validates an operation's accounts and amount.
func (a *accounts) check(amount int64, accts ...int) error {
	for _, i := range accts {
		if i < 0 || i >= len(a.keys) {
			return fmt.Errorf("etcdbank: account %d out of range [0, %d)", i, len(a.keys))
		}
	}
	if amount <= 0 {
		return fmt.Errorf("etcdbank: amount %d: must be positive", amount)
	}
	return nil
}

// snapshot sums balances as bank.Snapshot does.
func snapshot(bal []int64) bank.Snapshot {
	s := bank.Snapshot{MinBalance: math.MaxInt64}
	for i, v := range bal {
		s.Total += v
		if v < s.MinBalance {
			s.MinBalance, s.MinAccount = v, i
		}
	}
	return s
}

// auditing wraps one audit: it counts the attempts, tracks the lowest and
// highest total any attempt saw, and records the audit's latency.
type auditing struct {
	a        *accounts
	start    time.Time
	attempts int
	low      int64
	high     int64
}

func (a *accounts) beginAudit() *auditing {
	return &auditing{a: a, start: time.Now(), low: math.MaxInt64, high: math.MinInt64}
}

// attempt notes one attempt's view.
func (au *auditing) attempt(s bank.Snapshot) {
	au.attempts++
	au.low, au.high = min(au.low, s.Total), max(au.high, s.Total)
}

// done completes the committed view s.
func (au *auditing) done(s bank.Snapshot) bank.Snapshot {
	au.a.audits.record(au.attempts, time.Since(au.start))
	s.Attempts, s.LowTotal, s.HighTotal = au.attempts, au.low, au.high
	return s
}
