package santa

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Event names. Helpers log join, enter (passed the in-gate), work (finished
// the task with Santa) and leave (passed the out-gate); Santa logs choose,
// then open_in, all_in, open_out and all_out for each session.
const (
	EvJoin    = "join"
	EvEnter   = "enter"
	EvWork    = "work"
	EvLeave   = "leave"
	EvChoose  = "choose"
	EvOpenIn  = "open_in"
	EvAllIn   = "all_in"
	EvOpenOut = "open_out"
	EvAllOut  = "all_out"
)

// Group kinds, as they appear in events.
const (
	KindReindeer = "reindeer"
	KindElves    = "elves"
)

// SantaActor is the actor name of Santa's events. Helpers are named
// "reindeer-i" and "elf-i", from 1.
const SantaActor = "santa"

// An Event is one thing that happened, logged after the transaction (or
// channel operation) that made it happen.
type Event struct {
	// Seq is the event's position in the exact commit order, from 1, or 0
	// when the run did not record the order (Config.NoSeq).
	Seq int64 `json:"seq,omitempty"`
	// T is the time since the start of the run, taken after the commit.
	T     time.Duration `json:"t_ns"`
	Actor string        `json:"actor"`
	Ev    string        `json:"ev"`
	// Kind and Gen name the generation the event belongs to: for join, the
	// one joined; for enter and leave, the one the gate was opened for (so
	// a helper that passes someone else's gate shows up); for work, the
	// one the helper entered with; for Santa's events, the session's.
	Kind string `json:"kind"`
	Gen  int    `json:"gen"`
	// Slot is the join order within the generation, 1 to n (join only).
	Slot int `json:"slot,omitempty"`
	// Santa's own report of what he saw when he chose (choose only): how
	// many reindeer had joined the current reindeer generation, whether the
	// current elf generation was full, and whether both groups were ready.
	// The checker does not trust these; it recomputes readiness from joins.
	RJoined   int  `json:"r_joined,omitempty"`
	EReady    bool `json:"e_ready,omitempty"`
	Contested bool `json:"contested,omitempty"`
}

// Meta describes the run a trace came from.
type Meta struct {
	Variant   Variant `json:"variant"`
	Reindeer  int     `json:"reindeer"`
	Elves     int     `json:"elves"`
	GroupSize int     `json:"group"`
	Rounds    int     `json:"rounds"`
	Seed      int64   `json:"seed"`
	// Stalled records that the watchdog stopped the run before Rounds
	// sessions finished.
	Stalled bool `json:"stalled,omitempty"`
	// Watchdog is the watchdog's limit, for the report.
	Watchdog time.Duration `json:"watchdog_ns,omitempty"`
}

// A Trace is a run's events, in Seq order when they have one, and its
// parameters.
type Trace struct {
	Meta   Meta
	Events []Event
}

// metaLine is the first line of a JSON Lines trace.
type metaLine struct {
	Ev string `json:"ev"` // "meta"
	Meta
}

// WriteTrace writes tr as JSON Lines: a first line {"ev":"meta",...} with
// the run's parameters, then one event per line.
func WriteTrace(w io.Writer, tr Trace) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(metaLine{Ev: "meta", Meta: tr.Meta}); err != nil {
		return err
	}
	for i := range tr.Events {
		if err := enc.Encode(&tr.Events[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadTrace reads a trace written by WriteTrace (or by hand: blank lines
// and lines starting with # are skipped). Errors name the line.
func ReadTrace(r io.Reader) (Trace, error) {
	var tr Trace
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line, sawMeta := 0, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		if !sawMeta {
			var m metaLine
			if err := strictUnmarshal(b, &m); err != nil || m.Ev != "meta" {
				return tr, fmt.Errorf("santa: trace line %d: want the {\"ev\":\"meta\",...} header first", line)
			}
			tr.Meta, sawMeta = m.Meta, true
			continue
		}
		var e Event
		if err := strictUnmarshal(b, &e); err != nil {
			return tr, fmt.Errorf("santa: trace line %d: %v", line, err)
		}
		if !knownEvent(e.Ev) {
			return tr, fmt.Errorf("santa: trace line %d: unknown event %q", line, e.Ev)
		}
		tr.Events = append(tr.Events, e)
	}
	if err := sc.Err(); err != nil {
		return tr, fmt.Errorf("santa: trace line %d: %w", line+1, err)
	}
	if !sawMeta {
		return tr, errors.New("santa: empty trace: no meta header")
	}
	return tr, nil
}

// strictUnmarshal rejects unknown fields, so a misspelt field in a
// hand-written trace is an error rather than a silently zero value.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func knownEvent(ev string) bool {
	switch ev {
	case EvJoin, EvEnter, EvWork, EvLeave, EvChoose, EvOpenIn, EvAllIn, EvOpenOut, EvAllOut:
		return true
	}
	return false
}
