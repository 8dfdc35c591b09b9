package bench

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"

	astm "github.com/anacrolix/stm"

	"gostm.dev/stm"
)

// The integer set of synchrobench, TinySTM and RSTM: a sorted linked list,
// or a skip list, with a transactional variable per link, so that two
// updates conflict only when they touch the same links. Every update is
// effective (synchrobench -f 1): it inserts the key if absent and removes
// it if present, which also keeps the size near range/2.

const skipMaxLevel = 16

func intsetWorkload(name string, levels int) Workload {
	doc := "sorted linked list with a Var per link"
	initial, keyRange := 256, 512
	if levels > 1 {
		doc = "skip list with a Var per link"
		initial, keyRange = 1024, 2048
	}
	return Workload{
		Name: name,
		Doc:  doc + "; lookups, and u% updates that insert or remove a random key (invariant: sorted, no duplicates, size = initial + inserts - removes)",
		Params: []Param{
			{Name: "initial", Usage: "initial number of keys (i)", Default: initial, Min: 0},
			{Name: "range", Usage: "keys are drawn from [0, range) (r)", Default: keyRange, Min: 1},
			{Name: "update", Usage: "percentage of operations that update (u)", Default: 20, Min: 0, Max: 100},
		},
		Validate: func(p Params) error {
			if p["initial"] > p["range"] {
				return fmt.Errorf("-initial %d exceeds -range %d: the keys would not be distinct", p["initial"], p["range"])
			}
			return nil
		},
		Engines: []Engine{
			{Name: Gostm, Doc: "a Var per link", New: intsetEngine(levels, newIntsetGostm), Counters: GostmCounters},
			{Name: Anacrolix, Doc: "an anacrolix Var per link", New: intsetEngine(levels, newIntsetAnacrolix), Counters: AnacrolixCounters},
			{Name: Mutex, Doc: "one mutex over the structure", New: intsetEngine(levels, func(s *intset, st Setup) Instance { return newIntsetLocked(s, st, false) })},
			{Name: RWMutex, Doc: "one RWMutex; lookups share it", New: intsetEngine(levels, func(s *intset, st Setup) Instance { return newIntsetLocked(s, st, true) })},
		},
	}
}

// isNode is a key and its links, one per level. isLink holds the link in
// the form the engine uses; one algorithm serves every engine, so all pay
// the same memory layout and the comparison is of synchronisation only.
type isNode struct {
	key  int
	next []isLink
}

type isLink struct {
	p  *isNode
	sv *stm.Var[*isNode]
	av *astm.Var
}

// linkAccess reads and writes links the way one engine does.
type linkAccess interface {
	load(l *isLink) *isNode
	store(l *isLink, n *isNode)
	init(l *isLink, n *isNode) // the link of a node not yet published
}

type plainAccess struct{}

func (plainAccess) load(l *isLink) *isNode     { return l.p }
func (plainAccess) store(l *isLink, n *isNode) { l.p = n }
func (plainAccess) init(l *isLink, n *isNode)  { l.p = n }

type stmAccess struct{ tx *stm.Tx }

func (a stmAccess) load(l *isLink) *isNode     { return l.sv.Get(a.tx) }
func (a stmAccess) store(l *isLink, n *isNode) { l.sv.Set(a.tx, n) }
func (stmAccess) init(l *isLink, n *isNode)    { l.sv = stm.NewVar(n) }

type anaAccess struct{ tx *astm.Tx }

func (a anaAccess) load(l *isLink) *isNode     { return a.tx.Get(l.av).(*isNode) }
func (a anaAccess) store(l *isLink, n *isNode) { a.tx.Set(l.av, n) }
func (anaAccess) init(l *isLink, n *isNode)    { l.av = astm.NewVar(n) }

// intset is the structure: a head of key MinInt and a tail of key MaxInt,
// so that a search never meets a nil link.
type intset struct {
	head    *isNode
	levels  int
	initial int
	keys    int // the key range
}

// newIntset builds the initial set with plain links.
func newIntset(st Setup, levels, initial, keyRange int, rng *rand.Rand) (*intset, error) {
	levels = min(levels, max(1, bits.Len(uint(keyRange))))
	tail := &isNode{key: math.MaxInt}
	head := &isNode{key: math.MinInt, next: make([]isLink, levels)}
	for l := range head.next {
		head.next[l].p = tail
	}
	s := &intset{head: head, levels: levels, initial: initial, keys: keyRange}
	for n, tries := 0, 0; n < initial; tries++ {
		if st.Cancelled(tries) { // a long sorted list fills in quadratic time
			return nil, st.Err()
		}
		key := rng.IntN(keyRange)
		if isFind(plainAccess{}, s, key, nil).key != key {
			isFlip(plainAccess{}, s, key, s.height(rng))
			n++
		}
	}
	return s, nil
}

// height draws a node height: level l+1 with probability 2^-l.
func (s *intset) height(rng *rand.Rand) int {
	h := 1
	for h < s.levels && rng.Uint64()&1 == 1 {
		h++
	}
	return h
}

// convert gives every link the representation of engine access a.
func (s *intset) convert(a linkAccess) {
	for n := s.head; n.next != nil; n = n.next[0].p {
		for l := range n.next {
			a.init(&n.next[l], n.next[l].p)
		}
	}
}

// isFind returns the first node of key ≥ key, and in preds, if not nil,
// its predecessor at each level. Every link ever written points to a
// larger key, so even a search on an inconsistent snapshot (anacrolix
// reads are not opaque) ends.
func isFind[A linkAccess](a A, s *intset, key int, preds *[skipMaxLevel]*isNode) *isNode {
	pred := s.head
	var cur *isNode
	for l := s.levels - 1; l >= 0; l-- {
		cur = a.load(&pred.next[l])
		for cur.key < key {
			pred = cur
			cur = a.load(&cur.next[l])
		}
		if preds != nil {
			preds[l] = pred
		}
	}
	return cur
}

// isFlip removes key if present (returns -1), else inserts it with the
// given height (returns +1). A removed node keeps its links, so a search
// standing on it still finds its way forward.
func isFlip[A linkAccess](a A, s *intset, key, height int) int {
	var preds [skipMaxLevel]*isNode
	cur := isFind(a, s, key, &preds)
	if cur.key == key {
		for l := range cur.next {
			a.store(&preds[l].next[l], a.load(&cur.next[l]))
		}
		return -1
	}
	n := &isNode{key: key, next: make([]isLink, height)}
	for l := range height {
		a.init(&n.next[l], a.load(&preds[l].next[l]))
		a.store(&preds[l].next[l], n)
	}
	return 1
}

// isValidate checks the structure: each level sorted without duplicates,
// each node on a level it is tall enough for and present at level 0, keys
// in range, and the size the workers' own counts predict.
func isValidate[A linkAccess](a A, s *intset, want int) error {
	level0 := map[*isNode]bool{}
	for l := range s.levels {
		prev := s.head
		n := 0
		for cur := a.load(&s.head.next[l]); cur.key != math.MaxInt; cur = a.load(&cur.next[l]) {
			switch {
			case cur.key <= prev.key:
				return fmt.Errorf("level %d: key %d follows %d: not strictly sorted", l, cur.key, prev.key)
			case cur.key < 0 || cur.key >= s.keys:
				return fmt.Errorf("level %d: key %d out of range [0, %d)", l, cur.key, s.keys)
			case len(cur.next) <= l:
				return fmt.Errorf("level %d: node %d has only %d levels", l, cur.key, len(cur.next))
			case l == 0:
				level0[cur] = true
			case !level0[cur]:
				return fmt.Errorf("level %d: node %d is not on level 0", l, cur.key)
			}
			prev = cur
			n++
			if n > s.keys {
				return errors.New("more nodes than keys: a cycle")
			}
		}
		if l == 0 && n != want {
			return fmt.Errorf("set has %d keys, want %d (initial %d + inserts - removes)", n, want, s.initial)
		}
	}
	return nil
}

// isOps is what the workers of one run need: the parameters and each
// worker's net change of the size.
type isOps struct {
	set    *intset
	update int
	delta  []int
}

func intsetEngine(levels int, build func(*intset, Setup) Instance) func(Setup) (Instance, error) {
	return func(st Setup) (Instance, error) {
		s, err := newIntset(st, levels, st.Params["initial"], st.Params["range"], rand.New(rand.NewPCG(st.Seed, 0)))
		if err != nil {
			return nil, err
		}
		return build(s, st), nil
	}
}

func newIsOps(s *intset, st Setup) *isOps {
	return &isOps{set: s, update: st.Params["update"], delta: make([]int, st.Goroutines)}
}

func (o *isOps) want() int { return o.set.initial + sum(o.delta) }

func newIntsetGostm(s *intset, st Setup) Instance {
	s.convert(stmAccess{})
	o := newIsOps(s, st)
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			var key, h int
			flip := func(tx *stm.Tx) int { return isFlip(stmAccess{tx}, s, key, h) }
			has := func(tx *stm.Tx) bool { return isFind(stmAccess{tx}, s, key, nil).key == key }
			return func() bool {
				key = rng.IntN(s.keys)
				if rng.IntN(100) < o.update {
					h = s.height(rng)
					o.delta[g] += stm.Eval(flip)
				} else {
					stm.Eval(has)
				}
				return true
			}
		},
		CheckFunc: func() error {
			var err error
			stm.Eval(func(tx *stm.Tx) bool { err = isValidate(stmAccess{tx}, s, o.want()); return true })
			return err
		},
	}
}

func newIntsetAnacrolix(s *intset, st Setup) Instance {
	s.convert(anaAccess{})
	o := newIsOps(s, st)
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			var key, h int
			flip := func(tx *astm.Tx) interface{} { return isFlip(anaAccess{tx}, s, key, h) }
			has := func(tx *astm.Tx) interface{} { return isFind(anaAccess{tx}, s, key, nil).key == key }
			return func() bool {
				key = rng.IntN(s.keys)
				if rng.IntN(100) < o.update {
					h = s.height(rng)
					o.delta[g] += astm.Atomically(flip).(int)
				} else {
					astm.Atomically(has)
				}
				return true
			}
		},
		CheckFunc: func() error {
			err, _ := astm.Atomically(func(tx *astm.Tx) interface{} {
				return isValidate(anaAccess{tx}, s, o.want())
			}).(error)
			return err
		},
	}
}

func newIntsetLocked(s *intset, st Setup, shared bool) Instance {
	o := newIsOps(s, st)
	var mu sync.Mutex
	var rw sync.RWMutex
	return &Funcs{
		WorkerFunc: func(g int, rng *rand.Rand) func() bool {
			return func() bool {
				key := rng.IntN(s.keys)
				upd := rng.IntN(100) < o.update
				switch {
				case upd:
					h := s.height(rng)
					if shared {
						rw.Lock()
						o.delta[g] += isFlip(plainAccess{}, s, key, h)
						rw.Unlock()
					} else {
						mu.Lock()
						o.delta[g] += isFlip(plainAccess{}, s, key, h)
						mu.Unlock()
					}
				case shared:
					rw.RLock()
					isFind(plainAccess{}, s, key, nil)
					rw.RUnlock()
				default:
					mu.Lock()
					isFind(plainAccess{}, s, key, nil)
					mu.Unlock()
				}
				return true
			}
		},
		CheckFunc: func() error { return isValidate(plainAccess{}, s, o.want()) },
	}
}
