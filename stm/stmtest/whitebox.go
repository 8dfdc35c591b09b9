package stmtest

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"slices"
	"sort"
)

// version is one committed version of a Var.
type version struct {
	ver   uint64
	value string
	txn   int // index into History.Txns; -1 for the initial version
}

const never = math.MaxUint64

// CheckWhiteBox checks a versioned history (one recorded by a Recorder)
// using the engine's versions: every attempt, aborted ones included, must
// have read one consistent snapshot (opacity), and a committed one the
// snapshot at its RV, whether it read the newest versions or older ones
// (a View: snapshot); every update commit's reads must still have been current just
// before its write version (serializability in commit order); each
// Commuted operation must have read the Var's latest version below the
// commit's write version, with its value; the commit order must respect
// real time (strict serializability); and reads inside an attempt must
// return its own writes. It costs O(n log n) in the number of operations.
func CheckWhiteBox(h *History) Report {
	r := Report{Checked: []string{"white-box"}, Txns: len(h.Txns), Attempts: countAttempts(h)}
	if !h.Versioned {
		r.Checked[0] = "white-box (skipped: the history has no versions)"
		return r
	}
	writes, _ := indexWrites(h)
	versions := map[int][]version{}
	for ti := range h.Txns {
		t := &h.Txns[ti]
		a, ok := committedTxn(t)
		if !ok || a.WV == 0 {
			continue
		}
		if a.WV <= a.RV {
			r.add(Serializability, []int{t.ID}, "T%d committed writes at version %d, not after its snapshot version %d", t.ID, a.WV, a.RV)
		}
		last := map[int]string{}
		for _, i := range a.liveWrites() {
			last[a.Ops[i].Var] = string(a.Ops[i].Value)
		}
		for v, val := range last {
			versions[v] = append(versions[v], version{a.WV, val, ti})
		}
	}
	initial := initialValues(h, writes)
	for v, vs := range versions {
		slices.SortFunc(vs, func(a, b version) int { return cmp.Compare(a.ver, b.ver) })
		for i := 1; i < len(vs); i++ {
			if vs[i].ver == vs[i-1].ver {
				r.add(DuplicateWrite, []int{h.Txns[vs[i-1].txn].ID, h.Txns[vs[i].txn].ID},
					"T%d and T%d both committed version %d of %s", h.Txns[vs[i-1].txn].ID, h.Txns[vs[i].txn].ID, vs[i].ver, h.VarName(v))
			}
		}
		versions[v] = append([]version{{0, initial[v], -1}}, vs...)
	}
	// lookup returns the versions of v from ver on, the first being ver.
	lookup := func(v int, ver uint64) ([]version, bool) {
		vs, ok := versions[v]
		if !ok {
			vs = []version{{0, initial[v], -1}}
		}
		i := sort.Search(len(vs), func(i int) bool { return vs[i].ver >= ver })
		if i == len(vs) || vs[i].ver != ver {
			return nil, false
		}
		return vs[i:], true
	}
	writerName := func(v version) string {
		if v.txn < 0 {
			return "the initial state"
		}
		return fmt.Sprintf("T%d", h.Txns[v.txn].ID)
	}

	intervals := make([][2]uint64, len(h.Txns)) // of each committed read-only txn
	for ti := range h.Txns {
		t := &h.Txns[ti]
		for ai := range t.Attempts {
			a := &t.Attempts[ai]
			name := attemptName(t, ai)
			lo, hi := uint64(0), uint64(never)
			var loRead, hiRead string
			var own ownWrites
			for oi, op := range a.Ops {
				if op.Kind == Commuted {
					// The read half happens at commit, outside the snapshot:
					// checked on its own, before the write half is applied.
					checkCommuted(h, ti, ai, op, &own, lookup, writerName, writes, &r)
				}
				own.apply(oi, op)
				if op.Kind != Read {
					continue
				}
				x := h.VarName(op.Var)
				if w, ok := own.last(op.Var); ok {
					if !op.Own || string(op.Value) != w {
						r.add(ReadYourWrites, []int{t.ID}, "%s read %s = %s after writing %s to it", name, x, op.Value, w)
					}
					continue
				}
				if op.Own {
					r.add(ReadYourWrites, []int{t.ID}, "%s read %s = %s as its own write, but had not written %s", name, x, op.Value, x)
					continue
				}
				vs, ok := lookup(op.Var, op.Version)
				if !ok {
					r.add(GarbageRead, []int{t.ID}, "%s read version %d of %s, which no recorded commit produced", name, op.Version, x)
					continue
				}
				if want := vs[0].value; want != "" && want != string(op.Value) {
					c, why := dirtyClass(h, writes[varValue{op.Var, string(op.Value)}], ti)
					r.add(c, []int{t.ID}, "%s read %s = %s at version %d, where %s committed %s: the value is %s",
						name, x, op.Value, op.Version, writerName(vs[0]), want, why)
				}
				if op.Version >= lo {
					lo = op.Version
					loRead = fmt.Sprintf("%s at version %d (written by %s)", x, op.Version, writerName(vs[0]))
				}
				if len(vs) > 1 && vs[1].ver < hi {
					hi = vs[1].ver
					hiRead = fmt.Sprintf("%s at version %d, which %s overwrote at version %d", x, op.Version, writerName(vs[1]), vs[1].ver)
				}
			}
			if lo >= hi {
				r.add(Opacity, []int{t.ID}, "%s read %s and %s: no snapshot holds both", name, loRead, hiRead)
				continue
			}
			if ai != len(t.Attempts)-1 || t.Outcome != Committed || a.Outcome != AttemptCommit {
				continue
			}
			// A committed attempt reports its snapshot: every read must be
			// the version current there, however old (a View's reads).
			// The checks below judge the reads themselves, so they go on.
			if a.RV < lo {
				r.add(Snapshot, []int{t.ID}, "%s read %s, newer than its snapshot version %d", name, loRead, a.RV)
			} else if a.RV >= hi {
				r.add(Snapshot, []int{t.ID}, "%s read %s, not the version current at its snapshot version %d", name, hiRead, a.RV)
			}
			if a.WV == 0 {
				intervals[ti] = [2]uint64{lo, hi}
				continue
			}
			if s := a.WV - 1; s >= hi {
				r.add(Serializability, []int{t.ID}, "T%d committed at version %d but read %s (a lost update or write skew)", t.ID, a.WV, hiRead)
			} else if s < lo {
				r.add(Serializability, []int{t.ID}, "T%d committed at version %d but read %s, a later version", t.ID, a.WV, loRead)
			}
		}
	}
	checkRealTime(h, intervals, &r)
	return r
}

// initialValues decides each Var's initial value: the value its reads of
// version 0 returned. If they disagree, the one nobody wrote wins (the
// others are dirty reads, reported as such), then the most frequent.
func initialValues(h *History, writes map[varValue][]writeRef) map[int]string {
	seen := map[int]map[string]int{}
	for ti := range h.Txns {
		for _, a := range h.Txns[ti].Attempts {
			for _, op := range a.Ops {
				if op.Kind.reads() && !op.Own && op.Version == 0 {
					if seen[op.Var] == nil {
						seen[op.Var] = map[string]int{}
					}
					seen[op.Var][op.readValue()]++
				}
			}
		}
	}
	init := map[int]string{}
	for v, vals := range seen {
		best, bestScore := "", -1
		for val, n := range vals {
			score := n
			if _, written := writes[varValue{v, val}]; !written {
				score += 1 << 30
			}
			if score > bestScore || score == bestScore && val < best {
				best, bestScore = val, score
			}
		}
		init[v] = best
	}
	return init
}

// checkRealTime checks that the commit order agrees with real time: a
// transaction that completed before another was invoked serializes first.
// Update commits serialize at their write version; a read-only commit
// anywhere in its read interval [lo, hi), chosen greedily as early as the
// constraints allow.
func checkRealTime(h *History, intervals [][2]uint64, r *Report) {
	var ups, ros []int
	for ti := range h.Txns {
		if a, ok := committedTxn(&h.Txns[ti]); ok {
			if a.WV > 0 {
				ups = append(ups, ti)
			} else {
				ros = append(ros, ti)
			}
		}
	}
	wv := func(ti int) uint64 { return h.Txns[ti].Final().WV }
	// Updates against updates: walk down the versions keeping the update
	// that completed first among those with higher versions.
	slices.SortFunc(ups, func(a, b int) int { return cmp.Compare(wv(b), wv(a)) })
	first := -1
	for _, b := range ups {
		if first >= 0 && h.Txns[first].Complete < h.Txns[b].Invoke {
			r.add(StrictSerializability, []int{h.Txns[first].ID, h.Txns[b].ID},
				"T%d completed (tick %d) before T%d began (tick %d) but committed after it (version %d > %d)",
				h.Txns[first].ID, h.Txns[first].Complete, h.Txns[b].ID, h.Txns[b].Invoke, wv(first), wv(b))
		}
		if first < 0 || h.Txns[b].Complete < h.Txns[first].Complete {
			first = b
		}
	}
	if len(ros) == 0 {
		return
	}
	byComplete := slices.Clone(ups)
	slices.SortFunc(byComplete, func(a, b int) int { return cmp.Compare(h.Txns[a].Complete, h.Txns[b].Complete) })
	prefMax := make([]int, len(byComplete)) // the update of highest version among byComplete[:i+1]
	for i, u := range byComplete {
		prefMax[i] = u
		if i > 0 && wv(prefMax[i-1]) > wv(u) {
			prefMax[i] = prefMax[i-1]
		}
	}
	byInvoke := slices.Clone(ups)
	slices.SortFunc(byInvoke, func(a, b int) int { return cmp.Compare(h.Txns[a].Invoke, h.Txns[b].Invoke) })
	sufMin := make([]int, len(byInvoke)) // the update of lowest version among byInvoke[i:]
	for i := len(byInvoke) - 1; i >= 0; i-- {
		sufMin[i] = byInvoke[i]
		if i+1 < len(byInvoke) && wv(sufMin[i+1]) < wv(byInvoke[i]) {
			sufMin[i] = sufMin[i+1]
		}
	}
	slices.SortFunc(ros, func(a, b int) int { return cmp.Compare(h.Txns[a].Invoke, h.Txns[b].Invoke) })
	done := &roHeap{}
	floor, floorTxn := uint64(0), -1 // the highest point of read-only txns completed before
	for _, ti := range ros {
		t := &h.Txns[ti]
		for done.Len() > 0 && (*done)[0].complete < t.Invoke {
			d := heap.Pop(done).(roDone)
			if d.s >= floor {
				floor, floorTxn = d.s, d.txn
			}
		}
		lo, hi := intervals[ti][0], intervals[ti][1]
		s, why := lo, "its reads"
		if floor > s {
			s, why = floor, fmt.Sprintf("read-only T%d, which completed before it began", h.Txns[floorTxn].ID)
		}
		if n := sort.Search(len(byComplete), func(i int) bool { return h.Txns[byComplete[i]].Complete >= t.Invoke }); n > 0 {
			if u := prefMax[n-1]; wv(u) > s {
				s, why = wv(u), fmt.Sprintf("T%d, which committed version %d and completed before it began", h.Txns[u].ID, wv(u))
			}
		}
		limit, limitWhy := hi, "its reads were overwritten at that version"
		if n := sort.Search(len(byInvoke), func(i int) bool { return h.Txns[byInvoke[i]].Invoke > t.Complete }); n < len(byInvoke) {
			if u := sufMin[n]; wv(u) < limit {
				limit, limitWhy = wv(u), fmt.Sprintf("T%d committed that version but began after T%d completed", h.Txns[u].ID, t.ID)
			}
		}
		if s >= limit {
			r.add(StrictSerializability, []int{t.ID},
				"read-only T%d must serialize after version %d because of %s, but before version %d because %s", t.ID, s, why, limit, limitWhy)
			s = limit - 1
		}
		heap.Push(done, roDone{t.Complete, s, ti})
	}
}

type roDone struct {
	complete, s uint64
	txn         int
}

type roHeap []roDone

func (h roHeap) Len() int           { return len(h) }
func (h roHeap) Less(i, j int) bool { return h[i].complete < h[j].complete }
func (h roHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *roHeap) Push(x any)        { *h = append(*h, x.(roDone)) }
func (h *roHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// checkCommuted checks the read half of a Commuted operation op, of
// attempt ai of transaction ti, against the versions (lookup) and the
// attempt's own writes so far. The engine applies commutes only to a Var
// the attempt has not written: it must have read the value committed at
// op.Version and, in a commit, that version must be the Var's latest below
// the commit's: a commute applied to an older one loses the updates in
// between.
func checkCommuted(h *History, ti, ai int, op Op, own *ownWrites, lookup func(int, uint64) ([]version, bool),
	writerName func(version) string, writes map[varValue][]writeRef, r *Report) {
	t := &h.Txns[ti]
	a := &t.Attempts[ai]
	name, x := attemptName(t, ai), h.VarName(op.Var)
	if w, ok := own.last(op.Var); ok {
		r.add(ReadYourWrites, []int{t.ID}, "%s commuted %s from the committed %s, not from its own write of %s", name, x, op.Old, w)
		return
	}
	vs, ok := lookup(op.Var, op.Version)
	if !ok {
		r.add(GarbageRead, []int{t.ID}, "%s commuted %s from version %d, which no recorded commit produced", name, x, op.Version)
		return
	}
	if want := vs[0].value; want != "" && want != string(op.Old) {
		c, why := dirtyClass(h, writes[varValue{op.Var, string(op.Old)}], ti)
		r.add(c, []int{t.ID}, "%s commuted %s from %s at version %d, where %s committed %s: the value is %s",
			name, x, op.Old, op.Version, writerName(vs[0]), want, why)
	}
	if ai != len(t.Attempts)-1 || t.Outcome != Committed || a.Outcome != AttemptCommit {
		return
	}
	switch {
	case op.Version >= a.WV:
		r.add(Serializability, []int{t.ID}, "T%d committed at version %d a commute of %s applied to version %d, not an earlier one",
			t.ID, a.WV, x, op.Version)
	case len(vs) > 1 && vs[1].ver < a.WV:
		r.add(Serializability, []int{t.ID, h.Txns[vs[1].txn].ID},
			"T%d committed at version %d a commute of %s applied to version %d (written by %s), but %s had committed version %d of %s in between: the commute was applied to a stale value (a lost update)",
			t.ID, a.WV, x, op.Version, writerName(vs[0]), writerName(vs[1]), vs[1].ver, x)
	}
}
