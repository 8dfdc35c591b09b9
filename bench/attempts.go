package bench

import (
	"sync/atomic"
)

// MaxTrackedAttempts is the last attempt count Attempts tells apart; a
// transaction that took more is counted with those that took exactly
// this many. gostm commits within stm.SerialAfter+1 attempts, well below.
const MaxTrackedAttempts = 32

// Attempts counts one kind of transaction (a bank's audits, say) by the
// number of attempts each took to commit. The engine-wide Counters cannot
// say which transactions aborted, so a workload that wants to show how its
// long transactions fare counts their attempts itself, in the body.
type Attempts struct {
	Name string `json:"name"` // the kind counted: "audit"
	// ByAttempts[k] is how many committed at attempt k+1; the last
	// possible entry (MaxTrackedAttempts) also counts any that took
	// more. Trailing zeros are left out.
	ByAttempts []uint64 `json:"by_attempts"`
}

// Total is the number of transactions counted.
func (a Attempts) Total() uint64 {
	var n uint64
	for _, c := range a.ByAttempts {
		n += c
	}
	return n
}

// Retried is the number that took more than one attempt.
func (a Attempts) Retried() uint64 {
	if len(a.ByAttempts) == 0 {
		return 0
	}
	return a.Total() - a.ByAttempts[0]
}

// Max is the most attempts any of them took (0 when none was counted);
// MaxTrackedAttempts means at least that many.
func (a Attempts) Max() int { return len(trimZeros(a.ByAttempts)) }

func trimZeros(xs []uint64) []uint64 {
	for len(xs) > 0 && xs[len(xs)-1] == 0 {
		xs = xs[:len(xs)-1]
	}
	return xs
}

// combineAttempts returns a plus sign×b, kind by kind, matching kinds by
// name: a kind that one side lacks counts as zero there (SubAttempts keeps
// only the kinds of its first argument).
func combineAttempts(a, b []Attempts, sign int) []Attempts {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]Attempts, 0, max(len(a), len(b)))
	seen := map[string]bool{}
	find := func(name string) []uint64 {
		for _, x := range b {
			if x.Name == name {
				return x.ByAttempts
			}
		}
		return nil
	}
	for _, x := range a {
		seen[x.Name] = true
		y := find(x.Name)
		n := make([]uint64, max(len(x.ByAttempts), len(y)))
		copy(n, x.ByAttempts)
		for i, c := range y {
			if sign < 0 {
				n[i] -= c
			} else {
				n[i] += c
			}
		}
		out = append(out, Attempts{Name: x.Name, ByAttempts: trimZeros(n)})
	}
	if sign > 0 {
		for _, y := range b {
			if !seen[y.Name] {
				out = append(out, Attempts{Name: y.Name, ByAttempts: trimZeros(append([]uint64(nil), y.ByAttempts...))})
			}
		}
	}
	return out
}

// SubAttempts returns the counts of now minus those of old, kind by kind:
// what happened between two readings of one instance.
func SubAttempts(now, old []Attempts) []Attempts { return combineAttempts(now, old, -1) }

// AddAttempts returns the counts of a plus those of b, kind by kind.
func AddAttempts(a, b []Attempts) []Attempts { return combineAttempts(a, b, +1) }

// AttemptCounter is implemented by an Instance whose workers count the
// attempts of some of their transactions. The runner calls Attempts when
// measurement starts and when it ends, while workers run, and reports the
// difference in Rep.Attempts; so Attempts must be safe to call
// concurrently with the workers, and return counts since the instance was
// built.
type AttemptCounter interface {
	Attempts() []Attempts
}

// attemptTally is where the workers of one instance count the attempts of
// one kind of transaction: a row of counters per worker, so that workers
// never write a shared cache line, and atomic, because the runner reads
// them while workers run.
type attemptTally struct {
	name string
	rows []attemptRow
}

type attemptRow struct {
	n [MaxTrackedAttempts]atomic.Uint64
	_ [64]byte // the next worker's row starts on another cache line
}

func newAttemptTally(name string, workers int) *attemptTally {
	return &attemptTally{name: name, rows: make([]attemptRow, workers)}
}

// record counts, for worker g, a transaction that took attempts attempts.
func (t *attemptTally) record(g, attempts int) {
	t.rows[g].n[min(max(attempts, 1), MaxTrackedAttempts)-1].Add(1)
}

// read returns the counts so far, over every worker.
func (t *attemptTally) read() Attempts {
	n := make([]uint64, MaxTrackedAttempts)
	for g := range t.rows {
		for k := range n {
			n[k] += t.rows[g].n[k].Load()
		}
	}
	return Attempts{Name: t.name, ByAttempts: trimZeros(n)}
}
