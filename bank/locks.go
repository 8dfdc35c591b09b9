package bank

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// lockedAccount is a balance and the mutex that guards it, padded to a
// cache line so that two cores working on neighbouring accounts do not
// slow each other down; the STM's Vars are separate allocations, and the
// comparison should be fair.
type lockedAccount struct {
	mu  sync.Mutex
	bal int64
	_   [48]byte
}

func newAccounts(o Options) []lockedAccount {
	a := make([]lockedAccount, o.Accounts)
	for i := range a {
		a[i].bal = o.Initial
	}
	return a
}

// lockNaiveBank locks the source account, then the destination. Two
// transfers in opposite directions each hold one lock and wait for the
// other's: a deadlock. The yield between the two locks stands for work done
// while holding the first; it makes the deadlock show on any number of
// CPUs. The audit locks one account at a time, so even before the deadlock
// it would not see a consistent total.
type lockNaiveBank struct {
	acct      []lockedAccount
	held      []atomic.Bool // which locks are held, to name them when stuck
	overdraft bool
}

func newLockNaive(o Options) *lockNaiveBank {
	return &lockNaiveBank{acct: newAccounts(o), held: make([]atomic.Bool, o.Accounts), overdraft: o.Overdraft}
}

func (b *lockNaiveBank) Mode() Mode    { return LockNaive }
func (b *lockNaiveBank) Accounts() int { return len(b.acct) }
func (b *lockNaiveBank) Close()        {}

func (b *lockNaiveBank) lock(i int) {
	b.acct[i].mu.Lock()
	b.held[i].Store(true)
}

func (b *lockNaiveBank) unlock(i int) {
	b.held[i].Store(false)
	b.acct[i].mu.Unlock()
}

// lockedAccounts lists the accounts whose locks are held; after a deadlock
// they are the ones the stuck transfers hold.
func (b *lockNaiveBank) lockedAccounts() []int {
	var out []int
	for i := range b.held {
		if b.held[i].Load() {
			out = append(out, i)
		}
	}
	return out
}

func (b *lockNaiveBank) Transfer(from, to int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, from, to); err != nil {
		return err
	}
	b.lock(from)
	defer b.unlock(from)
	runtime.Gosched()
	b.lock(to) // blocks forever on the same account: sync.Mutex is not reentrant
	defer b.unlock(to)
	if !b.overdraft && b.acct[from].bal < amount {
		return ErrInsufficientFunds
	}
	b.acct[from].bal -= amount
	b.acct[to].bal += amount
	return nil
}

func (b *lockNaiveBank) Withdraw(i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	b.lock(i)
	defer b.unlock(i)
	if !b.overdraft && b.acct[i].bal < amount {
		return ErrInsufficientFunds
	}
	b.acct[i].bal -= amount
	return nil
}

func (b *lockNaiveBank) Deposit(i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	b.lock(i)
	b.acct[i].bal += amount
	b.unlock(i)
	return nil
}

func (b *lockNaiveBank) Audit() Snapshot {
	return snapshotOf(func(i int) int64 {
		b.lock(i)
		defer b.unlock(i)
		return b.acct[i].bal
	}, len(b.acct))
}

func (b *lockNaiveBank) Balances() []int64 {
	out := make([]int64, len(b.acct))
	for i := range b.acct {
		b.lock(i)
		out[i] = b.acct[i].bal
		b.unlock(i)
	}
	return out
}

// lockOrderedBank locks the lower-numbered account first, so every
// goroutine takes locks in one global order and no cycle of waiters can
// form. The audit takes every lock in that same order and holds them all
// while it sums, so it sees no transfer half done.
type lockOrderedBank struct {
	acct      []lockedAccount
	overdraft bool
}

func newLockOrdered(o Options) *lockOrderedBank {
	return &lockOrderedBank{acct: newAccounts(o), overdraft: o.Overdraft}
}

func (b *lockOrderedBank) Mode() Mode    { return LockOrdered }
func (b *lockOrderedBank) Accounts() int { return len(b.acct) }
func (b *lockOrderedBank) Close()        {}

func (b *lockOrderedBank) Transfer(from, to int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, from, to); err != nil {
		return err
	}
	if from == to {
		return nil // one lock would be taken twice; the transfer changes nothing anyway
	}
	lo, hi := min(from, to), max(from, to)
	b.acct[lo].mu.Lock()
	b.acct[hi].mu.Lock()
	defer b.acct[lo].mu.Unlock()
	defer b.acct[hi].mu.Unlock()
	if !b.overdraft && b.acct[from].bal < amount {
		return ErrInsufficientFunds
	}
	b.acct[from].bal -= amount
	b.acct[to].bal += amount
	return nil
}

func (b *lockOrderedBank) Withdraw(i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	b.acct[i].mu.Lock()
	defer b.acct[i].mu.Unlock()
	if !b.overdraft && b.acct[i].bal < amount {
		return ErrInsufficientFunds
	}
	b.acct[i].bal -= amount
	return nil
}

func (b *lockOrderedBank) Deposit(i int, amount int64) error {
	if err := checkArgs(len(b.acct), amount, i); err != nil {
		return err
	}
	b.acct[i].mu.Lock()
	b.acct[i].bal += amount
	b.acct[i].mu.Unlock()
	return nil
}

func (b *lockOrderedBank) Audit() Snapshot {
	for i := range b.acct {
		b.acct[i].mu.Lock()
	}
	s := snapshotOf(func(i int) int64 { return b.acct[i].bal }, len(b.acct))
	for i := range b.acct {
		b.acct[i].mu.Unlock()
	}
	return s
}

func (b *lockOrderedBank) Balances() []int64 {
	out := make([]int64, len(b.acct))
	for i := range b.acct {
		b.acct[i].mu.Lock()
		out[i] = b.acct[i].bal
		b.acct[i].mu.Unlock()
	}
	return out
}

// globalLockBank guards every balance with one mutex: obviously correct,
// and only one operation runs at a time.
type globalLockBank struct {
	mu        sync.Mutex
	bal       []int64
	overdraft bool
}

func newGlobalLock(o Options) *globalLockBank {
	return &globalLockBank{bal: initialBalances(o), overdraft: o.Overdraft}
}

func (b *globalLockBank) Mode() Mode    { return GlobalLock }
func (b *globalLockBank) Accounts() int { return len(b.bal) }
func (b *globalLockBank) Close()        {}

func (b *globalLockBank) Transfer(from, to int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, from, to); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.overdraft && b.bal[from] < amount {
		return ErrInsufficientFunds
	}
	b.bal[from] -= amount
	b.bal[to] += amount
	return nil
}

func (b *globalLockBank) Withdraw(i int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, i); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.overdraft && b.bal[i] < amount {
		return ErrInsufficientFunds
	}
	b.bal[i] -= amount
	return nil
}

func (b *globalLockBank) Deposit(i int, amount int64) error {
	if err := checkArgs(len(b.bal), amount, i); err != nil {
		return err
	}
	b.mu.Lock()
	b.bal[i] += amount
	b.mu.Unlock()
	return nil
}

func (b *globalLockBank) Audit() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return snapshotOf(func(i int) int64 { return b.bal[i] }, len(b.bal))
}

func (b *globalLockBank) Balances() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.bal...)
}
