package bank

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"gostm.dev/stm"
)

// A blocked BlockingWithdraw parks (synctest sees it durably blocked), is
// not woken by commits to accounts it did not read, and finishes once a
// deposit covers it, after exactly one more attempt.
func TestBlockingWithdrawParks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := NewSTM(Options{Accounts: 3})
		_ = b.Deposit(1, 1000)
		var attempts atomic.Int64
		done := make(chan error, 1)
		go func() {
			done <- stm.Atomically(func(tx *stm.Tx) error {
				attempts.Add(1)
				return b.BlockingWithdrawTx(tx, 0, 30)
			})
		}()
		synctest.Wait()
		if n := attempts.Load(); n != 1 {
			t.Fatalf("attempts before any deposit = %d, want 1", n)
		}
		for range 100 { // 100ms of unrelated commits
			_ = b.Transfer(1, 2, 1)
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("withdrawal returned %v with nothing deposited", err)
		default:
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("unrelated commits re-ran the blocked withdrawal: %d attempts, want 1", n)
		}
		_ = b.Deposit(0, 20) // not enough yet: it wakes, looks, blocks again
		synctest.Wait()
		_ = b.Deposit(0, 20)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := attempts.Load(); n != 3 {
			t.Errorf("attempts = %d, want 3 (one per change of account 0)", n)
		}
		if got := b.Balances(); !slices.Equal(got, []int64{10, 900, 100}) {
			t.Errorf("Balances = %v, want [10 900 100]", got)
		}
	})
}

func TestBlockingWithdrawContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := NewSTM(Options{Accounts: 2})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := b.BlockingWithdraw(ctx, 0, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want DeadlineExceeded", err)
		}
		if _, err := b.WithdrawEither(ctx, 0, 1, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WithdrawEither: err = %v, want DeadlineExceeded", err)
		}
		if err := b.BlockingWithdraw(context.Background(), 5, 1); err == nil {
			t.Error("BlockingWithdraw from a missing account: no error")
		}
		if _, err := b.WithdrawEither(context.Background(), 0, 1, 0); err == nil {
			t.Error("WithdrawEither of 0: no error")
		}
	})
}

// WithdrawEither prefers the first account, falls back to the second
// (discarding nothing it should keep), and blocks until either can pay.
func TestWithdrawEither(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := NewSTM(Options{Accounts: 2})
		_ = b.Deposit(0, 10)
		_ = b.Deposit(1, 50)
		ctx := context.Background()
		if paid, err := b.WithdrawEither(ctx, 0, 1, 30); err != nil || paid != 1 {
			t.Fatalf("WithdrawEither(30) = %d, %v; want account 1", paid, err)
		}
		if paid, err := b.WithdrawEither(ctx, 0, 1, 10); err != nil || paid != 0 {
			t.Fatalf("WithdrawEither(10) = %d, %v; want account 0", paid, err)
		}
		if got := b.Balances(); !slices.Equal(got, []int64{0, 20}) {
			t.Fatalf("Balances = %v, want [0 20]", got)
		}
		done := make(chan int, 1)
		go func() {
			paid, _ := b.WithdrawEither(ctx, 0, 1, 25)
			done <- paid
		}()
		synctest.Wait()
		select {
		case p := <-done:
			t.Fatalf("neither account could pay 25, yet account %d did", p)
		default:
		}
		_ = b.Deposit(1, 10) // the second alternative's read wakes it
		if p := <-done; p != 1 {
			t.Errorf("paid by %d, want 1", p)
		}
	})
}

func TestTransferBatch(t *testing.T) {
	b, _ := NewSTM(Options{Accounts: 3, Initial: 100})
	err := b.TransferBatch([]Transfer{{0, 1, 50}, {1, 2, 160}, {2, 0, 1}})
	if !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("err = %v, want ErrInsufficientFunds", err)
	}
	if got := b.Balances(); !slices.Equal(got, []int64{100, 100, 100}) {
		t.Errorf("a failed batch left Balances = %v", got)
	}
	if err := b.TransferBatch([]Transfer{{0, 1, 50}, {1, 2, 120}}); err != nil {
		t.Fatal(err)
	}
	if got := b.Balances(); !slices.Equal(got, []int64{50, 30, 220}) {
		t.Errorf("Balances = %v, want [50 30 220]", got)
	}
	if err := b.TransferBatch([]Transfer{{0, 9, 1}}); err == nil || errors.Is(err, ErrInsufficientFunds) {
		t.Errorf("batch with a missing account: err = %v", err)
	}
}

func TestComposeDemo(t *testing.T) {
	steps, err := ComposeDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 4 {
		t.Fatalf("%d steps, want 4", len(steps))
	}
	for _, s := range steps {
		if !s.OK || len(s.Lines) == 0 {
			t.Errorf("step %q failed: %q", s.Title, s.Lines)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ComposeDemo(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ComposeDemo on a cancelled context: err = %v", err)
	}
}

func TestTour(t *testing.T) {
	reps, err := Tour(context.Background(), seed(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != len(TourModes) {
		t.Fatalf("%d reports, want %d", len(reps), len(TourModes))
	}
	for i, r := range reps {
		if r.Config.Mode != TourModes[i] || !r.Passed() || r.Throughput <= 0 {
			t.Errorf("tour run:\n%s", describe(r))
		}
	}
}
