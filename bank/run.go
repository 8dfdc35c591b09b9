package bank

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gostm.dev/stm"
)

// Config describes a run: Workers goroutines share Ops operations (or run
// for Duration), each a transfer of a random amount between two distinct
// random accounts or, AuditPercent percent of the time, an audit of the
// whole bank.
type Config struct {
	Mode         Mode          `json:"mode"`
	Accounts     int           `json:"accounts"`      // at least 2
	Workers      int           `json:"workers"`       // at least 1
	Ops          int64         `json:"ops"`           // total operations; set this or Duration
	Duration     time.Duration `json:"duration_ns"`   // run time; set this or Ops
	AuditPercent int           `json:"audit_percent"` // 0 to 100
	Initial      int64         `json:"initial"`       // opening balance of each account, at least 0
	MaxAmount    int64         `json:"max_amount"`    // transfers move 1 to MaxAmount
	Overdraft    bool          `json:"overdraft"`     // allow negative balances
	Seed         uint64        `json:"seed"`          // the workers' random choices derive from it
	// Stall is how long the watchdog waits for any operation to finish
	// before it declares a deadlock; 0 means DefaultStall.
	Stall time.Duration `json:"stall_ns"`
}

// DefaultStall is the watchdog's default patience.
const DefaultStall = time.Second

// DefaultConfig returns the demo's settings: 16 accounts of 1000, 8
// workers, 200000 operations, 20% audits, overdrafts off, STM mode. The
// few accounts and many workers make the races of the negative controls
// show quickly.
func DefaultConfig() Config {
	return Config{
		Mode: STM, Accounts: 16, Workers: 8, Ops: 200_000, AuditPercent: 20,
		Initial: 1000, MaxAmount: 100, Seed: 1,
	}
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	Field  string // the Config field, e.g. "Accounts"
	Value  any    // its value
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("bank: Config.%s = %v: %s", e.Field, e.Value, e.Reason)
}

// Validate reports the first invalid field of c as a *ConfigError.
func (c Config) Validate() error {
	bad := func(f string, v any, why string) error { return &ConfigError{f, v, why} }
	switch {
	case !validMode(c.Mode):
		return bad("Mode", fmt.Sprintf("%q", c.Mode), fmt.Sprintf("unknown mode (want one of %v)", modes))
	case c.Accounts < 2:
		return bad("Accounts", c.Accounts, "need at least 2 (a transfer joins two distinct accounts)")
	case c.Workers < 1:
		return bad("Workers", c.Workers, "need at least 1")
	case c.Ops < 0:
		return bad("Ops", c.Ops, "must not be negative")
	case c.Duration < 0:
		return bad("Duration", c.Duration, "must not be negative")
	case c.Ops == 0 && c.Duration == 0:
		return bad("Ops", c.Ops, "set Ops or Duration to bound the run")
	case c.Ops > 0 && c.Duration > 0:
		return bad("Duration", c.Duration, "set Ops or Duration, not both")
	case c.AuditPercent < 0 || c.AuditPercent > 100:
		return bad("AuditPercent", c.AuditPercent, "must be between 0 and 100")
	case c.Initial < 0:
		return bad("Initial", c.Initial, "must not be negative")
	case c.MaxAmount < 1:
		return bad("MaxAmount", c.MaxAmount, "must be at least 1")
	case c.Stall < 0:
		return bad("Stall", c.Stall, "must not be negative")
	case c.Initial > math.MaxInt64/int64(c.Accounts)/2:
		return bad("Initial", c.Initial, "the bank's total would overflow int64")
	}
	return nil
}

func validMode(m Mode) bool {
	_, err := ParseMode(string(m))
	return err == nil
}

// Status is the verdict of a check.
type Status string

// The verdicts.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP" // the check does not apply to this run
)

// Check is the outcome of one check of a run.
type Check struct {
	ID     string `json:"id"`     // B1 … B5
	Name   string `json:"name"`   // what it checks, in a word or two
	Status Status `json:"status"` // PASS, FAIL or SKIP
	Detail string `json:"detail"` // a one-line summary of the evidence
	// Counterexample is the first violation found (earliest in time), when
	// Status is FAIL.
	Counterexample string `json:"counterexample,omitempty"`
}

// STMStats are the STM engine's figures for a run in STM mode.
type STMStats struct {
	Commits       int64 `json:"commits"`        // transactions that committed (transfers and audits)
	Attempts      int64 `json:"attempts"`       // attempts of every transaction, committed or not
	MaxAttempts   int   `json:"max_attempts"`   // most attempts one transaction needed
	AuditAttempts int64 `json:"audit_attempts"` // attempts of audit transactions
	MaxAudit      int   `json:"max_audit"`      // most attempts one audit needed
	// Engine is what the engine counted during the run: aborts by cause,
	// blocks in Retry, wake-ups, irrevocable attempts. Its counters are
	// process-wide, so they include other transactions running at the time.
	Engine stm.Stats `json:"engine"`
}

// Report is the outcome of a run.
type Report struct {
	Config       Config        `json:"config"`
	GOMAXPROCS   int           `json:"gomaxprocs"`
	Checks       []Check       `json:"checks"`    // B1 to B5, in order
	Ops          int64         `json:"ops"`       // operations finished
	Transfers    int64         `json:"transfers"` // transfers that moved money
	Declined     int64         `json:"declined"`  // transfers refused for lack of funds
	Audits       int64         `json:"audits"`    // audits finished
	InitialTotal int64         `json:"initial_total"`
	FinalTotal   int64         `json:"final_total"` // meaningless if the run deadlocked
	Elapsed      time.Duration `json:"elapsed_ns"`
	Throughput   float64       `json:"ops_per_sec"` // finished operations per second
	Deadlocked   bool          `json:"deadlocked"`  // the watchdog found no progress
	Interrupted  bool          `json:"interrupted"` // the context ended the run early
	STM          *STMStats     `json:"stm,omitempty"`
}

// Passed reports whether no check failed.
func (r Report) Passed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

// Check returns the check with the given ID (B1 … B5), or a zero Check.
func (r Report) Check(id string) Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return Check{}
}

// AsExpected reports whether the run's verdict is the one its mode is
// built for: every check passed for a correct mode, and at least one of
// its ExpectedFailures failed for a negative control.
func (r Report) AsExpected() bool {
	if r.Config.Mode.Correct() {
		return r.Passed()
	}
	for _, id := range r.Config.Mode.ExpectedFailures() {
		if r.Check(id).Status == Fail {
			return true
		}
	}
	return false
}

// Run runs cfg and checks the outcome. It returns an error only for an
// invalid Config. A deadlocked run is reported (B5 fails) once the
// watchdog has waited cfg.Stall; its stuck goroutines stay blocked for
// the life of the process.
func Run(cfg Config) (Report, error) { return RunContext(context.Background(), cfg) }

// RunContext is Run bounded by ctx: when ctx ends the workers stop after
// their current operation, and RunContext returns the checks of what ran,
// marked Interrupted, together with ctx's error.
func RunContext(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	b, err := New(cfg.Mode, Options{Accounts: cfg.Accounts, Initial: cfg.Initial, Overdraft: cfg.Overdraft})
	if err != nil {
		return Report{}, err
	}
	return runBank(ctx, cfg, b)
}

// RunBank is RunContext on a bank built elsewhere, such as a bank on
// another store (package gostm.dev/dstm/etcdbank keeps its accounts in
// etcd): cfg.Mode is ignored and reported as b.Mode(), and b must hold
// cfg.Accounts accounts of cfg.Initial each. RunBank closes b.
func RunBank(ctx context.Context, cfg Config, b Bank) (Report, error) {
	cfg.Mode = STM // any valid mode: Validate checks the other fields
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if b.Accounts() != cfg.Accounts {
		return Report{}, &ConfigError{"Accounts", cfg.Accounts, fmt.Sprintf("the bank given has %d accounts", b.Accounts())}
	}
	cfg.Mode = b.Mode()
	return runBank(ctx, cfg, b)
}

// runBank runs a validated cfg on b.
func runBank(ctx context.Context, cfg Config, b Bank) (Report, error) {
	if cfg.Stall == 0 {
		cfg.Stall = DefaultStall
	}
	r := &run{cfg: cfg, bank: b, expect: cfg.Initial * int64(cfg.Accounts)}
	r.stmBank, _ = b.(*STMBank)
	rep := r.execute(ctx)
	if rep.Interrupted {
		return rep, ctx.Err()
	}
	return rep, nil
}

// RunModes runs cfg once for each mode, in order, stopping early if ctx ends.
func RunModes(ctx context.Context, cfg Config, modes []Mode) ([]Report, error) {
	var out []Report
	for _, m := range modes {
		cfg.Mode = m
		rep, err := RunContext(ctx, cfg)
		if err != nil && !rep.Interrupted {
			return out, err
		}
		out = append(out, rep)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// run is the state of one Run.
type run struct {
	cfg     Config
	bank    Bank
	stmBank *STMBank // bank, if it is in STM mode
	expect  int64    // the invariant total
	start   time.Time
	stop    atomic.Bool
	workers []*worker
}

// worker is what one worker goroutine records. Only that goroutine writes
// it until the run joins them.
type worker struct {
	progress atomic.Int64 // operations finished, read by the watchdog
	done     atomic.Bool
	_        [48]byte // keep progress off the neighbour's cache line

	debits, credits []int64 // the ledger: money moved, per account
	transfers       int64
	declined        int64
	audits          int64
	badAudits       int64 // committed audits with the wrong total
	lowAudit        int64 // lowest and highest committed audit totals
	highAudit       int64
	firstBadAudit   event
	badAttempts     int64 // audits where some attempt saw the wrong total
	firstBadAttempt event
	firstNegative   event // an audit that saw a negative balance

	commits, attempts, auditAttempts int64
	maxAttempts, maxAudit            int
}

// event is a counterexample with the time it was seen, so the earliest of
// several workers' can be reported.
type event struct {
	at   time.Duration
	what string
}

func (e *event) set(at time.Duration, format string, args ...any) {
	if e.what == "" {
		e.at, e.what = at, fmt.Sprintf(format, args...)
	}
}

func earliest(evs ...event) string {
	best := event{at: math.MaxInt64}
	for _, e := range evs {
		if e.what != "" && e.at < best.at {
			best = e
		}
	}
	return best.what
}

func (r *run) execute(ctx context.Context) Report {
	cfg := r.cfg
	before := stm.ReadStats()
	var wg sync.WaitGroup
	r.workers = make([]*worker, cfg.Workers)
	r.start = time.Now()
	for w := range cfg.Workers {
		wk := &worker{
			debits: make([]int64, cfg.Accounts), credits: make([]int64, cfg.Accounts),
			lowAudit: math.MaxInt64, highAudit: math.MinInt64,
		}
		r.workers[w] = wk
		quota := int64(-1) // until told to stop
		if cfg.Ops > 0 {
			quota = cfg.Ops / int64(cfg.Workers)
			if int64(w) < cfg.Ops%int64(cfg.Workers) {
				quota++
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer wk.done.Store(true)
			r.work(w, wk, quota)
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	deadlocked, interrupted, stalledAt := r.watch(ctx, finished)
	elapsed := time.Since(r.start)
	rep := Report{
		Config: cfg, GOMAXPROCS: runtime.GOMAXPROCS(0), Elapsed: elapsed,
		InitialTotal: r.expect, Deadlocked: deadlocked, Interrupted: interrupted,
	}
	if deadlocked {
		// The stuck workers still own their records: read only the
		// atomic progress counters, and leave the bank alone (its locks
		// are held for good).
		for _, wk := range r.workers {
			rep.Ops += wk.progress.Load()
		}
		rep.Throughput = float64(rep.Ops) / elapsed.Seconds()
		rep.Checks = r.deadlockChecks(stalledAt, rep.Ops)
		return rep
	}
	final := r.bank.Balances()
	r.bank.Close()
	r.summarise(&rep, final)
	if r.stmBank != nil {
		rep.STM.Engine = stm.ReadStats().Sub(before)
	}
	return rep
}

// watch waits for the workers, ending the run when the duration is up or
// ctx ends, and declares a deadlock when no operation finishes for Stall.
func (r *run) watch(ctx context.Context, finished <-chan struct{}) (deadlocked, interrupted bool, stalledAt time.Duration) {
	var deadline <-chan time.Time
	if r.cfg.Duration > 0 {
		t := time.NewTimer(r.cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(min(max(r.cfg.Stall/8, time.Millisecond), 100*time.Millisecond))
	defer tick.Stop()
	done := ctx.Done()
	last, lastChange := int64(-1), time.Now()
	for {
		select {
		case <-finished:
			return false, interrupted, 0
		case <-deadline:
			r.stop.Store(true)
			deadline = nil
		case <-done:
			r.stop.Store(true)
			interrupted, done = true, nil
		case now := <-tick.C:
			var p int64
			for _, wk := range r.workers {
				p += wk.progress.Load()
			}
			if p != last {
				last, lastChange = p, now
			} else if now.Sub(lastChange) >= r.cfg.Stall {
				r.stop.Store(true) // let any worker that is not stuck go home
				return true, interrupted, lastChange.Sub(r.start)
			}
		}
	}
}

// work is one worker's loop.
func (r *run) work(id int, wk *worker, quota int64) {
	cfg := r.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)))
	for k := int64(0); k != quota && !r.stop.Load(); k++ {
		if rng.IntN(100) < cfg.AuditPercent {
			r.audit(id, wk)
		} else {
			from := rng.IntN(cfg.Accounts)
			to := rng.IntN(cfg.Accounts - 1)
			if to >= from {
				to++
			}
			r.transfer(wk, from, to, 1+rng.Int64N(cfg.MaxAmount))
		}
		wk.progress.Add(1)
	}
}

func (r *run) transfer(wk *worker, from, to int, amount int64) {
	var err error
	if r.stmBank != nil {
		var n int
		n, err = r.stmBank.transfer(from, to, amount)
		wk.attempts += int64(n)
		wk.maxAttempts = max(wk.maxAttempts, n)
		if err == nil {
			wk.commits++
		}
	} else {
		err = r.bank.Transfer(from, to, amount)
	}
	switch {
	case err == nil:
		wk.transfers++
		wk.debits[from] += amount
		wk.credits[to] += amount
	case errors.Is(err, ErrInsufficientFunds):
		wk.declined++
	default:
		panic(err) // the runner's own arguments are valid: this is a bug
	}
}

func (r *run) audit(id int, wk *worker) {
	s := r.bank.Audit()
	at := time.Since(r.start)
	wk.audits++
	if r.stmBank != nil {
		wk.commits++
		wk.attempts += int64(s.Attempts)
		wk.auditAttempts += int64(s.Attempts)
		wk.maxAttempts = max(wk.maxAttempts, s.Attempts)
		wk.maxAudit = max(wk.maxAudit, s.Attempts)
	}
	wk.lowAudit, wk.highAudit = min(wk.lowAudit, s.Total), max(wk.highAudit, s.Total)
	if s.Total != r.expect {
		wk.badAudits++
		wk.firstBadAudit.set(at, "worker %d's audit #%d at %v: total %d, want %d (%+d)",
			id, wk.audits, at.Round(time.Microsecond), s.Total, r.expect, s.Total-r.expect)
	}
	if s.LowTotal != r.expect || s.HighTotal != r.expect {
		wk.badAttempts++
		wk.firstBadAttempt.set(at, "worker %d's audit #%d at %v: its %d attempts saw totals from %d to %d, want %d",
			id, wk.audits, at.Round(time.Microsecond), s.Attempts, s.LowTotal, s.HighTotal, r.expect)
	}
	if !r.cfg.Overdraft && s.MinBalance < 0 {
		wk.firstNegative.set(at, "worker %d's audit #%d at %v saw account %d = %d",
			id, wk.audits, at.Round(time.Microsecond), s.MinAccount, s.MinBalance)
	}
}

// summarise joins the workers' records and runs the checks.
func (r *run) summarise(rep *Report, final []int64) {
	cfg := r.cfg
	debits := make([]int64, cfg.Accounts)
	credits := make([]int64, cfg.Accounts)
	var badAudits, badAttempts int64
	low, high := int64(math.MaxInt64), int64(math.MinInt64)
	var firstBad, firstAttempt, firstNeg []event
	if r.stmBank != nil {
		rep.STM = &STMStats{}
	}
	for _, wk := range r.workers {
		rep.Transfers += wk.transfers
		rep.Declined += wk.declined
		rep.Audits += wk.audits
		badAudits += wk.badAudits
		badAttempts += wk.badAttempts
		low, high = min(low, wk.lowAudit), max(high, wk.highAudit)
		firstBad = append(firstBad, wk.firstBadAudit)
		firstAttempt = append(firstAttempt, wk.firstBadAttempt)
		firstNeg = append(firstNeg, wk.firstNegative)
		for i := range debits {
			debits[i] += wk.debits[i]
			credits[i] += wk.credits[i]
		}
		if s := rep.STM; s != nil {
			s.Commits += wk.commits
			s.Attempts += wk.attempts
			s.AuditAttempts += wk.auditAttempts
			s.MaxAttempts = max(s.MaxAttempts, wk.maxAttempts)
			s.MaxAudit = max(s.MaxAudit, wk.maxAudit)
		}
	}
	rep.Ops = rep.Transfers + rep.Declined + rep.Audits
	rep.Throughput = float64(rep.Ops) / rep.Elapsed.Seconds()
	for _, v := range final {
		rep.FinalTotal += v
	}

	// B1: transfers move money, they never make or destroy it.
	b1 := Check{ID: "B1", Name: "conservation", Status: Pass,
		Detail: fmt.Sprintf("%d → %d", r.expect, rep.FinalTotal)}
	if rep.FinalTotal != r.expect {
		b1.Status = Fail
		b1.Counterexample = fmt.Sprintf("the final total is %d, want %d (%+d)", rep.FinalTotal, r.expect, rep.FinalTotal-r.expect)
	}

	// B2: every committed audit, and in STM mode every attempt of one, sees the invariant.
	b2 := Check{ID: "B2", Name: "audits", Status: Pass}
	switch {
	case rep.Audits == 0:
		b2.Status, b2.Detail = Skip, "no audits ran"
	case badAudits > 0:
		b2.Status = Fail
		b2.Detail = fmt.Sprintf("%d/%d inconsistent (min %d, max %d)", badAudits, rep.Audits, low, high)
		b2.Counterexample = earliest(firstBad...)
	case badAttempts > 0:
		b2.Status = Fail
		b2.Detail = fmt.Sprintf("%d/%d audits had an attempt that saw a broken total", badAttempts, rep.Audits)
		b2.Counterexample = earliest(firstAttempt...)
	default:
		b2.Detail = fmt.Sprintf("%d audits, every one %d", rep.Audits, r.expect)
		if r.stmBank != nil {
			b2.Detail += fmt.Sprintf(" on every attempt (%d)", rep.STM.AuditAttempts)
		}
	}

	// B3: with overdrafts off, no balance is ever negative, at the end or in an audit.
	b3 := Check{ID: "B3", Name: "non-negative", Status: Pass}
	if cfg.Overdraft {
		b3.Status, b3.Detail = Skip, "overdrafts allowed"
	} else {
		negAccounts, lowest, lowAcct := 0, int64(math.MaxInt64), 0
		for i, v := range final {
			if v < 0 {
				negAccounts++
			}
			if v < lowest {
				lowest, lowAcct = v, i
			}
		}
		firstAudit := earliest(firstNeg...)
		b3.Detail = fmt.Sprintf("lowest final balance %d (account %d)", lowest, lowAcct)
		switch {
		case firstAudit != "":
			b3.Status, b3.Counterexample = Fail, firstAudit
		case negAccounts > 0:
			b3.Status = Fail
			b3.Counterexample = fmt.Sprintf("account %d = %d at the end", lowAcct, lowest)
		}
		if negAccounts > 0 {
			b3.Detail = fmt.Sprintf("%d accounts negative at the end, lowest %d (account %d)", negAccounts, lowest, lowAcct)
		}
	}

	// B4: each balance is what the workers' own records say it must be,
	// which catches lost updates even when they happen to cancel out.
	b4 := Check{ID: "B4", Name: "ledger", Status: Pass}
	wrong, firstWrong := 0, -1
	var drift int64
	for i, v := range final {
		want := cfg.Initial + credits[i] - debits[i]
		if v != want {
			wrong++
			drift += v - want
			if firstWrong < 0 {
				firstWrong = i
			}
		}
	}
	if wrong == 0 {
		b4.Detail = fmt.Sprintf("%d accounts match %d recorded transfers", cfg.Accounts, rep.Transfers)
	} else {
		i := firstWrong
		b4.Status = Fail
		b4.Detail = fmt.Sprintf("%d/%d accounts differ from the ledger (net %+d)", wrong, cfg.Accounts, drift)
		b4.Counterexample = fmt.Sprintf("account %d = %d, ledger says %d + %d credited − %d debited = %d",
			i, final[i], cfg.Initial, credits[i], debits[i], cfg.Initial+credits[i]-debits[i])
	}

	b5 := Check{ID: "B5", Name: "progress", Status: Pass,
		Detail: fmt.Sprintf("%d operations, none stalled for %v", rep.Ops, cfg.Stall)}
	rep.Checks = []Check{b1, b2, b3, b4, b5}
}

func (r *run) deadlockChecks(stalledAt time.Duration, ops int64) []Check {
	skip := func(id, name string) Check {
		return Check{ID: id, Name: name, Status: Skip, Detail: "not checked: the run deadlocked"}
	}
	stuck := 0
	for _, wk := range r.workers {
		if !wk.done.Load() {
			stuck++
		}
	}
	b5 := Check{ID: "B5", Name: "progress", Status: Fail,
		Detail: fmt.Sprintf("deadlock: no operation finished for %v after %d operations", r.cfg.Stall, ops),
		Counterexample: fmt.Sprintf("%d of %d workers stuck since %v", stuck, len(r.workers),
			stalledAt.Round(time.Millisecond))}
	if nb, ok := r.bank.(*lockNaiveBank); ok {
		b5.Counterexample += fmt.Sprintf("; accounts locked: %v", nb.lockedAccounts())
	}
	return []Check{skip("B1", "conservation"), skip("B2", "audits"), skip("B3", "non-negative"), skip("B4", "ledger"), b5}
}
