package etcdbank

import (
	"context"
	"fmt"

	"gostm.dev/bank"
	"gostm.dev/dstm"
)

// Bank is a bank whose accounts are dstm Vars: each operation is one dstm
// transaction, and an audit reads every account (prefetched in as few round
// trips as the server allows) at one snapshot revision, so it commits on its
// first attempt however busy the writers are.
type Bank struct {
	*accounts
	c     *dstm.Client
	acct  []*dstm.Var[int64]
	keyed []dstm.Keyed
}

// New opens a bank of o.Accounts accounts under the key prefix (clearing
// whatever was there) and runs its operations through c, bounded by ctx.
func New(ctx context.Context, c *dstm.Client, prefix string, o bank.Options) (*Bank, error) {
	a, err := newAccounts(ctx, c.Etcd(), prefix, o)
	if err != nil {
		return nil, err
	}
	b := &Bank{accounts: a, c: c}
	for _, k := range a.keys {
		v := dstm.NewVar(k, int64(0))
		b.acct = append(b.acct, v)
		b.keyed = append(b.keyed, v)
	}
	return b, nil
}

// Mode returns ModeDSTM.
func (b *Bank) Mode() bank.Mode { return ModeDSTM }

// Account returns the Var of account i, for transactions of the caller's.
func (b *Bank) Account(i int) *dstm.Var[int64] { return b.acct[i] }

// WithdrawTx takes amount from account i in tx, or returns
// bank.ErrInsufficientFunds (writing nothing) if overdrafts are off and the
// balance is short.
func (b *Bank) WithdrawTx(tx *dstm.Tx, i int, amount int64) error {
	bal := b.acct[i].Get(tx)
	if !b.overdraft && bal < amount {
		return bank.ErrInsufficientFunds
	}
	b.acct[i].Set(tx, bal-amount)
	return nil
}

// DepositTx adds amount to account i in tx.
func (b *Bank) DepositTx(tx *dstm.Tx, i int, amount int64) {
	b.acct[i].Set(tx, b.acct[i].Get(tx)+amount)
}

// Transfer moves amount between two accounts in one transaction.
func (b *Bank) Transfer(from, to int, amount int64) error {
	if err := b.check(amount, from, to); err != nil || from == to {
		return err
	}
	return dstm.Atomically(b.ctx, b.c, func(tx *dstm.Tx) error {
		if err := b.WithdrawTx(tx, from, amount); err != nil {
			return err
		}
		b.DepositTx(tx, to, amount)
		return nil
	})
}

// Withdraw takes amount from an account in one transaction.
func (b *Bank) Withdraw(i int, amount int64) error {
	if err := b.check(amount, i); err != nil {
		return err
	}
	return dstm.Atomically(b.ctx, b.c, func(tx *dstm.Tx) error { return b.WithdrawTx(tx, i, amount) })
}

// Deposit adds amount to an account in one transaction.
func (b *Bank) Deposit(i int, amount int64) error {
	if err := b.check(amount, i); err != nil {
		return err
	}
	return dstm.Atomically(b.ctx, b.c, func(tx *dstm.Tx) error { b.DepositTx(tx, i, amount); return nil })
}

// AuditTx reads every balance in tx.
func (b *Bank) AuditTx(tx *dstm.Tx) bank.Snapshot {
	tx.Prefetch(b.keyed...)
	bal := make([]int64, len(b.acct))
	for i, v := range b.acct {
		bal[i] = v.Get(tx)
	}
	return snapshot(bal)
}

// Audit reads every balance in one read-only transaction. bank.Bank's
// Audit cannot return an error: one from etcd (the context ended, the
// cluster is gone) panics.
func (b *Bank) Audit() bank.Snapshot {
	au := b.beginAudit()
	s, err := dstm.Eval(b.ctx, b.c, func(tx *dstm.Tx) bank.Snapshot {
		s := b.AuditTx(tx)
		au.attempt(s)
		return s
	})
	if err != nil {
		panic(fmt.Errorf("etcdbank: audit: %w", err))
	}
	return au.done(s)
}

// Balances returns every balance, read in one transaction.
func (b *Bank) Balances() []int64 {
	bal, err := dstm.Eval(b.ctx, b.c, func(tx *dstm.Tx) []int64 {
		tx.Prefetch(b.keyed...)
		bal := make([]int64, len(b.acct))
		for i, v := range b.acct {
			bal[i] = v.Get(tx)
		}
		return bal
	})
	if err != nil {
		panic(fmt.Errorf("etcdbank: reading the balances: %w", err))
	}
	return bal
}
