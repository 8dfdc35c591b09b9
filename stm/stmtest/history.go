package stmtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// A History is what a Recorder saw: every transaction, every attempt of it,
// and every read and write of each attempt. It is plain data, so tests can
// build one by hand (see testdata/) and tools can store and reload it as
// JSON Lines with WriteJSONL and ReadJSONL.
type History struct {
	// Versioned reports that reads carry the engine's versions and commits
	// their snapshot and write versions, so that CheckWhiteBox applies.
	// Hand-written histories usually leave it false.
	Versioned bool
	// Vars lists the variables the transactions touched.
	Vars []VarInfo
	// Txns lists the transactions in order of invocation.
	Txns []Txn
}

// VarInfo names a recorded variable.
type VarInfo struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Outcome is how a transaction (one call of Atomically) ended.
type Outcome string

// The outcomes of a transaction.
const (
	Committed Outcome = "commit"   // its last attempt committed
	Failed    Outcome = "error"    // the body returned an error: nothing committed
	Panicked  Outcome = "panic"    // the body panicked: nothing committed
	Canceled  Outcome = "canceled" // its context ended while it was blocked in Retry
)

// Txn is one transaction: one call of Atomically, with all its attempts.
type Txn struct {
	ID     int `json:"id"`     // 1-based; T0 in reports is the initial state
	Client int `json:"client"` // the goroutine (Client) that ran it
	// Invoke and Complete are ticks of the recorder's logical clock, taken
	// before Atomically was called and after it returned: A precedes B in
	// real time if A.Complete < B.Invoke.
	Invoke   uint64  `json:"invoke"`
	Complete uint64  `json:"complete"`
	Outcome  Outcome `json:"outcome"`
	Err      string  `json:"err,omitempty"` // the error or panic value, as text
	// View marks a declared read-only transaction (stm.View, recorded by
	// Client.View): it may read versions older than the newest, all from
	// the one snapshot at its committing attempt's RV.
	View     bool      `json:"view,omitempty"`
	Attempts []Attempt `json:"attempts"`
}

// AttemptOutcome is how one run of a transaction's body ended.
type AttemptOutcome string

// The outcomes of an attempt, as the engine reports them.
const (
	AttemptCommit  AttemptOutcome = "commit"
	AttemptAbort   AttemptOutcome = "abort" // a conflict: the body runs again
	AttemptRetry   AttemptOutcome = "retry" // the body called Retry: blocks, then runs again
	AttemptError   AttemptOutcome = "error"
	AttemptPanic   AttemptOutcome = "panic"
	AttemptUnknown AttemptOutcome = "unknown" // no end was reported (runtime.Goexit, say)
)

// Attempt is one run of a transaction's body.
type Attempt struct {
	Start   uint64         `json:"start"` // tick when the body was entered
	End     uint64         `json:"end"`   // tick when the engine reported the outcome
	Outcome AttemptOutcome `json:"outcome"`
	// RV is the snapshot version of a committed attempt and WV the version
	// its writes got (0 for a read-only commit). Only in versioned histories.
	RV  uint64 `json:"rv,omitempty"`
	WV  uint64 `json:"wv,omitempty"`
	Ops []Op   `json:"ops"`
}

// OpKind is the kind of a recorded operation.
type OpKind string

// The recorded operations.
const (
	Read  OpKind = "r"
	Write OpKind = "w"
	// Rollback marks an OrElse alternative that retried: of the writes of
	// the attempt so far, only the first Keep stay in effect.
	Rollback OpKind = "rollback"
	// Commuted is a Var's pending commutes (Var.Commute, stm.Add) applied
	// by the commit: a blind read-modify-write at the commit's point in
	// the serial order, not in the attempt's snapshot. It reads Old, the
	// latest committed value, at Version, and writes Value. The engine
	// reports it while committing, so it follows every other operation of
	// its attempt, and it does not count among the writes that a Rollback
	// numbers.
	Commuted OpKind = "c"
)

// Op is one recorded operation of an attempt.
type Op struct {
	Kind OpKind `json:"k"`
	Var  int    `json:"var,omitempty"`
	// Value is the value read or written, as JSON; values compare by
	// their canonical JSON text.
	Value json.RawMessage `json:"val,omitempty"`
	// Version is the committed version a read came from (versioned
	// histories; 0 is a Var's initial version). Own marks a read of the
	// attempt's own earlier write, which has no version.
	Version uint64 `json:"ver,omitempty"`
	Own     bool   `json:"own,omitempty"`
	Keep    int    `json:"keep,omitempty"` // Rollback only
	// Old is the committed value a Commuted operation read (and applied
	// its functions to); Value is what it wrote.
	Old json.RawMessage `json:"old,omitempty"`
}

// writes reports whether operations of kind k write their Var.
func (k OpKind) writes() bool { return k == Write || k == Commuted }

// reads reports whether operations of kind k read their Var.
func (k OpKind) reads() bool { return k == Read || k == Commuted }

// readValue returns the value op read: Old for a Commuted operation.
func (op *Op) readValue() string {
	if op.Kind == Commuted {
		return string(op.Old)
	}
	return string(op.Value)
}

// VarName returns the name of variable id, or "v<id>" if it has none.
func (h *History) VarName(id int) string {
	for _, v := range h.Vars {
		if v.ID == id && v.Name != "" {
			return v.Name
		}
	}
	return "v" + strconv.Itoa(id)
}

// Final returns the attempt of t that took effect: the last one.
func (t *Txn) Final() *Attempt {
	if len(t.Attempts) == 0 {
		return nil
	}
	return &t.Attempts[len(t.Attempts)-1]
}

// liveWrites returns the writes of a that remain in effect after its
// OrElse rollbacks, in program order: op indices into a.Ops.
func (a *Attempt) liveWrites() []int {
	var o ownWrites
	for i, op := range a.Ops {
		o.apply(i, op)
	}
	ws := make([]int, len(o.live))
	for i, w := range o.live {
		ws[i] = w.op
	}
	return ws
}

// ownWrites follows which writes of an attempt are in effect as its
// operations are replayed in order. The engine numbers writes from 0 in
// the order they happen, rolled-back ones included, and a Rollback keeps
// those numbered below Keep. A Commuted operation happens at commit, after
// any Rollback, so it takes no number of its own: it is numbered like the
// write that would come next, which no Rollback can precede.
type ownWrites struct {
	n    int
	live []ownWrite
}

type ownWrite struct {
	num, op, v int
	value      string
}

// apply replays op, the operation at index i.
func (o *ownWrites) apply(i int, op Op) {
	switch op.Kind {
	case Write:
		o.live = append(o.live, ownWrite{o.n, i, op.Var, string(op.Value)})
		o.n++
	case Commuted:
		o.live = append(o.live, ownWrite{o.n, i, op.Var, string(op.Value)})
	case Rollback:
		for len(o.live) > 0 && o.live[len(o.live)-1].num >= op.Keep {
			o.live = o.live[:len(o.live)-1]
		}
	}
}

// last returns the value of the last write in effect to Var v.
func (o *ownWrites) last(v int) (string, bool) {
	for i := len(o.live) - 1; i >= 0; i-- {
		if o.live[i].v == v {
			return o.live[i].value, true
		}
	}
	return "", false
}

// jsonLine is one line of the JSON Lines form: exactly one field is set.
type jsonLine struct {
	History *jsonHeader `json:"history,omitempty"`
	Var     *VarInfo    `json:"var,omitempty"`
	Txn     *Txn        `json:"txn,omitempty"`
}

type jsonHeader struct {
	Format    int  `json:"format"`
	Versioned bool `json:"versioned"`
}

// jsonFormat is the format WriteJSONL writes. Format 2 added Commuted
// operations (with "old") and the View mark of transactions; a format 1
// history, which has neither, reads unchanged.
const jsonFormat = 2

// WriteJSONL writes h as JSON Lines: a header line, one line per variable,
// then one line per transaction.
func (h *History) WriteJSONL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(jsonLine{History: &jsonHeader{Format: jsonFormat, Versioned: h.Versioned}}); err != nil {
		return err
	}
	for i := range h.Vars {
		if err := enc.Encode(jsonLine{Var: &h.Vars[i]}); err != nil {
			return err
		}
	}
	for i := range h.Txns {
		if err := enc.Encode(jsonLine{Txn: &h.Txns[i]}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadJSONL reads a history written by WriteJSONL (or by hand: blank lines
// and lines starting with # are skipped, and the header line is optional).
// Values are compacted so that they compare by their canonical text.
func ReadJSONL(r io.Reader) (*History, error) {
	h := &History{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var l jsonLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("stmtest: history line %d: %w", n, err)
		}
		switch {
		case l.History != nil:
			if l.History.Format < 1 || l.History.Format > jsonFormat {
				return nil, fmt.Errorf("stmtest: history line %d: unknown format %d", n, l.History.Format)
			}
			h.Versioned = l.History.Versioned
		case l.Var != nil:
			h.Vars = append(h.Vars, *l.Var)
		case l.Txn != nil:
			t := *l.Txn
			for ai := range t.Attempts {
				for oi := range t.Attempts[ai].Ops {
					op := &t.Attempts[ai].Ops[oi]
					for _, raw := range []*json.RawMessage{&op.Value, &op.Old} {
						if len(*raw) > 0 {
							var b bytes.Buffer
							if err := json.Compact(&b, *raw); err != nil {
								return nil, fmt.Errorf("stmtest: history line %d: %w", n, err)
							}
							*raw = b.Bytes()
						}
					}
				}
			}
			h.Txns = append(h.Txns, t)
		default:
			return nil, fmt.Errorf("stmtest: history line %d: neither history, var nor txn", n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return h, nil
}
