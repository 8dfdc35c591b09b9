package stmtest

import "fmt"

// writeKind says what became of a write.
type writeKind uint8

const (
	writeFinal        writeKind = iota // the committed value of its transaction
	writeIntermediate                  // overwritten later by its own (committed) attempt
	writeRolledBack                    // discarded with an OrElse alternative that retried
	writeAborted                       // made by an attempt that did not commit
)

type varValue struct {
	v     int
	value string
}

type writeRef struct {
	txn, attempt, op int // indices into History.Txns, Txn.Attempts, Attempt.Ops
	kind             writeKind
}

// committedTxn reports whether t committed, with its committing attempt.
func committedTxn(t *Txn) (*Attempt, bool) {
	a := t.Final()
	if t.Outcome != Committed || a == nil || a.Outcome != AttemptCommit {
		return nil, false
	}
	return a, true
}

// indexWrites maps every written (Var, value) to the writes of it, and
// returns for each committed transaction its final value per Var.
func indexWrites(h *History) (map[varValue][]writeRef, []map[int]string) {
	idx := map[varValue][]writeRef{}
	finals := make([]map[int]string, len(h.Txns))
	for ti := range h.Txns {
		t := &h.Txns[ti]
		for ai := range t.Attempts {
			a := &t.Attempts[ai]
			committed := ai == len(t.Attempts)-1 && t.Outcome == Committed && a.Outcome == AttemptCommit
			kinds := map[int]writeKind{}
			if committed {
				live := a.liveWrites()
				last := map[int]int{}
				for _, i := range live {
					kinds[i] = writeIntermediate
					last[a.Ops[i].Var] = i
				}
				finals[ti] = map[int]string{}
				for v, i := range last {
					kinds[i] = writeFinal
					finals[ti][v] = string(a.Ops[i].Value)
				}
			}
			for oi, op := range a.Ops {
				if !op.Kind.writes() {
					continue
				}
				k, ok := kinds[oi]
				switch {
				case !committed:
					k = writeAborted
				case !ok:
					k = writeRolledBack
				}
				key := varValue{op.Var, string(op.Value)}
				idx[key] = append(idx[key], writeRef{ti, ai, oi, k})
			}
		}
	}
	return idx, finals
}

// dirtyClass classifies a read of a value that the reader should not have
// seen, given who wrote it.
func dirtyClass(h *History, refs []writeRef, reader int) (Class, string) {
	for _, w := range refs {
		t := &h.Txns[w.txn]
		switch w.kind {
		case writeAborted:
			return G1a, fmt.Sprintf("a write of %s, which did not commit", attemptName(t, w.attempt))
		case writeRolledBack:
			if w.txn == reader {
				return ReadYourWrites, fmt.Sprintf("its own write in an OrElse alternative that had retried and been rolled back (T%d)", t.ID)
			}
			return G1a, fmt.Sprintf("a write of T%d in an OrElse alternative that retried and was rolled back", t.ID)
		case writeIntermediate:
			if w.txn != reader {
				return G1b, fmt.Sprintf("an intermediate write of T%d, which T%d overwrote before committing", t.ID, t.ID)
			}
		case writeFinal:
			if w.txn != reader {
				return DirtyRead, fmt.Sprintf("T%d's write, which it committed at version %d, not at the version read "+
					"(read while that commit was in flight, or after it was clobbered)", t.ID, t.Attempts[w.attempt].WV)
			}
		}
	}
	return GarbageRead, "a value no recorded write produced there"
}
