package bank_test

import (
	"context"
	"fmt"

	"gostm.dev/bank"
	"gostm.dev/stm"
)

// A withdrawal that cannot be covered blocks (stm's Retry) until a
// deposit arrives, then completes.
func ExampleSTMBank_BlockingWithdraw() {
	b, _ := bank.NewSTM(bank.Options{Accounts: 2})
	done := make(chan error)
	go func() { done <- b.BlockingWithdraw(context.Background(), 0, 30) }()
	_ = b.Deposit(0, 50) // whenever it lands, the withdrawal waits for it
	fmt.Println(<-done, b.Balances())
	// Output: <nil> [20 0]
}

// Take the money from the first account if it can pay, or else from the second.
func ExampleSTMBank_WithdrawEither() {
	b, _ := bank.NewSTM(bank.Options{Accounts: 2})
	_ = b.Deposit(0, 10)
	_ = b.Deposit(1, 100)
	paid, err := b.WithdrawEither(context.Background(), 0, 1, 40)
	fmt.Println(paid, err, b.Balances())
	// Output: 1 <nil> [10 60]
}

// A batch commits every transfer or none.
func ExampleSTMBank_TransferBatch() {
	b, _ := bank.NewSTM(bank.Options{Accounts: 3, Initial: 100})
	err := b.TransferBatch([]bank.Transfer{{From: 0, To: 1, Amount: 60}, {From: 0, To: 2, Amount: 60}})
	fmt.Println(err)
	fmt.Println(b.Balances())
	// Output:
	// transfer 2 of 2 (0→2, 60): bank: insufficient funds
	// [100 100 100]
}

// A transfer composed from the existing WithdrawTx and DepositTx, unchanged:
// the shared transaction makes the two one atomic step, and the error of
// either rolls back both.
func ExampleSTMBank_WithdrawTx() {
	b, _ := bank.NewSTM(bank.Options{Accounts: 2, Initial: 100})
	transfer := func(from, to int, amount int64) error {
		return stm.Atomically(func(tx *stm.Tx) error {
			if err := b.WithdrawTx(tx, from, amount); err != nil {
				return err
			}
			return b.DepositTx(tx, to, amount)
		})
	}
	fmt.Println(transfer(0, 1, 30), b.Balances())
	fmt.Println(transfer(0, 1, 500), b.Balances())
	// Output:
	// <nil> [70 130]
	// bank: insufficient funds [70 130]
}

// Run a mode and read its verdicts.
func ExampleRun() {
	cfg := bank.DefaultConfig() // 16 accounts, 8 workers, 200000 operations, 20% audits
	cfg.Mode, cfg.Ops = bank.LockOrdered, 20000
	rep, err := bank.Run(cfg)
	if err != nil {
		panic(err)
	}
	for _, c := range rep.Checks {
		fmt.Println(c.ID, c.Name, c.Status)
	}
	// Output:
	// B1 conservation PASS
	// B2 audits PASS
	// B3 non-negative PASS
	// B4 ledger PASS
	// B5 progress PASS
}
