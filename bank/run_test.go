package bank

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gostm.dev/internal/testseed"
)

// seed returns the seed for a randomised test; BANK_SEED replays one.
func seed(t *testing.T) uint64 { return testseed.Get(t, "BANK_SEED") }

func mustRun(t *testing.T, cfg Config) Report {
	t.Helper()
	rep, err := Run(cfg)
	if err != nil {
		t.Fatalf("Run(%+v): %v", cfg, err)
	}
	return rep
}

func describe(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode=%s accounts=%d workers=%d ops=%d audit=%d%% overdraft=%v seed=%d",
		r.Config.Mode, r.Config.Accounts, r.Config.Workers, r.Config.Ops, r.Config.AuditPercent, r.Config.Overdraft, r.Config.Seed)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "\n  %s %s %s %s", c.ID, c.Status, c.Detail, c.Counterexample)
	}
	return b.String()
}

// The correct modes pass every check on many seeds and shapes: few
// accounts (hot), more accounts, audits or none, overdrafts on or off.
func TestCorrectModesPass(t *testing.T) {
	base := seed(t)
	shapes := []struct {
		accounts, workers, audit int
		overdraft                bool
	}{
		{2, 4, 50, false}, {16, 8, 20, false}, {16, 3, 0, true}, {128, 8, 20, true},
		{4, 2, 90, false}, {64, 5, 20, false},
	}
	for _, m := range Modes() {
		if !m.Correct() {
			continue
		}
		t.Run(string(m), func(t *testing.T) {
			for k, sh := range shapes {
				cfg := DefaultConfig()
				cfg.Mode, cfg.Seed, cfg.Ops = m, base+uint64(k), 3000
				cfg.Accounts, cfg.Workers, cfg.AuditPercent, cfg.Overdraft = sh.accounts, sh.workers, sh.audit, sh.overdraft
				rep := mustRun(t, cfg)
				if !rep.Passed() || rep.Deadlocked || rep.Ops != cfg.Ops {
					t.Errorf("want every check to pass and %d ops:\n%s", cfg.Ops, describe(rep))
				}
				if sh.audit > 0 && rep.Check("B2").Status != Pass {
					t.Errorf("B2 did not run:\n%s", describe(rep))
				}
				if (rep.Check("B3").Status == Skip) != sh.overdraft {
					t.Errorf("B3 is %s with overdraft=%v", rep.Check("B3").Status, sh.overdraft)
				}
			}
		})
	}
}

// unsync must lose money at the demo defaults, whatever the seed.
func TestUnsyncLosesMoney(t *testing.T) {
	base := seed(t)
	for k := range uint64(3) {
		cfg := DefaultConfig()
		cfg.Mode, cfg.Seed = Unsync, base+k
		rep := mustRun(t, cfg)
		b1, b4 := rep.Check("B1"), rep.Check("B4")
		if b1.Status != Fail && b4.Status != Fail {
			t.Fatalf("unsync kept every update; want B1 or B4 to fail:\n%s", describe(rep))
		}
		for _, c := range []Check{b1, b4} {
			if c.Status == Fail && c.Counterexample == "" {
				t.Errorf("%s failed without a counterexample", c.ID)
			}
		}
		if !rep.AsExpected() {
			t.Errorf("AsExpected() = false for a caught negative control")
		}
	}
}

// atomic conserves money and keeps the ledger, but audits see money in flight.
func TestAtomicAuditsSeeMoneyInFlight(t *testing.T) {
	base := seed(t)
	for k := range uint64(3) {
		cfg := DefaultConfig()
		cfg.Mode, cfg.Seed = Atomic, base+k
		rep := mustRun(t, cfg)
		if rep.Check("B2").Status != Fail || rep.Check("B2").Counterexample == "" {
			t.Fatalf("want B2 to fail with a counterexample:\n%s", describe(rep))
		}
		if rep.Check("B1").Status != Pass || rep.Check("B4").Status != Pass {
			t.Errorf("atomic adds lose nothing; want B1 and B4 to pass:\n%s", describe(rep))
		}
	}
}

// atomic's check-then-withdraw overdraws; the final balances may recover,
// the audits see it. With the many conflicting workers of the default it
// shows on any seed.
func TestAtomicOverdraws(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode, cfg.Seed, cfg.Initial, cfg.AuditPercent = Atomic, seed(t), 50, 50
	rep := mustRun(t, cfg)
	if rep.Check("B3").Status != Fail {
		t.Errorf("want B3 to fail:\n%s", describe(rep))
	}
	cfg.Overdraft = true
	if rep := mustRun(t, cfg); rep.Check("B3").Status != Skip {
		t.Errorf("with overdrafts allowed, B3 = %s, want SKIP", rep.Check("B3").Status)
	}
}

const childEnv = "BANK_LOCKNAIVE_CHILD"

// TestLockNaiveDeadlocks runs lock-naive in a child process (this test
// binary, re-executed), because its deadlocked goroutines never end and
// would otherwise stay in this process for the other tests.
func TestLockNaiveDeadlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLockNaiveChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child: err = %v, want exit status 3 (deadlock); output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "deadlocked=true B5=FAIL") || !strings.Contains(string(out), "accounts locked") {
		t.Errorf("child output lacks the deadlock verdict:\n%s", out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the watchdog took %v to report the deadlock", d)
	}
}

// TestLockNaiveChild is the child of TestLockNaiveDeadlocks; on its own it
// does nothing.
func TestLockNaiveChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("runs only as the child of TestLockNaiveDeadlocks")
	}
	cfg := DefaultConfig()
	cfg.Mode, cfg.Stall = LockNaive, 300*time.Millisecond
	rep := mustRun(t, cfg)
	b5 := rep.Check("B5")
	fmt.Printf("deadlocked=%v B5=%s %s; %s\n", rep.Deadlocked, b5.Status, b5.Detail, b5.Counterexample)
	if rep.Deadlocked {
		os.Exit(3) // leave at once: the stuck goroutines would fail goleak-style checks
	}
}

// B5 is not a formality: a run that merely takes long is not a deadlock.
func TestWatchdogToleratesSlowProgress(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode, cfg.Ops, cfg.Duration, cfg.Stall = Channel, 0, 150*time.Millisecond, 50*time.Millisecond
	rep := mustRun(t, cfg)
	if rep.Deadlocked || !rep.Passed() || rep.Ops == 0 {
		t.Errorf("a 150ms run with a 50ms stall limit:\n%s", describe(rep))
	}
	if rep.Elapsed < 150*time.Millisecond || rep.Elapsed > 5*time.Second {
		t.Errorf("Elapsed = %v for a 150ms run", rep.Elapsed)
	}
}

// STM audits hold the invariant on every attempt, not only the committed
// one. Hot accounts and long audits make attempts abort, so the check
// covers attempts that saw a conflict.
func TestSTMAuditsOpaque(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode, cfg.Seed, cfg.Accounts, cfg.Ops, cfg.AuditPercent = STM, seed(t), 64, 6000, 30
	rep := mustRun(t, cfg)
	if !rep.Passed() {
		t.Fatalf("STM run failed:\n%s", describe(rep))
	}
	s := rep.STM
	if s == nil {
		t.Fatal("no STM stats in an STM run")
	}
	if s.AuditAttempts < rep.Audits || s.Attempts < s.Commits || s.MaxAttempts < 1 || s.Commits != rep.Transfers+rep.Audits {
		t.Errorf("inconsistent STM stats %+v for %d transfers and %d audits", *s, rep.Transfers, rep.Audits)
	}
	if !strings.Contains(rep.Check("B2").Detail, "every attempt") {
		t.Errorf("B2 detail %q does not cover attempts", rep.Check("B2").Detail)
	}
	t.Logf("audits %d, audit attempts %d, most %d; engine %+v", rep.Audits, s.AuditAttempts, s.MaxAudit, s.Engine)
}

// B2 counts attempts too: an audit whose aborted attempt saw a broken
// total fails it even if the committed attempt was right.
func TestB2CatchesBadAttempt(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Accounts, cfg.Initial = 1, 100
	r := &run{cfg: cfg, expect: 100, start: time.Now()}
	r.stmBank = &STMBank{}
	wk := &worker{lowAudit: 1 << 62, highAudit: -1 << 62, debits: []int64{0}, credits: []int64{0}}
	r.workers = []*worker{wk}
	r.bank = fakeAuditor{Snapshot{Total: 100, Attempts: 3, LowTotal: 90, HighTotal: 100}}
	r.audit(0, wk)
	rep := Report{Config: r.cfg, Elapsed: time.Second}
	r.summarise(&rep, []int64{100})
	if b2 := rep.Check("B2"); b2.Status != Fail || !strings.Contains(b2.Counterexample, "from 90 to 100") {
		t.Errorf("B2 = %+v, want a failure naming the attempt's total", b2)
	}
}

type fakeAuditor struct{ s Snapshot }

func (f fakeAuditor) Mode() Mode                     { return STM }
func (f fakeAuditor) Accounts() int                  { return 1 }
func (f fakeAuditor) Transfer(int, int, int64) error { return nil }
func (f fakeAuditor) Withdraw(int, int64) error      { return nil }
func (f fakeAuditor) Deposit(int, int64) error       { return nil }
func (f fakeAuditor) Audit() Snapshot                { return f.s }
func (f fakeAuditor) Balances() []int64              { return []int64{f.s.Total} }
func (f fakeAuditor) Close()                         {}

func TestRunContextInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := DefaultConfig()
	cfg.Mode, cfg.Ops, cfg.Duration = GlobalLock, 0, time.Hour
	time.AfterFunc(50*time.Millisecond, cancel)
	rep, err := RunContext(ctx, cfg)
	if !errors.Is(err, context.Canceled) || !rep.Interrupted {
		t.Fatalf("err = %v, Interrupted = %v; want context.Canceled and true", err, rep.Interrupted)
	}
	if !rep.Passed() || rep.Ops == 0 {
		t.Errorf("the checks of an interrupted run still apply to what ran:\n%s", describe(rep))
	}
}

func TestDurationRun(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode, cfg.Ops, cfg.Duration, cfg.Seed = STM, 0, 100*time.Millisecond, seed(t)
	rep := mustRun(t, cfg)
	if !rep.Passed() || rep.Ops == 0 || rep.Throughput <= 0 {
		t.Errorf("duration run:\n%s", describe(rep))
	}
}

func TestRunModes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ops = 2000
	reps, err := RunModes(context.Background(), cfg, []Mode{Unsync, STM})
	if err != nil || len(reps) != 2 || reps[0].Config.Mode != Unsync || reps[1].Config.Mode != STM {
		t.Fatalf("RunModes = %d reports, %v", len(reps), err)
	}
	cfg.Accounts = 0
	if _, err := RunModes(context.Background(), cfg, []Mode{STM}); err == nil {
		t.Error("RunModes with an invalid config: no error")
	}
}
