package stmtest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// CheckBlackBox checks a history using nothing but the values read and
// written, Elle-style. It assumes every write gives its Var a value never
// written to it before (make written values unique, for example by
// encoding the writer and a counter in them); the initial value of a Var
// is the value read that nobody wrote.
//
// It builds the dependency graph of Adya, Liskov and O'Neil over the
// committed transactions and, as read-only observers, every attempt that
// did not commit (so that an inconsistent view of an aborted attempt, an
// opacity violation, shows up as a cycle too): write-read edges from each
// read to its writer, write-write edges where a transaction read a Var
// and then overwrote it (and from the initial state to every writer),
// read-write edges from a read to the writes that followed the version it
// read, and real-time edges between transactions that did not overlap.
// Each strongly connected component is reported as the most severe Adya
// anomaly whose shortest cycle it contains: G0, G1c, G-single, then G2,
// with a "-realtime" suffix when the cycle needs a real-time edge. Reads
// of aborted or intermediate writes are reported as G1a and G1b.
//
// A Commuted operation is a read of its Old value and a write of its
// Value, both at the transaction's point in the serial order, which is
// where every read of a committed transaction is in this check anyway: so
// it gets the edges of a read-modify-write, and a commute applied to a
// value other than the one the previous writer in the serial order left
// makes a cycle (a lost update), as far as the graph can order the writes.
//
// Version order is only inferred from read-modify-write chains, so like
// Elle the check is sound but incomplete: every anomaly it reports is
// real, but blind writes can hide some.
func CheckBlackBox(h *History) Report {
	r := Report{Checked: []string{"black-box"}, Txns: len(h.Txns), Attempts: countAttempts(h)}
	g := newGraph(h)
	writes, finals := indexWrites(h)

	// Nodes: T0, the committed transactions, the other attempts.
	for ti := range h.Txns {
		t := &h.Txns[ti]
		for ai := range t.Attempts {
			g.addNode(ti, ai)
		}
	}
	finalWriter := map[varValue]int{}
	writersOf := map[int][]int{} // Var -> committed nodes writing it
	for ti, f := range finals {
		if f == nil {
			continue
		}
		n := g.nodeOf[[2]int{ti, len(h.Txns[ti].Attempts) - 1}]
		for v, val := range f {
			key := varValue{v, val}
			if other, dup := finalWriter[key]; dup {
				r.add(DuplicateWrite, []int{g.txnID(other), h.Txns[ti].ID}, "%s and T%d both committed %s = %s: the black-box check needs unique written values",
					g.name(other), h.Txns[ti].ID, h.VarName(v), val)
				continue
			}
			finalWriter[key] = n
			writersOf[v] = append(writersOf[v], n)
		}
	}

	// External reads of every node, checked for internal consistency.
	ext := make([][]varValue, len(g.nodes)) // the reads of values written by other transactions
	unknown := map[int]map[string]int{}
	for n := 1; n < len(g.nodes); n++ {
		a := g.attempt(n)
		var own ownWrites
		first := map[int]string{}
		for oi, op := range a.Ops {
			if op.Kind.reads() {
				// A Commuted operation's read comes before its own write.
				x, val := h.VarName(op.Var), op.readValue()
				verb := "read"
				if op.Kind == Commuted {
					verb = "commuted from"
				}
				if w, ok := own.last(op.Var); ok {
					if val != w || op.Kind == Commuted {
						r.add(ReadYourWrites, []int{g.txnID(n)}, "%s %s %s = %s after writing %s to it", g.name(n), verb, x, val, w)
					}
				} else if prev, ok := first[op.Var]; ok {
					if prev != val {
						r.add(Internal, []int{g.txnID(n)}, "%s read %s = %s, then %s %s = %s, with no write of its own in between", g.name(n), x, prev, verb, x, val)
					}
				} else {
					first[op.Var] = val
					ext[n] = append(ext[n], varValue{op.Var, val})
					if _, ok := writes[varValue{op.Var, val}]; !ok {
						if unknown[op.Var] == nil {
							unknown[op.Var] = map[string]int{}
						}
						unknown[op.Var][val]++
					}
				}
			}
			own.apply(oi, op)
		}
	}
	initial := map[int]string{}
	for v, vals := range unknown {
		best, bestN := "", 0
		for val, k := range vals {
			if k > bestN || k == bestN && val < best {
				best, bestN = val, k
			}
		}
		initial[v] = best
	}

	// Write-read edges, and where each read's value came from.
	readFrom := make([]map[int]int, len(g.nodes))
	for n := 1; n < len(g.nodes); n++ {
		readFrom[n] = map[int]int{}
		for _, e := range ext[n] {
			x := h.VarName(e.v)
			if w, ok := finalWriter[e]; ok {
				if w == n {
					r.add(Internal, []int{g.txnID(n)}, "%s read %s = %s before writing that value itself", g.name(n), x, e.value)
					continue
				}
				readFrom[n][e.v] = w
				g.addEdge(w, n, edgeWR, e.v, e.value)
				continue
			}
			if refs, ok := writes[e]; ok {
				c, why := dirtyClass(h, refs, g.nodes[n].txn)
				if c != GarbageRead {
					r.add(c, []int{g.txnID(n), h.Txns[refs[0].txn].ID}, "%s read %s = %s: %s", g.name(n), x, e.value, why)
					continue
				}
			}
			if e.value != initial[e.v] {
				r.add(GarbageRead, []int{g.txnID(n)}, "%s read %s = %s, which nobody wrote (the initial value was %s)", g.name(n), x, e.value, initial[e.v])
				continue
			}
			readFrom[n][e.v] = 0
		}
	}

	// Write-write edges: the initial state precedes every write, and a
	// transaction that read a Var and wrote it follows the write it read.
	next := map[[2]int][]int{} // (Var, node) -> nodes known to write the Var next after it
	for v, ws := range writersOf {
		for _, w := range ws {
			next[[2]int{v, 0}] = append(next[[2]int{v, 0}], w)
			if from, ok := readFrom[w][v]; ok && from != 0 {
				next[[2]int{v, from}] = append(next[[2]int{v, from}], w)
				g.addEdge(from, w, edgeWW, v, finals[g.nodes[w].txn][v])
			}
		}
	}
	// Read-write edges: a read precedes the writes that followed what it read.
	for n := 1; n < len(g.nodes); n++ {
		for v, from := range readFrom[n] {
			for _, w := range next[[2]int{v, from}] {
				if w != n {
					g.addEdge(n, w, edgeRW, v, finals[g.nodes[w].txn][v])
				}
			}
		}
	}
	g.addRealTime()
	g.findCycles(&r)
	return r
}

type edgeKind uint8

const (
	edgeWW edgeKind = iota
	edgeWR
	edgeRW
	edgeRT
)

type edge struct {
	from, to int
	kind     edgeKind
	v        int
	value    string
}

type node struct{ txn, attempt int } // txn -1: T0

type graph struct {
	h      *History
	nodes  []node
	nodeOf map[[2]int]int
	out    [][]edge
	seen   map[[3]int]bool // (from, to, kind): one edge of each kind is enough
}

func newGraph(h *History) *graph {
	return &graph{h: h, nodes: []node{{-1, 0}}, nodeOf: map[[2]int]int{}, out: [][]edge{nil}, seen: map[[3]int]bool{}}
}

func (g *graph) addNode(ti, ai int) {
	g.nodeOf[[2]int{ti, ai}] = len(g.nodes)
	g.nodes = append(g.nodes, node{ti, ai})
	g.out = append(g.out, nil)
}

func (g *graph) attempt(n int) *Attempt {
	return &g.h.Txns[g.nodes[n].txn].Attempts[g.nodes[n].attempt]
}

// committed reports whether node n is a committed transaction (or T0).
func (g *graph) committed(n int) bool {
	if n == 0 {
		return true
	}
	t := &g.h.Txns[g.nodes[n].txn]
	_, ok := committedTxn(t)
	return ok && g.nodes[n].attempt == len(t.Attempts)-1
}

func (g *graph) txnID(n int) int {
	if n == 0 {
		return 0
	}
	return g.h.Txns[g.nodes[n].txn].ID
}

func (g *graph) name(n int) string {
	if n == 0 {
		return "T0"
	}
	return attemptName(&g.h.Txns[g.nodes[n].txn], g.nodes[n].attempt)
}

func (g *graph) addEdge(from, to int, k edgeKind, v int, value string) {
	key := [3]int{from, to, int(k)}
	if from == to || g.seen[key] {
		return
	}
	g.seen[key] = true
	g.out[from] = append(g.out[from], edge{from, to, k, v, value})
}

// addRealTime adds an edge from each committed transaction to each one
// invoked after it completed, leaving out those implied by transitivity:
// a frontier of completed transactions not yet followed by another.
func (g *graph) addRealTime() {
	type event struct {
		tick     uint64
		n        int
		complete bool
	}
	var evs []event
	for n := 1; n < len(g.nodes); n++ {
		if g.committed(n) {
			t := &g.h.Txns[g.nodes[n].txn]
			evs = append(evs, event{t.Invoke, n, false}, event{t.Complete, n, true})
		}
	}
	slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.tick, b.tick) })
	frontier := map[int]bool{}
	preds := map[int][]int{}
	for _, e := range evs {
		if !e.complete {
			for f := range frontier {
				g.addEdge(f, e.n, edgeRT, 0, "")
				preds[e.n] = append(preds[e.n], f)
			}
			continue
		}
		for _, p := range preds[e.n] {
			delete(frontier, p)
		}
		frontier[e.n] = true
	}
}

// sccs returns the strongly connected components of more than one node
// (Tarjan's algorithm, iterative so that long histories cannot overflow
// the stack).
func (g *graph) sccs() [][]int {
	n := len(g.nodes)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var out [][]int
	var comp []int
	next := 0
	type frame struct{ v, i int }
	for root := range n {
		if index[root] >= 0 {
			continue
		}
		work := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		comp = append(comp, root)
		onStack[root] = true
		for len(work) > 0 {
			f := &work[len(work)-1]
			if f.i < len(g.out[f.v]) {
				w := g.out[f.v][f.i].to
				f.i++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					comp = append(comp, w)
					onStack[w] = true
					work = append(work, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			work = work[:len(work)-1]
			if len(work) > 0 {
				u := work[len(work)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == index[v] {
				var c []int
				for {
					w := comp[len(comp)-1]
					comp = comp[:len(comp)-1]
					onStack[w] = false
					c = append(c, w)
					if w == v {
						break
					}
				}
				if len(c) > 1 {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// shortestPath returns the fewest edges of the allowed kinds leading from
// a to b inside the component in, or nil.
func (g *graph) shortestPath(a, b int, in map[int]bool, allowed [4]bool) []edge {
	prev := map[int]edge{}
	queue := []int{a}
	visited := map[int]bool{a: true}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range g.out[v] {
			if !allowed[e.kind] || !in[e.to] {
				continue
			}
			if e.to == b {
				path := []edge{e}
				for x := v; x != a; x = prev[x].from {
					path = append(path, prev[x])
				}
				slices.Reverse(path)
				return path
			}
			if !visited[e.to] {
				visited[e.to] = true
				prev[e.to] = e
				queue = append(queue, e.to)
			}
		}
	}
	return nil
}

// shortestCycle returns a shortest cycle of the allowed edge kinds in the
// component, or nil.
func (g *graph) shortestCycle(comp []int, in map[int]bool, allowed [4]bool) []edge {
	var best []edge
	for _, s := range comp {
		for _, e := range g.out[s] {
			if !allowed[e.kind] || !in[e.to] {
				continue
			}
			if p := g.shortestPath(e.to, s, in, allowed); p != nil && (best == nil || len(p)+1 < len(best)) {
				best = append([]edge{e}, p...)
				if len(best) == 2 {
					return best
				}
			}
		}
	}
	return best
}

// singleRW returns a shortest cycle with exactly one read-write edge.
func (g *graph) singleRW(comp []int, in map[int]bool, allowed [4]bool) []edge {
	var best []edge
	for _, s := range comp {
		for _, e := range g.out[s] {
			if e.kind != edgeRW || !in[e.to] {
				continue
			}
			if p := g.shortestPath(e.to, s, in, allowed); p != nil && (best == nil || len(p)+1 < len(best)) {
				best = append([]edge{e}, p...)
			}
		}
	}
	return best
}

func (g *graph) findCycles(r *Report) {
	for _, comp := range g.sccs() {
		in := map[int]bool{}
		for _, n := range comp {
			in[n] = true
		}
		var cycle []edge
		var class Class
		for _, rt := range []bool{false, true} {
			suffix := func(c Class) Class {
				if rt {
					return c.Realtime()
				}
				return c
			}
			if cycle = g.shortestCycle(comp, in, [4]bool{edgeWW: true, edgeRT: rt}); cycle != nil {
				class = suffix(G0)
			} else if cycle = g.shortestCycle(comp, in, [4]bool{edgeWW: true, edgeWR: true, edgeRT: rt}); cycle != nil {
				class = suffix(G1c)
			} else if cycle = g.singleRW(comp, in, [4]bool{edgeWW: true, edgeWR: true, edgeRT: rt}); cycle != nil {
				class = suffix(GSingle)
			} else if cycle = g.shortestCycle(comp, in, [4]bool{true, true, true, rt}); cycle != nil {
				class = suffix(G2)
			}
			if cycle != nil {
				break
			}
		}
		if cycle == nil {
			continue // unreachable: a component always has a cycle
		}
		r.Anomalies = append(r.Anomalies, g.explain(class, cycle))
	}
}

func (g *graph) explain(class Class, cycle []edge) Anomaly {
	var parts, names []string
	var ids []int
	opaque := false
	for _, e := range cycle {
		ids = append(ids, g.txnID(e.from))
		names = append(names, g.name(e.from))
		if !g.committed(e.from) {
			opaque = true
		}
		a, b := g.name(e.from), g.name(e.to)
		x := g.h.VarName(e.v)
		var why string
		switch e.kind {
		case edgeWW:
			why = fmt.Sprintf("%s overwrote %s's write of %s", b, a, x)
			if e.from == 0 {
				why = fmt.Sprintf("%s wrote %s after its initial value", b, x)
			}
		case edgeWR:
			why = fmt.Sprintf("%s read %s's write of %s (%s)", b, a, x, e.value)
		case edgeRW:
			why = fmt.Sprintf("%s read a version of %s that %s overwrote (with %s)", a, x, b, e.value)
		case edgeRT:
			why = fmt.Sprintf("%s completed (tick %d) before %s began (tick %d)", a, g.h.Txns[g.nodes[e.from].txn].Complete, b, g.h.Txns[g.nodes[e.to].txn].Invoke)
		}
		parts = append(parts, fmt.Sprintf("%s < %s because %s", a, b, why))
	}
	names = append(names, names[0])
	text := strings.Join(parts, "; ") + "; a cycle: " + strings.Join(names, " -> ")
	if opaque {
		text += " (through an attempt that did not commit: it saw an inconsistent snapshot, an opacity violation)"
	}
	return Anomaly{Class: class, Txns: ids, Explanation: text}
}
