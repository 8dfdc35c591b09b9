package bank

import (
	"runtime"
	"sync/atomic"
)

// unsyncBank updates a balance by reading it and writing it back. Each
// access is atomic, so the race detector stays quiet, but the
// read-modify-write is not: an update made between the read and the write
// is overwritten and lost. The yield between them stands for whatever work
// real code does there; it makes the window show on any number of CPUs.
type unsyncBank struct {
	bal       []atomic.Int64
	overdraft bool
}

func newUnsync(o Options) *unsyncBank {
	b := &unsyncBank{bal: make([]atomic.Int64, o.Accounts), overdraft: o.Overdraft}
	for i := range b.bal {
		b.bal[i].Store(o.Initial)
	}
	return b
}

func (b *unsyncBank) Mode() Mode    { return Unsync }
func (b *unsyncBank) Accounts() int { return len(b.bal) }
func (b *unsyncBank) Close()        {}

func (b *unsyncBank) add(i int, d int64) {
	v := b.bal[i].Load()
	runtime.Gosched()
	b.bal[i].Store(v + d)
}

func (b *unsyncBank) Transfer(from, to int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, from, to); err != nil {
		return err
	}
	if err := b.Withdraw(from, amount); err != nil {
		return err
	}
	b.add(to, amount)
	return nil
}

func (b *unsyncBank) Withdraw(i int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, i); err != nil {
		return err
	}
	if !b.overdraft && b.bal[i].Load() < amount {
		return ErrInsufficientFunds
	}
	b.add(i, -amount)
	return nil
}

func (b *unsyncBank) Deposit(i int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, i); err != nil {
		return err
	}
	b.add(i, amount)
	return nil
}

func (b *unsyncBank) Audit() Snapshot {
	return snapshotOf(func(i int) int64 { return b.bal[i].Load() }, len(b.bal))
}

func (b *unsyncBank) Balances() []int64 {
	out := make([]int64, len(b.bal))
	for i := range b.bal {
		out[i] = b.bal[i].Load()
	}
	return out
}
