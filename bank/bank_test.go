package bank

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestOperations checks each mode's operations one at a time, where even
// the negative controls must be right.
func TestOperations(t *testing.T) {
	for _, m := range Modes() {
		t.Run(string(m), func(t *testing.T) {
			b, err := New(m, Options{Accounts: 3, Initial: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Mode() != m || b.Accounts() != 3 {
				t.Fatalf("Mode, Accounts = %v, %d; want %v, 3", b.Mode(), b.Accounts(), m)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(b.Transfer(0, 1, 30))
			must(b.Withdraw(2, 100))
			must(b.Deposit(2, 5))
			if err := b.Transfer(2, 0, 6); !errors.Is(err, ErrInsufficientFunds) {
				t.Errorf("Transfer beyond the balance: err = %v, want ErrInsufficientFunds", err)
			}
			if err := b.Withdraw(2, 6); !errors.Is(err, ErrInsufficientFunds) {
				t.Errorf("Withdraw beyond the balance: err = %v, want ErrInsufficientFunds", err)
			}
			want := []int64{70, 130, 5}
			if got := b.Balances(); !slices.Equal(got, want) {
				t.Errorf("Balances = %v, want %v", got, want)
			}
			s := b.Audit()
			if s.Total != 205 || s.MinBalance != 5 || s.MinAccount != 2 || s.Attempts < 1 || s.LowTotal != 205 || s.HighTotal != 205 {
				t.Errorf("Audit = %+v, want total 205, minimum 5 in account 2", s)
			}
			for _, bad := range []error{
				b.Transfer(0, 3, 1), b.Transfer(-1, 0, 1), b.Transfer(0, 1, 0),
				b.Withdraw(3, 1), b.Withdraw(0, -1), b.Deposit(0, 0), b.Deposit(-1, 1),
			} {
				if bad == nil || errors.Is(bad, ErrInsufficientFunds) {
					t.Errorf("invalid arguments gave err = %v, want an argument error", bad)
				}
			}
			if got := b.Balances(); !slices.Equal(got, want) {
				t.Errorf("after rejected operations, Balances = %v, want %v", got, want)
			}
		})
	}
}

func TestOverdraft(t *testing.T) {
	for _, m := range Modes() {
		b, err := New(m, Options{Accounts: 2, Initial: 10, Overdraft: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Transfer(0, 1, 25); err != nil {
			t.Errorf("%s: Transfer with overdraft: %v", m, err)
		}
		if err := b.Withdraw(1, 50); err != nil {
			t.Errorf("%s: Withdraw with overdraft: %v", m, err)
		}
		if got, want := b.Balances(), []int64{-15, -15}; !slices.Equal(got, want) {
			t.Errorf("%s: Balances = %v, want %v", m, got, want)
		}
		b.Close()
	}
}

// A transfer from an account to itself changes nothing in the correct
// modes (lock-ordered must not take the same lock twice).
func TestSelfTransfer(t *testing.T) {
	for _, m := range Modes() {
		if !m.Correct() {
			continue
		}
		b, _ := New(m, Options{Accounts: 2, Initial: 10})
		if err := b.Transfer(1, 1, 5); err != nil {
			t.Errorf("%s: self-transfer: %v", m, err)
		}
		if got := b.Balances(); !slices.Equal(got, []int64{10, 10}) {
			t.Errorf("%s: after a self-transfer, Balances = %v", m, got)
		}
		b.Close()
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		o    Options
		want string
	}{
		{STM, Options{Accounts: 0}, "Accounts"},
		{Channel, Options{Accounts: 2, Initial: -1}, "Initial"},
		{"bogus", Options{Accounts: 2}, `"bogus"`},
	} {
		_, err := New(c.mode, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %+v) error = %v, want one naming %s", c.mode, c.o, err, c.want)
		}
	}
	if _, err := NewSTM(Options{}); err == nil {
		t.Error("NewSTM with no accounts: no error")
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes() {
		got, err := ParseMode(string(m))
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
		if m.Correct() == (len(m.ExpectedFailures()) > 0) {
			t.Errorf("%s: Correct() = %v but ExpectedFailures() = %v", m, m.Correct(), m.ExpectedFailures())
		}
	}
	if _, err := ParseMode("STM"); err == nil {
		t.Error(`ParseMode("STM") succeeded; modes are lower case`)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig is invalid: %v", err)
	}
	for _, c := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Mode", func(c *Config) { c.Mode = "fast" }},
		{"Accounts", func(c *Config) { c.Accounts = 0 }},
		{"Accounts", func(c *Config) { c.Accounts = 1 }},
		{"Workers", func(c *Config) { c.Workers = 0 }},
		{"Ops", func(c *Config) { c.Ops = -1 }},
		{"Ops", func(c *Config) { c.Ops = 0 }},
		{"Duration", func(c *Config) { c.Duration = -1 }},
		{"Duration", func(c *Config) { c.Duration = 1 }},
		{"AuditPercent", func(c *Config) { c.AuditPercent = 101 }},
		{"AuditPercent", func(c *Config) { c.AuditPercent = -1 }},
		{"Initial", func(c *Config) { c.Initial = -5 }},
		{"Initial", func(c *Config) { c.Initial = 1 << 62 }},
		{"MaxAmount", func(c *Config) { c.MaxAmount = 0 }},
		{"Stall", func(c *Config) { c.Stall = -1 }},
	} {
		cfg := DefaultConfig()
		c.edit(&cfg)
		_, err := Run(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field || !strings.Contains(err.Error(), "Config."+c.field) {
			t.Errorf("Run(%+v) error = %v, want a ConfigError naming %s", cfg, err, c.field)
		}
	}
}
