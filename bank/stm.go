package bank

import (
	"context"
	"fmt"
	"math"

	"gostm.dev/stm"
)

// STMBank is the bank in STM mode: one stm.Var per account. Besides the
// [Bank] methods, each of which is one transaction, it offers its
// operations as pieces of a caller's transaction (the methods ending in
// Tx), which compose: several of them in one stm.Atomically body commit
// together or not at all, and no other goroutine sees a state in between.
type STMBank struct {
	acct      []*stm.Var[int64]
	overdraft bool
}

// NewSTM returns a bank in STM mode.
func NewSTM(o Options) (*STMBank, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	b := &STMBank{acct: make([]*stm.Var[int64], o.Accounts), overdraft: o.Overdraft}
	for i := range b.acct {
		b.acct[i] = stm.NewVar(o.Initial)
	}
	return b, nil
}

// Mode returns STM.
func (b *STMBank) Mode() Mode { return STM }

// Accounts returns the number of accounts.
func (b *STMBank) Accounts() int { return len(b.acct) }

// Close does nothing: an STMBank holds no goroutine.
func (b *STMBank) Close() {}

// Account returns the Var holding account i's balance, for transactions
// the methods here do not cover. It panics if i is out of range.
func (b *STMBank) Account(i int) *stm.Var[int64] { return b.acct[i] }

// BalanceTx returns account i's balance in tx. It panics if i is out of range.
func (b *STMBank) BalanceTx(tx *stm.Tx, i int) int64 { return b.acct[i].Get(tx) }

// WithdrawTx takes amount from account i in tx. With overdrafts off it
// returns ErrInsufficientFunds, writing nothing, if the balance is short;
// the caller's body should return that error so the whole transaction
// rolls back.
func (b *STMBank) WithdrawTx(tx *stm.Tx, i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	bal := b.acct[i].Get(tx)
	if !b.overdraft && bal < amount {
		return ErrInsufficientFunds
	}
	b.acct[i].Set(tx, bal-amount)
	return nil
}

// DepositTx adds amount to account i in tx.
func (b *STMBank) DepositTx(tx *stm.Tx, i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	b.acct[i].Modify(tx, func(v int64) int64 { return v + amount })
	return nil
}

// TransferTx moves amount between two accounts in tx. It is nothing but
// WithdrawTx followed by DepositTx: the transaction, not a locking
// protocol, makes the pair atomic.
func (b *STMBank) TransferTx(tx *stm.Tx, from, to int, amount int64) error {
	if err := b.WithdrawTx(tx, from, amount); err != nil {
		return err
	}
	return b.DepositTx(tx, to, amount)
}

// BlockingWithdrawTx takes amount from account i in tx, calling tx.Retry
// while the balance is short: the transaction blocks until a commit
// changes the account, then tries again. It ignores the overdraft policy,
// since waiting for funds is the point. Inside stm.OrElse the Retry moves
// on to the next alternative instead of blocking.
func (b *STMBank) BlockingWithdrawTx(tx *stm.Tx, i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	bal := b.acct[i].Get(tx)
	tx.Check(bal >= amount)
	b.acct[i].Set(tx, bal-amount)
	return nil
}

// BlockingWithdraw is BlockingWithdrawTx in a transaction of its own: it
// returns once the money is taken, or with ctx's error if ctx ends first.
func (b *STMBank) BlockingWithdraw(ctx context.Context, i int, amount int64) error {
	return stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		return b.BlockingWithdrawTx(tx, i, amount)
	})
}

// WithdrawEitherTx takes amount from account first if it can, or else
// from account second, and returns the account it took it from. If
// neither can pay, the transaction blocks until one of them changes.
func (b *STMBank) WithdrawEitherTx(tx *stm.Tx, first, second int, amount int64) (int, error) {
	if err := checkArgs(len(b.acct), amount, first, second); err != nil {
		return 0, err
	}
	from := func(i int) func(*stm.Tx) int {
		return func(tx *stm.Tx) int {
			_ = b.BlockingWithdrawTx(tx, i, amount) // arguments checked above: it can only Retry
			return i
		}
	}
	return stm.OrElse(tx, from(first), from(second)), nil
}

// WithdrawEither is WithdrawEitherTx in a transaction of its own, bounded by ctx.
func (b *STMBank) WithdrawEither(ctx context.Context, first, second int, amount int64) (int, error) {
	var paid int
	err := stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
		var err error
		paid, err = b.WithdrawEitherTx(tx, first, second, amount)
		return err
	})
	return paid, err
}

// Transfer is one transfer of a batch.
type Transfer struct {
	From, To int
	Amount   int64
}

// TransferBatch applies every transfer in one transaction: all of them or,
// if any fails, none. The error names the first transfer that failed.
func (b *STMBank) TransferBatch(batch []Transfer) error {
	return stm.Atomically(func(tx *stm.Tx) error {
		for k, t := range batch {
			if err := b.TransferTx(tx, t.From, t.To, t.Amount); err != nil {
				return fmt.Errorf("transfer %d of %d (%d→%d, %d): %w", k+1, len(batch), t.From, t.To, t.Amount, err)
			}
		}
		return nil
	})
}

// AuditTx reads every balance in tx. Because the engine is opaque, the
// view is consistent on every attempt, not only on the one that commits.
func (b *STMBank) AuditTx(tx *stm.Tx) Snapshot {
	return snapshotOf(func(i int) int64 { return b.acct[i].Get(tx) }, len(b.acct))
}

// Transfer moves amount between two accounts in one transaction.
func (b *STMBank) Transfer(from, to int, amount int64) error {
	_, err := b.transfer(from, to, amount)
	return err
}

// transfer is Transfer, also returning how many attempts it took.
func (b *STMBank) transfer(from, to int, amount int64) (attempts int, err error) {
	err = stm.Atomically(func(tx *stm.Tx) error {
		attempts++
		return b.TransferTx(tx, from, to, amount)
	})
	return attempts, err
}

// Withdraw takes amount from an account in one transaction.
func (b *STMBank) Withdraw(i int, amount int64) error {
	return stm.Atomically(func(tx *stm.Tx) error { return b.WithdrawTx(tx, i, amount) })
}

// Deposit adds amount to an account in one transaction.
func (b *STMBank) Deposit(i int, amount int64) error {
	return stm.Atomically(func(tx *stm.Tx) error { return b.DepositTx(tx, i, amount) })
}

// Audit reads every balance in one transaction. Its Snapshot also records
// the attempts the audit took and the lowest and highest total that any
// attempt computed, so a caller can check the invariant held on every
// attempt, including those that aborted.
func (b *STMBank) Audit() Snapshot {
	var s Snapshot
	attempts, low, high := 0, int64(math.MaxInt64), int64(math.MinInt64)
	_ = stm.Atomically(func(tx *stm.Tx) error {
		attempts++
		s = b.AuditTx(tx)
		// A deliberate side effect: the body records what every attempt
		// saw, which is the point of checking opacity.
		low, high = min(low, s.Total), max(high, s.Total)
		return nil
	})
	s.Attempts, s.LowTotal, s.HighTotal = attempts, low, high
	return s
}

// Balances returns every balance, read in one transaction.
func (b *STMBank) Balances() []int64 {
	out := make([]int64, len(b.acct))
	_ = stm.Atomically(func(tx *stm.Tx) error {
		for i, v := range b.acct {
			out[i] = v.Get(tx)
		}
		return nil
	})
	return out
}
