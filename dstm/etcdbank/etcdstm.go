package etcdbank

import (
	"context"
	"fmt"
	"strconv"

	"gostm.dev/bank"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// EtcdSTMBank is the same bank on etcd's own concurrency.NewSTM, for
// comparison: balances are decimal strings, each operation is one NewSTM
// transaction, and an audit prefetches every account. NewSTM validates a
// read-only transaction at commit like any other, so audits abort while
// transfers commit, and its attempts are not opaque: the B2 check, which
// looks at every attempt, can catch one seeing a total that never existed.
type EtcdSTMBank struct {
	*accounts
}

// NewEtcdSTM opens a bank of o.Accounts accounts under the key prefix
// (clearing whatever was there), run through etcd's concurrency.NewSTM.
func NewEtcdSTM(ctx context.Context, cli *clientv3.Client, prefix string, o bank.Options) (*EtcdSTMBank, error) {
	a, err := newAccounts(ctx, cli, prefix, o)
	if err != nil {
		return nil, err
	}
	return &EtcdSTMBank{a}, nil
}

// Mode returns ModeEtcdSTM.
func (b *EtcdSTMBank) Mode() bank.Mode { return ModeEtcdSTM }

func (b *EtcdSTMBank) run(apply func(concurrency.STM) error, opts ...concurrency.STMOption) error {
	_, err := concurrency.NewSTM(b.cli, apply, append(opts, concurrency.WithAbortContext(b.ctx))...)
	return err
}

func (b *EtcdSTMBank) balance(s concurrency.STM, i int) int64 {
	v, err := strconv.ParseInt(s.Get(b.keys[i]), 10, 64)
	if err != nil {
		panic(fmt.Errorf("etcdbank: account %d holds %q, not a number: %w", i, s.Get(b.keys[i]), err))
	}
	return v
}

func (b *EtcdSTMBank) add(s concurrency.STM, i int, amount int64) error {
	bal := b.balance(s, i)
	if amount < 0 && !b.overdraft && bal < -amount {
		return bank.ErrInsufficientFunds
	}
	s.Put(b.keys[i], strconv.FormatInt(bal+amount, 10))
	return nil
}

// Transfer moves amount between two accounts in one transaction.
func (b *EtcdSTMBank) Transfer(from, to int, amount int64) error {
	if err := b.check(amount, from, to); err != nil || from == to {
		return err
	}
	return b.run(func(s concurrency.STM) error {
		if err := b.add(s, from, -amount); err != nil {
			return err
		}
		return b.add(s, to, amount)
	})
}

// Withdraw takes amount from an account in one transaction.
func (b *EtcdSTMBank) Withdraw(i int, amount int64) error {
	if err := b.check(amount, i); err != nil {
		return err
	}
	return b.run(func(s concurrency.STM) error { return b.add(s, i, -amount) })
}

// Deposit adds amount to an account in one transaction.
func (b *EtcdSTMBank) Deposit(i int, amount int64) error {
	if err := b.check(amount, i); err != nil {
		return err
	}
	return b.run(func(s concurrency.STM) error { return b.add(s, i, amount) })
}

// read reads every balance in one NewSTM transaction, calling seen with
// each attempt's view.
func (b *EtcdSTMBank) read(seen func([]int64)) ([]int64, error) {
	var bal []int64
	err := b.run(func(s concurrency.STM) error {
		bal = make([]int64, len(b.keys))
		for i := range b.keys {
			bal[i] = b.balance(s, i)
		}
		seen(bal)
		return nil
	}, concurrency.WithPrefetch(b.keys...))
	return bal, err
}

// Audit reads every balance in one transaction; an error from etcd panics.
func (b *EtcdSTMBank) Audit() bank.Snapshot {
	au := b.beginAudit()
	bal, err := b.read(func(bal []int64) { au.attempt(snapshot(bal)) })
	if err != nil {
		panic(fmt.Errorf("etcdbank: audit: %w", err))
	}
	return au.done(snapshot(bal))
}

// Balances returns every balance, read in one transaction.
func (b *EtcdSTMBank) Balances() []int64 {
	bal, err := b.read(func([]int64) {})
	if err != nil {
		panic(fmt.Errorf("etcdbank: reading the balances: %w", err))
	}
	return bal
}

// Compile-time checks that both banks are banks.
var (
	_ bank.Bank = (*Bank)(nil)
	_ bank.Bank = (*EtcdSTMBank)(nil)
)
