package bank

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gostm.dev/stm"
)

// DemoStep is one part of the composability demo: what was done and seen,
// as lines for a person, and whether it behaved as STM promises.
type DemoStep struct {
	Title string   `json:"title"`
	Lines []string `json:"lines"`
	OK    bool     `json:"ok"`
}

// ComposeDemo shows what only STM does well, on small STM banks: a
// withdrawal that blocks until funds arrive (and is not woken by
// unrelated commits), a withdrawal from one account or else another, a
// batch of transfers that commits all or nothing, and a transfer built
// from the unchanged WithdrawTx and DepositTx that concurrent audits never
// see half done. It takes about a tenth of a second.
func ComposeDemo(ctx context.Context) ([]DemoStep, error) {
	var steps []DemoStep
	for _, f := range []func(context.Context) (DemoStep, error){demoBlocking, demoOrElse, demoBatch, demoComposed} {
		s, err := f(ctx)
		if err != nil {
			return steps, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func mustSTM(accounts int, initial int64) *STMBank {
	b, err := NewSTM(Options{Accounts: accounts, Initial: initial})
	if err != nil {
		panic(err) // constant, valid arguments
	}
	return b
}

func demoBlocking(ctx context.Context) (DemoStep, error) {
	s := DemoStep{Title: "Withdraw that blocks (Retry) until funds arrive"}
	b := mustSTM(4, 0) // A=0, B=0, and two unrelated accounts C, D
	_ = b.Deposit(2, 1000)
	start := time.Now()
	stamp := func() string { return fmt.Sprintf("+%6.1fms", float64(time.Since(start).Microseconds())/1000) }
	var attempts atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- stm.AtomicallyContext(ctx, func(tx *stm.Tx) error {
			attempts.Add(1) // a diagnostic side effect: how often the body ran
			return b.BlockingWithdrawTx(tx, 0, 30)
		})
	}()
	// Wait for the first attempt to find the account empty.
	for attempts.Load() == 0 {
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	s.Lines = append(s.Lines, stamp()+"  withdraw 30 from A (balance 0): BLOCK")
	const unrelated = 200
	for k := range unrelated {
		_ = b.Transfer(2+k%2, 3-k%2, 1) // C↔D: commits to Vars the withdrawal never read
	}
	time.Sleep(50 * time.Millisecond)
	before := attempts.Load()
	s.Lines = append(s.Lines, fmt.Sprintf("%s  %d unrelated transfers C↔D committed meanwhile; withdrawal attempts so far: %d", stamp(), unrelated, before))
	_ = b.Deposit(0, 50)
	s.Lines = append(s.Lines, stamp()+"  deposit 50 into A")
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return s, ctx.Err()
	}
	if err != nil {
		return s, err
	}
	bal := b.Balances()
	s.Lines = append(s.Lines, fmt.Sprintf("%s  WAKE: withdrawal done after %d attempts; A = %d", stamp(), attempts.Load(), bal[0]))
	s.OK = before == 1 && attempts.Load() == 2 && bal[0] == 20
	return s, nil
}

func demoOrElse(context.Context) (DemoStep, error) {
	s := DemoStep{Title: "Withdraw from A OrElse from B"}
	b := mustSTM(2, 0)
	_ = b.Deposit(0, 10)
	_ = b.Deposit(1, 100)
	names := []string{"A", "B"}
	ok := true
	for _, want := range []int{1, 0} {
		if want == 0 {
			_ = b.Deposit(0, 50)
		}
		before := b.Balances()
		paid, err := b.WithdrawEither(context.Background(), 0, 1, 40)
		if err != nil {
			return s, err
		}
		after := b.Balances()
		s.Lines = append(s.Lines, fmt.Sprintf("A=%d B=%d: withdraw 40 from A or else B → paid by %s; now A=%d B=%d",
			before[0], before[1], names[paid], after[0], after[1]))
		ok = ok && paid == want
	}
	s.OK = ok
	return s, nil
}

func demoBatch(context.Context) (DemoStep, error) {
	s := DemoStep{Title: "A batch of transfers, all or nothing"}
	b := mustSTM(3, 0)
	_ = b.Deposit(0, 100)
	bad := []Transfer{{0, 1, 60}, {0, 2, 60}}
	err := b.TransferBatch(bad)
	after := b.Balances()
	s.Lines = append(s.Lines, fmt.Sprintf("A=100 B=0 C=0: batch [A→B 60, A→C 60] → %v; now A=%d B=%d C=%d",
		err, after[0], after[1], after[2]))
	okBad := errors.Is(err, ErrInsufficientFunds) && after[0] == 100 && after[1] == 0
	good := []Transfer{{0, 1, 60}, {1, 2, 30}}
	err = b.TransferBatch(good)
	after = b.Balances()
	s.Lines = append(s.Lines, fmt.Sprintf("A=100 B=0 C=0: batch [A→B 60, B→C 30] → %v; now A=%d B=%d C=%d",
		err, after[0], after[1], after[2]))
	s.OK = okBad && err == nil && after[0] == 40 && after[1] == 30 && after[2] == 30
	return s, nil
}

func demoComposed(ctx context.Context) (DemoStep, error) {
	s := DemoStep{Title: "Transfer composed from the existing WithdrawTx and DepositTx"}
	const accounts, initial, movers, moves = 8, 100, 4, 2000
	b := mustSTM(accounts, initial)
	// The composition: two operations written separately, made one
	// atomic step by sharing a transaction. No lock order to agree on.
	transfer := func(from, to int, n int64) error {
		return stm.Atomically(func(tx *stm.Tx) error {
			if err := b.WithdrawTx(tx, from, n); err != nil {
				return err
			}
			return b.DepositTx(tx, to, n)
		})
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	var audits, bad atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if b.Audit().Total != accounts*initial {
				bad.Add(1)
			}
			audits.Add(1)
			if stop.Load() || ctx.Err() != nil {
				return
			}
		}
	}()
	var moved atomic.Int64
	var mwg sync.WaitGroup
	for g := range movers {
		mwg.Add(1)
		go func() {
			defer mwg.Done()
			for k := range moves {
				if transfer((g+k)%accounts, (g+3*k+1)%accounts, int64(1+k%7)) == nil {
					moved.Add(1)
				}
			}
		}()
	}
	mwg.Wait()
	stop.Store(true)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return s, err
	}
	var total int64
	for _, v := range b.Balances() {
		total += v
	}
	s.Lines = append(s.Lines,
		"transfer = Atomically { WithdrawTx(from); DepositTx(to) }",
		fmt.Sprintf("%d goroutines made %d transfers while %d audits ran: %d audits saw a total other than %d; final total %d",
			movers, moved.Load(), audits.Load(), bad.Load(), accounts*initial, total))
	s.OK = bad.Load() == 0 && total == accounts*initial && audits.Load() > 0
	return s, nil
}
