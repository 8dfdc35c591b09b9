package bank

import "sync"

// channelBank shares memory by communicating: one goroutine owns the
// balances and applies requests one at a time, so no balance is ever
// touched by two goroutines. Like the global lock it is serial, and every
// operation pays two channel hand-offs.
type channelBank struct {
	n    int
	reqs chan request
	done chan struct{}
}

type opKind uint8

const (
	opTransfer opKind = iota
	opWithdraw
	opDeposit
	opAudit
	opBalances
)

type request struct {
	op     opKind
	a, b   int
	amount int64
	reply  chan reply
}

type reply struct {
	err  error
	snap Snapshot
	bal  []int64
}

// replies recycles reply channels: one per operation would be an
// allocation the other modes do not pay.
var replies = sync.Pool{New: func() any { return make(chan reply, 1) }}

func newChannel(o Options) *channelBank {
	b := &channelBank{n: o.Accounts, reqs: make(chan request), done: make(chan struct{})}
	go b.own(initialBalances(o), o.Overdraft)
	return b
}

// own is the goroutine that owns bal.
func (b *channelBank) own(bal []int64, overdraft bool) {
	defer close(b.done)
	for r := range b.reqs {
		var out reply
		switch r.op {
		case opTransfer:
			if !overdraft && bal[r.a] < r.amount {
				out.err = ErrInsufficientFunds
				break
			}
			bal[r.a] -= r.amount
			bal[r.b] += r.amount
		case opWithdraw:
			if !overdraft && bal[r.a] < r.amount {
				out.err = ErrInsufficientFunds
				break
			}
			bal[r.a] -= r.amount
		case opDeposit:
			bal[r.a] += r.amount
		case opAudit:
			out.snap = snapshotOf(func(i int) int64 { return bal[i] }, len(bal))
		case opBalances:
			out.bal = append([]int64(nil), bal...)
		}
		r.reply <- out
	}
}

func (b *channelBank) call(r request) reply {
	r.reply = replies.Get().(chan reply)
	b.reqs <- r
	out := <-r.reply
	replies.Put(r.reply)
	return out
}

func (b *channelBank) Mode() Mode    { return Channel }
func (b *channelBank) Accounts() int { return b.n }

func (b *channelBank) Close() {
	close(b.reqs)
	<-b.done
}

func (b *channelBank) Transfer(from, to int, amount int64) error {
	if err := checkArgs(b.n, amount, from, to); err != nil {
		return err
	}
	return b.call(request{op: opTransfer, a: from, b: to, amount: amount}).err
}

func (b *channelBank) Withdraw(i int, amount int64) error {
	if err := checkArgs(b.n, amount, i); err != nil {
		return err
	}
	return b.call(request{op: opWithdraw, a: i, amount: amount}).err
}

func (b *channelBank) Deposit(i int, amount int64) error {
	if err := checkArgs(b.n, amount, i); err != nil {
		return err
	}
	return b.call(request{op: opDeposit, a: i, amount: amount}).err
}

func (b *channelBank) Audit() Snapshot { return b.call(request{op: opAudit}).snap }

func (b *channelBank) Balances() []int64 { return b.call(request{op: opBalances}).bal }
