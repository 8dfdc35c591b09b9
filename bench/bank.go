package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// The bank is TinySTM's: transfers between two random accounts, and a
// percentage of audits that read every account. Balances may go negative
// (no overdraft check), as in TinySTM, so that every transfer commits and
// the mix stays what the flags say.
const bankInitial = 1000

func bankWorkload() Workload {
	return Workload{
		Name: "bank",
		Doc:  "transfers between random accounts plus read-all audits (invariant: the total never changes, every audit sees it)",
		Params: []Param{
			{Name: "accounts", Usage: "number of accounts", Default: 1024, Min: 2},
			{Name: "audit", Usage: "percentage of operations that audit every account", Default: 20, Min: 0, Max: 100, Tour: 10},
		},
		Engines: []Engine{
			{Name: Gostm, Doc: "a Var per account", New: newBankGostm, Counters: GostmCounters},
			{Name: Anacrolix, Doc: "an anacrolix Var per account", New: newBankAnacrolix, Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "one mutex over all accounts", New: func(s Setup) (Instance, error) { return newBankLocked(s, false), nil }},
			{Name: RWMutex, Doc: "one RWMutex; audits share it", New: func(s Setup) (Instance, error) { return newBankLocked(s, true), nil }},
			{Name: FineLock, Doc: "a mutex per account, locked in index order", New: newBankFineLock},
			{Name: Channel, Doc: "an owner goroutine holds the balances", New: newBankChannel},
		},
	}
}

// bankOp is one randomly chosen operation: an audit, or a transfer of
// amount from one account to another.
type bankOp struct {
	audit          bool
	from, to, amnt int
}

func (o *bankOp) next(rng *rand.Rand, accounts, auditPct int) {
	o.audit = rng.IntN(100) < auditPct
	if o.audit {
		return
	}
	o.from = rng.IntN(accounts)
	o.to = (o.from + 1 + rng.IntN(accounts-1)) % accounts
	o.amnt = 1 + rng.IntN(10)
}

// bankAudits records, per worker, the audits that saw a wrong total.
type bankAudits struct {
	total int
	bad   []int // per worker: number of wrong audits
	first []int // per worker: the first wrong total seen
}

func newBankAudits(s Setup) *bankAudits {
	return &bankAudits{total: s.Params["accounts"] * bankInitial, bad: make([]int, s.Goroutines), first: make([]int, s.Goroutines)}
}

func (a *bankAudits) saw(g, sum int) {
	if sum != a.total && a.bad[g] == 0 {
		a.first[g] = sum
	}
	if sum != a.total {
		a.bad[g]++
	}
}

func (a *bankAudits) check(final int) error {
	for g, n := range a.bad {
		if n > 0 {
			return fmt.Errorf("worker %d: %d audits saw a wrong total, first %d, want %d", g, n, a.first[g], a.total)
		}
	}
	if final != a.total {
		return fmt.Errorf("bank total is %d, want %d", final, a.total)
	}
	return nil
}

func newBankGostm(s Setup) (Instance, error) {
	n, pct := s.Params["accounts"], s.Params["audit"]
	acct, err := makeVars(s, n, func() *stm.Var[int] { return stm.NewVar(bankInitial) })
	if err != nil {
		return nil, err
	}
	audits := newBankAudits(s)
	sumAll := func(tx *stm.Tx) int {
		t := 0
		for _, a := range acct {
			t += a.Get(tx)
		}
		return t
	}
	// An audit writes nothing, so it is a View: it reads one snapshot
	// and should never abort because of transfers. Its body counts its
	// attempts, so that the run shows whether that holds.
	tries := newAttemptTally("audit", s.Goroutines)
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			var op bankOp
			attempts := 0
			transfer := func(tx *stm.Tx) error {
				from, to := acct[op.from], acct[op.to]
				from.Set(tx, from.Get(tx)-op.amnt)
				to.Set(tx, to.Get(tx)+op.amnt)
				return nil
			}
			audit := func(tx *stm.Tx) int {
				attempts++
				return sumAll(tx)
			}
			return func() bool {
				op.next(rng, n, pct)
				if op.audit {
					attempts = 0
					audits.saw(g, stm.View(audit))
					tries.record(g, attempts)
				} else {
					stm.Atomically(transfer)
				}
				return true
			}
		},
		CheckFunc:    func() error { return audits.check(stm.View(sumAll)) },
		AttemptsFunc: func() []Attempts { return []Attempts{tries.read()} },
	}, nil
}

func newBankAnacrolix(s Setup) (Instance, error) {
	n, pct := s.Params["accounts"], s.Params["audit"]
	acct, err := makeVars(s, n, func() *astm.Var { return astm.NewVar(bankInitial) })
	if err != nil {
		return nil, err
	}
	audits := newBankAudits(s)
	sumAll := func(tx *astm.Tx) interface{} {
		t := 0
		for _, a := range acct {
			t += tx.Get(a).(int)
		}
		return t
	}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			var op bankOp
			transfer := func(tx *astm.Tx) interface{} {
				from, to := acct[op.from], acct[op.to]
				tx.Set(from, tx.Get(from).(int)-op.amnt)
				tx.Set(to, tx.Get(to).(int)+op.amnt)
				return nil
			}
			return func() bool {
				op.next(rng, n, pct)
				if op.audit {
					// The value Atomically returns is from a validated
					// commit; anacrolix reads are not opaque, so only it
					// may be checked.
					audits.saw(g, astm.Atomically(sumAll).(int))
				} else {
					astm.Atomically(transfer)
				}
				return true
			}
		},
		CheckFunc: func() error { return audits.check(astm.Atomically(sumAll).(int)) },
	}, nil
}

// newBankLocked is the bank under one global lock; with shared true,
// audits take it shared (RWMutex) so they run in parallel.
func newBankLocked(s Setup, shared bool) Instance {
	n, pct := s.Params["accounts"], s.Params["audit"]
	bal := make([]int, n)
	for i := range bal {
		bal[i] = bankInitial
	}
	// A plain Mutex is the baseline: RWMutex's writer path costs more,
	// so the two engines lock differently rather than share a type.
	var mu sync.Mutex
	var rw sync.RWMutex
	audits := newBankAudits(s)
	sumAll := func() int {
		t := 0
		for _, b := range bal {
			t += b
		}
		return t
	}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			var op bankOp
			return func() bool {
				op.next(rng, n, pct)
				switch {
				case op.audit && shared:
					rw.RLock()
					t := sumAll()
					rw.RUnlock()
					audits.saw(g, t)
				case op.audit:
					mu.Lock()
					t := sumAll()
					mu.Unlock()
					audits.saw(g, t)
				case shared:
					rw.Lock()
					bal[op.from] -= op.amnt
					bal[op.to] += op.amnt
					rw.Unlock()
				default:
					mu.Lock()
					bal[op.from] -= op.amnt
					bal[op.to] += op.amnt
					mu.Unlock()
				}
				return true
			}
		},
		CheckFunc: func() error { return audits.check(sumAll()) },
	}
}

func newBankFineLock(s Setup) (Instance, error) {
	n, pct := s.Params["accounts"], s.Params["audit"]
	type account struct {
		mu  sync.Mutex
		bal int
	}
	acct := make([]account, n)
	for i := range acct {
		acct[i].bal = bankInitial
	}
	audits := newBankAudits(s)
	// An audit must hold every lock at once to see a consistent total;
	// taking them in index order, like transfers, rules out deadlock.
	sumAll := func() int {
		for i := range acct {
			acct[i].mu.Lock()
		}
		t := 0
		for i := range acct {
			t += acct[i].bal
		}
		for i := range acct {
			acct[i].mu.Unlock()
		}
		return t
	}
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			var op bankOp
			return func() bool {
				op.next(rng, n, pct)
				if op.audit {
					audits.saw(g, sumAll())
					return true
				}
				lo, hi := min(op.from, op.to), max(op.from, op.to)
				acct[lo].mu.Lock()
				acct[hi].mu.Lock()
				acct[op.from].bal -= op.amnt
				acct[op.to].bal += op.amnt
				acct[hi].mu.Unlock()
				acct[lo].mu.Unlock()
				return true
			}
		},
		CheckFunc: func() error { return audits.check(sumAll()) },
	}, nil
}

func newBankChannel(s Setup) (Instance, error) {
	n, pct := s.Params["accounts"], s.Params["audit"]
	type request struct {
		op    bankOp
		reply chan int
	}
	reqs := make(chan request)
	done, exited := make(chan struct{}), make(chan struct{})
	bal := make([]int, n)
	for i := range bal {
		bal[i] = bankInitial
	}
	sumAll := func() int {
		t := 0
		for _, b := range bal {
			t += b
		}
		return t
	}
	go func() {
		defer close(exited)
		for {
			select {
			case r := <-reqs:
				if r.op.audit {
					r.reply <- sumAll()
				} else {
					bal[r.op.from] -= r.op.amnt
					bal[r.op.to] += r.op.amnt
					r.reply <- 0
				}
			case <-done:
				return
			}
		}
	}()
	audits := newBankAudits(s)
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			req := request{reply: make(chan int, 1)}
			return func() bool {
				req.op.next(rng, n, pct)
				select {
				case reqs <- req:
				case <-done:
					return false
				}
				t := <-req.reply // the owner answers every request it took
				if req.op.audit {
					audits.saw(g, t)
				}
				return true
			}
		},
		StopFunc:  func() { close(done); <-exited },
		CheckFunc: func() error { return audits.check(sumAll()) },
	}, nil
}
