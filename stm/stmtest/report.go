package stmtest

import (
	"fmt"
	"strings"
)

// Class names the kind of an anomaly.
type Class string

// Anomaly classes. The Adya classes come from the black-box checker (a
// "-realtime" suffix means the cycle needs a real-time edge: the history is
// serializable but not strictly so); the others from the white-box checker,
// the workload runner and both checkers' input validation.
const (
	G0      Class = "G0"       // a cycle of write-write edges (dirty write)
	G1a     Class = "G1a"      // a read of a write that never committed (aborted read)
	G1b     Class = "G1b"      // a read of a write its transaction overwrote (intermediate read)
	G1c     Class = "G1c"      // a cycle of write-write and write-read edges (circular information flow)
	GSingle Class = "G-single" // a cycle with exactly one read-write edge (read skew)
	G2      Class = "G2"       // a cycle with read-write edges (write skew, lost update)

	// Opacity: an attempt, aborted ones included, whose reads fit no
	// single snapshot (white-box).
	Opacity Class = "opacity"
	// Snapshot: a committed attempt that read a version other than the
	// one current at its reported snapshot version: newer than the
	// snapshot, or overwritten at or before it (white-box). Its reads may
	// still fit some other snapshot: a View that reads the wrong one of a
	// Var's old versions shows up here.
	Snapshot Class = "snapshot"
	// Serializability: a commit whose reads were no longer current at its
	// commit version (white-box).
	Serializability Class = "serializability"
	// StrictSerializability: the commit order contradicts real time
	// (white-box).
	StrictSerializability Class = "strict-serializability"
	// ReadYourWrites: a read inside an attempt that does not return the
	// attempt's own last write, or returns one it should not.
	ReadYourWrites Class = "read-your-writes"
	// Internal: two reads of a Var in one attempt that disagree with no
	// write in between (black-box).
	Internal Class = "internal"
	// DirtyRead: a read that returned a committed value other than the
	// one committed at the version it read (white-box): it saw a write
	// before its commit, or a value clobbered by one.
	DirtyRead Class = "dirty-read"
	// GarbageRead: a read of a value nobody wrote, or of a version no
	// recorded commit produced.
	GarbageRead Class = "garbage-read"
	// DuplicateWrite: two writes of the same value to a Var, or two commits
	// of one version. The black-box checker needs unique written values.
	DuplicateWrite Class = "duplicate-write"
	// LostWakeup: a transaction stayed blocked in Retry although a Var it
	// had read was changed by a commit (workload runner).
	LostWakeup Class = "lost-wakeup"
	// Hang: the run stopped making progress while transactions were
	// running, not blocked in Retry: the engine deadlocked or livelocked
	// inside them (workload runner).
	Hang Class = "hang"
	// Model: a transaction's reads, writes or outcome disagree with the
	// sequential reference interpreter run on its snapshot (workload runner).
	Model Class = "model"
)

// Realtime returns the class of a cycle like c that needs a real-time edge.
func (c Class) Realtime() Class { return c + "-realtime" }

// Anomaly is one violation found in a history.
type Anomaly struct {
	Class Class
	// Txns are the IDs of the transactions involved (0 is the initial state).
	Txns []int
	// Explanation says why, in terms of the history's transactions and
	// Var names: "T3 < T7 because T7 read T3's write of x; ...".
	Explanation string
}

// String is the class, a colon and the explanation.
func (a Anomaly) String() string { return string(a.Class) + ": " + a.Explanation }

// Report is the result of checking a history.
type Report struct {
	// Checked names what was checked: "white-box", "black-box" or both.
	Checked []string
	// Txns and Attempts count what the history holds.
	Txns, Attempts int
	Anomalies      []Anomaly
}

// OK reports whether no anomaly was found.
func (r Report) OK() bool { return len(r.Anomalies) == 0 }

// Has reports whether r holds an anomaly of one of the given classes.
func (r Report) Has(classes ...Class) bool {
	for _, a := range r.Anomalies {
		for _, c := range classes {
			if a.Class == c {
				return true
			}
		}
	}
	return false
}

// Classes returns the distinct classes of r's anomalies, in order of first
// appearance.
func (r Report) Classes() []Class {
	var cs []Class
	seen := map[Class]bool{}
	for _, a := range r.Anomalies {
		if !seen[a.Class] {
			seen[a.Class] = true
			cs = append(cs, a.Class)
		}
	}
	return cs
}

// String explains the report, one anomaly per line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s check of %d transactions (%d attempts): ", strings.Join(r.Checked, " + "), r.Txns, r.Attempts)
	if r.OK() {
		b.WriteString("no anomaly")
		return b.String()
	}
	fmt.Fprintf(&b, "%d anomalies", len(r.Anomalies))
	const most = 20
	for i, a := range r.Anomalies {
		if i == most {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.Anomalies)-most)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(a.String())
	}
	return b.String()
}

// merge appends the findings of o to r.
func (r *Report) merge(o Report) {
	r.Checked = append(r.Checked, o.Checked...)
	r.Txns, r.Attempts = max(r.Txns, o.Txns), max(r.Attempts, o.Attempts)
	r.Anomalies = append(r.Anomalies, o.Anomalies...)
}

func (r *Report) add(c Class, txns []int, format string, args ...any) {
	r.Anomalies = append(r.Anomalies, Anomaly{Class: c, Txns: txns, Explanation: fmt.Sprintf(format, args...)})
}

func countAttempts(h *History) int {
	n := 0
	for i := range h.Txns {
		n += len(h.Txns[i].Attempts)
	}
	return n
}

// attemptName names attempt ai of t for reports: "T3" for the attempt that
// took effect, "T3/1 (aborted)" for an earlier one.
func attemptName(t *Txn, ai int) string {
	if ai == len(t.Attempts)-1 && t.Attempts[ai].Outcome == AttemptCommit {
		return fmt.Sprintf("T%d", t.ID)
	}
	return fmt.Sprintf("T%d/%d (%s)", t.ID, ai+1, describeOutcome(t.Attempts[ai].Outcome))
}

func describeOutcome(o AttemptOutcome) string {
	switch o {
	case AttemptAbort:
		return "aborted"
	case AttemptRetry:
		return "retried"
	case AttemptError:
		return "returned an error"
	case AttemptPanic:
		return "panicked"
	case AttemptCommit:
		return "committed"
	}
	return string(o)
}
