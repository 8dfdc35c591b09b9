package bank

import (
	"runtime"
	"sync/atomic"
)

// atomicBank changes each balance with one atomic add. No update is lost
// and the final total is right, but a transfer is two separate adds, so an
// audit running between them sees money in flight; and a withdrawal checks
// the balance, then subtracts, so two of them can both pass the check and
// overdraw. The yields stand for the work real code does in those windows;
// they make the windows show on any number of CPUs, and they make this
// mode's throughput meaningless as a measurement.
type atomicBank struct {
	bal       []atomic.Int64
	overdraft bool
}

func newAtomic(o Options) *atomicBank {
	b := &atomicBank{bal: make([]atomic.Int64, o.Accounts), overdraft: o.Overdraft}
	for i := range b.bal {
		b.bal[i].Store(o.Initial)
	}
	return b
}

func (b *atomicBank) Mode() Mode    { return Atomic }
func (b *atomicBank) Accounts() int { return len(b.bal) }
func (b *atomicBank) Close()        {}

func (b *atomicBank) Transfer(from, to int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, from, to); err != nil {
		return err
	}
	if err := b.Withdraw(from, amount); err != nil {
		return err
	}
	runtime.Gosched()
	b.bal[to].Add(amount)
	return nil
}

func (b *atomicBank) Withdraw(i int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, i); err != nil {
		return err
	}
	if !b.overdraft {
		if b.bal[i].Load() < amount {
			return ErrInsufficientFunds
		}
		runtime.Gosched()
	}
	b.bal[i].Add(-amount)
	return nil
}

func (b *atomicBank) Deposit(i int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, i); err != nil {
		return err
	}
	b.bal[i].Add(amount)
	return nil
}

func (b *atomicBank) Audit() Snapshot {
	return snapshotOf(func(i int) int64 { return b.bal[i].Load() }, len(b.bal))
}

func (b *atomicBank) Balances() []int64 {
	out := make([]int64, len(b.bal))
	for i := range b.bal {
		out[i] = b.bal[i].Load()
	}
	return out
}
