package bank

import (
	"errors"
	"fmt"
	"math"
)

// Mode is a synchronisation style for a [Bank].
type Mode string

// The modes, negative controls first. The negative controls are there to
// prove that the checks catch what they claim to catch: a check that never
// fails shows nothing.
const (
	// Unsync reads a balance and writes it back with separate atomic load
	// and store: no data race for the race detector, yet concurrent updates
	// of one account are lost.
	Unsync Mode = "unsync"
	// Atomic adds to each balance atomically: the total is conserved, but
	// an audit sees money in flight between the two halves of a transfer,
	// and check-then-withdraw can overdraw.
	Atomic Mode = "atomic"
	// LockNaive locks a mutex per account, source then destination: two
	// opposite transfers deadlock.
	LockNaive Mode = "lock-naive"
	// LockOrdered locks the lower account first; an audit holds every lock.
	LockOrdered Mode = "lock-ordered"
	// GlobalLock serialises everything behind one mutex.
	GlobalLock Mode = "global-lock"
	// Channel lets one goroutine own the balances; the others send it requests.
	Channel Mode = "channel"
	// STM runs every operation as a transaction on one stm.Var per account.
	STM Mode = "stm"
)

var modes = []Mode{Unsync, Atomic, LockNaive, LockOrdered, GlobalLock, Channel, STM}

// Modes returns every mode, negative controls first.
func Modes() []Mode { return append([]Mode(nil), modes...) }

// ParseMode returns the mode named s.
func ParseMode(s string) (Mode, error) {
	for _, m := range modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("bank: unknown mode %q (want one of %v)", s, modes)
}

// Correct reports whether m is expected to pass every check; the other
// modes are negative controls.
func (m Mode) Correct() bool {
	switch m {
	case LockOrdered, GlobalLock, Channel, STM:
		return true
	}
	return false
}

// ExpectedFailures lists the checks a negative control is built to fail,
// at least one of which must fail for the checker to have caught it; it is
// empty for a correct mode.
func (m Mode) ExpectedFailures() []string {
	switch m {
	case Unsync:
		return []string{"B1", "B4"}
	case Atomic:
		return []string{"B2"}
	case LockNaive:
		return []string{"B5"}
	}
	return nil
}

// ErrInsufficientFunds is returned by a withdrawal or transfer that would
// make a balance negative when overdrafts are off.
var ErrInsufficientFunds = errors.New("bank: insufficient funds")

// Options describe a bank to build.
type Options struct {
	Accounts  int   // number of accounts, at least 1
	Initial   int64 // opening balance of every account, at least 0
	Overdraft bool  // allow negative balances
}

func (o Options) validate() error {
	if o.Accounts < 1 {
		return fmt.Errorf("bank: Accounts = %d: need at least 1 account", o.Accounts)
	}
	if o.Initial < 0 {
		return fmt.Errorf("bank: Initial = %d: the opening balance must not be negative", o.Initial)
	}
	return nil
}

// Snapshot is what an audit returns: a view of every balance at once.
type Snapshot struct {
	Total      int64 // sum of every balance
	MinBalance int64 // lowest balance
	MinAccount int   // an account holding MinBalance
	// Attempts is the number of times the audit ran before the view it
	// returns; more than 1 only in STM mode, where conflicts re-run it.
	Attempts int
	// LowTotal and HighTotal are the lowest and highest totals seen by any
	// attempt, committed or not. They differ from Total only if an attempt
	// saw an inconsistent state, which an opaque STM never allows.
	LowTotal, HighTotal int64
}

// Bank is a set of accounts numbered from 0, safe for concurrent use as
// far as its mode allows (the negative controls break on purpose).
type Bank interface {
	// Mode returns the bank's synchronisation style.
	Mode() Mode
	// Accounts returns the number of accounts.
	Accounts() int
	// Transfer moves amount (> 0) from one account to another. With
	// overdrafts off it fails with ErrInsufficientFunds, changing nothing,
	// if from holds less than amount. A transfer from an account to itself
	// changes nothing (and deadlocks in LockNaive mode, by design).
	Transfer(from, to int, amount int64) error
	// Withdraw takes amount (> 0) from an account, under the same rule.
	Withdraw(account int, amount int64) error
	// Deposit adds amount (> 0) to an account.
	Deposit(account int, amount int64) error
	// Audit reads every balance, as one consistent view if the mode can.
	Audit() Snapshot
	// Balances returns every balance. It takes no care to be consistent
	// with operations in flight: call it when the bank is quiet.
	Balances() []int64
	// Close releases what the bank holds (the channel mode's goroutine).
	// The bank must not be used afterwards.
	Close()
}

// New returns a bank in the given mode.
func New(mode Mode, o Options) (Bank, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	switch mode {
	case Unsync:
		return newUnsync(o), nil
	case Atomic:
		return newAtomic(o), nil
	case LockNaive:
		return newLockNaive(o), nil
	case LockOrdered:
		return newLockOrdered(o), nil
	case GlobalLock:
		return newGlobalLock(o), nil
	case Channel:
		return newChannel(o), nil
	case STM:
		return NewSTM(o)
	}
	_, err := ParseMode(string(mode))
	return nil, err
}

// checkArgs validates the accounts and amount of an operation.
func checkArgs(n int, amount int64, accounts ...int) error {
	for _, a := range accounts {
		if a < 0 || a >= n {
			return fmt.Errorf("bank: account %d out of range [0, %d)", a, n)
		}
	}
	if amount <= 0 {
		return fmt.Errorf("bank: amount %d: must be positive", amount)
	}
	return nil
}

// snapshotOf summarises balances read one way or another.
func snapshotOf(get func(i int) int64, n int) Snapshot {
	s := Snapshot{Attempts: 1, MinBalance: math.MaxInt64}
	for i := range n {
		v := get(i)
		s.Total += v
		if v < s.MinBalance {
			s.MinBalance, s.MinAccount = v, i
		}
	}
	s.LowTotal, s.HighTotal = s.Total, s.Total
	return s
}

func initialBalances(o Options) []int64 {
	b := make([]int64, o.Accounts)
	for i := range b {
		b[i] = o.Initial
	}
	return b
}
