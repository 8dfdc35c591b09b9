package lockfree

import (
	"iter"
	"math/bits"
	"sync/atomic"
)

// Ctrie is a concurrent hash trie with O(1) snapshots (Prokopec, Bronson,
// Bagwell, Odersky, PPoPP 2012): the variant whose Range and Len are
// linearizable.
//
// Structure: indirection nodes (INodes) point to immutable main nodes: a
// 32-way bitmap node (5 hash bits per level, 13 levels of a 64-bit hash),
// a tomb for a node waiting to be contracted into its parent, or a list for
// keys whose 64-bit hashes are equal. Every update builds a new main node
// and installs it with GCAS, a CAS that commits only if the trie's
// generation has not changed since the update started; the root changes
// only by RDCSS, which swaps it only if the old root's main node is still
// the expected one. Together they make Snapshot a single root swap: old and
// new roots get fresh generations, and writers lazily copy (renew) the
// nodes they pass on their way down.
//
// Progress: lock-free. Load, writes, Snapshot and Clear never block; a
// failed CAS means another operation made progress, and the operation
// retries from the root.
//
// Resize: none. The trie grows a level where two keys share a hash prefix
// and contracts emptied nodes into their parents (tombs are cleaned by the
// next operation that passes them).
//
// Iteration: Range and All iterate an O(1) read-only snapshot taken when
// they start, so they see exactly the map at one instant: each key once,
// with its value at that instant, no matter what writers do meanwhile. Len
// counts a snapshot, so it is exact at one instant and costs O(n). Clear is
// a linearizable root swap.
//
// Compute and LoadOrCompute may call f more than once when they race with
// other writers (only the last call's result is installed), so f must be
// free of side effects. A panic in f leaves the map unchanged.
//
// Use NewCtrie; the zero value is not usable.
type Ctrie[K comparable, V any] struct {
	_        noCopy
	root     atomic.Pointer[ctINode[K, V]]
	readOnly bool
	hash     func(K) uint64
	eq       func(a, b V) bool
}

const (
	ctBits  = 5
	ctWidth = 1 << ctBits
	ctMaxLv = 64 // at this level keys with equal hashes go into a list node
)

// ctGen is a generation; only its address matters, so it must not be zero-sized.
type ctGen struct{ _ byte }

type ctINode[K comparable, V any] struct {
	main atomic.Pointer[ctMain[K, V]]
	gen  *ctGen
	// desc is set only on the placeholder that sits in the root while an
	// RDCSS is in progress.
	desc *ctDesc[K, V]
}

type ctDesc[K comparable, V any] struct {
	old       *ctINode[K, V]
	expMain   *ctMain[K, V]
	nv        *ctINode[K, V]
	committed atomic.Bool
}

type ctKind uint8

const (
	ctCNode ctKind = iota
	ctTNode
	ctLNode
	ctFailed
)

// ctMain is every kind of main node in one struct (Go has no cheap sum
// types). prev is GCAS's proposal state: nil when committed, the previous
// main node while pending, or a ctFailed node whose failed field holds the
// main node to roll back to.
type ctMain[K comparable, V any] struct {
	kind   ctKind
	prev   atomic.Pointer[ctMain[K, V]]
	bmp    uint32           // ctCNode
	arr    []ctBranch[K, V] // ctCNode
	gen    *ctGen           // ctCNode
	sn     *ctSNode[K, V]   // ctTNode
	list   []*ctSNode[K, V] // ctLNode
	failed *ctMain[K, V]    // ctFailed
}

type ctBranch[K comparable, V any] struct {
	in *ctINode[K, V]
	sn *ctSNode[K, V]
}

type ctSNode[K comparable, V any] struct {
	key   K
	value V
	hash  uint64
}

// NewCtrie returns an empty Ctrie.
func NewCtrie[K comparable, V any](opts ...Option) *Ctrie[K, V] {
	c := buildConfig(opts)
	t := &Ctrie[K, V]{hash: hasherFor[K](&c), eq: equalFor[V](&c)}
	t.root.Store(ctNewRoot[K, V](&ctGen{}))
	return t
}

func ctNewRoot[K comparable, V any](g *ctGen) *ctINode[K, V] {
	in := &ctINode[K, V]{gen: g}
	in.main.Store(&ctMain[K, V]{kind: ctCNode, gen: g})
	return in
}

func ctFlagPos(h uint64, lev uint, bmp uint32) (flag uint32, pos int) {
	flag = 1 << ((h >> lev) & (ctWidth - 1))
	return flag, bits.OnesCount32(bmp & (flag - 1))
}

// --- GCAS and RDCSS ---

func (c *Ctrie[K, V]) gcas(in *ctINode[K, V], old, n *ctMain[K, V]) bool {
	n.prev.Store(old)
	if in.main.CompareAndSwap(old, n) {
		hook()
		c.gcasCommit(in, n)
		return n.prev.Load() == nil
	}
	return false
}

func (c *Ctrie[K, V]) gcasRead(in *ctINode[K, V]) *ctMain[K, V] {
	m := in.main.Load()
	if m.prev.Load() == nil {
		return m
	}
	return c.gcasCommit(in, m)
}

// gcasCommit decides a pending proposal m in in: it commits if the trie's
// generation is still in's (and this is not a read-only snapshot), and
// otherwise rolls in back to the previous main node.
func (c *Ctrie[K, V]) gcasCommit(in *ctINode[K, V], m *ctMain[K, V]) *ctMain[K, V] {
	for {
		prev := m.prev.Load()
		if prev == nil {
			return m
		}
		root := c.readRoot(true)
		if prev.kind == ctFailed {
			if in.main.CompareAndSwap(m, prev.failed) {
				return prev.failed
			}
			m = in.main.Load()
			continue
		}
		if root.gen == in.gen && !c.readOnly {
			if m.prev.CompareAndSwap(prev, nil) {
				return m
			}
			continue
		}
		m.prev.CompareAndSwap(prev, &ctMain[K, V]{kind: ctFailed, failed: prev})
		m = in.main.Load()
	}
}

func (c *Ctrie[K, V]) readRoot(abort bool) *ctINode[K, V] {
	r := c.root.Load()
	if r.desc == nil {
		return r
	}
	return c.rdcssComplete(abort)
}

func (c *Ctrie[K, V]) rdcssComplete(abort bool) *ctINode[K, V] {
	for {
		r := c.root.Load()
		if r.desc == nil {
			return r
		}
		d := r.desc
		if abort {
			if c.root.CompareAndSwap(r, d.old) {
				return d.old
			}
			continue
		}
		if c.gcasRead(d.old) == d.expMain {
			if c.root.CompareAndSwap(r, d.nv) {
				d.committed.Store(true)
				return d.nv
			}
			continue
		}
		if c.root.CompareAndSwap(r, d.old) {
			return d.old
		}
	}
}

// rdcssRoot replaces the root old with nv if old's main node is still
// expMain.
func (c *Ctrie[K, V]) rdcssRoot(old *ctINode[K, V], expMain *ctMain[K, V], nv *ctINode[K, V]) bool {
	d := &ctINode[K, V]{desc: &ctDesc[K, V]{old: old, expMain: expMain, nv: nv}}
	if c.root.CompareAndSwap(old, d) {
		hook()
		c.rdcssComplete(false)
		return d.desc.committed.Load()
	}
	return false
}

func (c *Ctrie[K, V]) copyToGen(in *ctINode[K, V], g *ctGen) *ctINode[K, V] {
	n := &ctINode[K, V]{gen: g}
	n.main.Store(c.gcasRead(in))
	return n
}

// --- main node constructors (all return fresh, unpublished nodes) ---

func (c *Ctrie[K, V]) renewed(cn *ctMain[K, V], g *ctGen) *ctMain[K, V] {
	arr := make([]ctBranch[K, V], len(cn.arr))
	for i, br := range cn.arr {
		if br.in != nil {
			arr[i] = ctBranch[K, V]{in: c.copyToGen(br.in, g)}
		} else {
			arr[i] = br
		}
	}
	return &ctMain[K, V]{kind: ctCNode, bmp: cn.bmp, arr: arr, gen: g}
}

func ctInserted[K comparable, V any](cn *ctMain[K, V], pos int, flag uint32, br ctBranch[K, V], g *ctGen) *ctMain[K, V] {
	arr := make([]ctBranch[K, V], len(cn.arr)+1)
	copy(arr, cn.arr[:pos])
	arr[pos] = br
	copy(arr[pos+1:], cn.arr[pos:])
	return &ctMain[K, V]{kind: ctCNode, bmp: cn.bmp | flag, arr: arr, gen: g}
}

func ctUpdatedAt[K comparable, V any](cn *ctMain[K, V], pos int, br ctBranch[K, V], g *ctGen) *ctMain[K, V] {
	arr := make([]ctBranch[K, V], len(cn.arr))
	copy(arr, cn.arr)
	arr[pos] = br
	return &ctMain[K, V]{kind: ctCNode, bmp: cn.bmp, arr: arr, gen: g}
}

func ctRemoved[K comparable, V any](cn *ctMain[K, V], pos int, flag uint32, g *ctGen) *ctMain[K, V] {
	arr := make([]ctBranch[K, V], len(cn.arr)-1)
	copy(arr, cn.arr[:pos])
	copy(arr[pos:], cn.arr[pos+1:])
	return &ctMain[K, V]{kind: ctCNode, bmp: cn.bmp &^ flag, arr: arr, gen: g}
}

// ctContracted entombs a below-root bitmap node left with a single key, so
// that the parent can absorb it.
func ctContracted[K comparable, V any](cn *ctMain[K, V], lev uint) *ctMain[K, V] {
	if lev > 0 && len(cn.arr) == 1 && cn.arr[0].sn != nil {
		return &ctMain[K, V]{kind: ctTNode, sn: cn.arr[0].sn}
	}
	return cn
}

// compressed replaces children whose main node is a tomb by the tomb's key.
func (c *Ctrie[K, V]) compressed(cn *ctMain[K, V], lev uint, g *ctGen) *ctMain[K, V] {
	arr := make([]ctBranch[K, V], len(cn.arr))
	for i, br := range cn.arr {
		arr[i] = br
		if br.in != nil {
			if m := c.gcasRead(br.in); m.kind == ctTNode {
				arr[i] = ctBranch[K, V]{sn: m.sn}
			}
		}
	}
	return ctContracted(&ctMain[K, V]{kind: ctCNode, bmp: cn.bmp, arr: arr, gen: g}, lev)
}

func ctDual[K comparable, V any](x, y *ctSNode[K, V], lev uint, g *ctGen) *ctMain[K, V] {
	if lev >= ctMaxLv {
		return &ctMain[K, V]{kind: ctLNode, list: []*ctSNode[K, V]{x, y}}
	}
	xi, yi := (x.hash>>lev)&(ctWidth-1), (y.hash>>lev)&(ctWidth-1)
	bmp := uint32(1)<<xi | uint32(1)<<yi
	switch {
	case xi == yi:
		sub := &ctINode[K, V]{gen: g}
		sub.main.Store(ctDual(x, y, lev+ctBits, g))
		return &ctMain[K, V]{kind: ctCNode, bmp: bmp, arr: []ctBranch[K, V]{{in: sub}}, gen: g}
	case xi < yi:
		return &ctMain[K, V]{kind: ctCNode, bmp: bmp, arr: []ctBranch[K, V]{{sn: x}, {sn: y}}, gen: g}
	}
	return &ctMain[K, V]{kind: ctCNode, bmp: bmp, arr: []ctBranch[K, V]{{sn: y}, {sn: x}}, gen: g}
}

func (c *Ctrie[K, V]) clean(in *ctINode[K, V], lev uint) {
	if m := c.gcasRead(in); m.kind == ctCNode {
		c.gcas(in, m, c.compressed(m, lev, in.gen))
	}
}

// cleanParent folds i (at level lev+ctBits, now a tomb) back into its
// parent p.
func (c *Ctrie[K, V]) cleanParent(p, i *ctINode[K, V], h uint64, lev uint, startGen *ctGen) {
	for {
		pm := c.gcasRead(p)
		if pm.kind != ctCNode {
			return
		}
		flag, pos := ctFlagPos(h, lev, pm.bmp)
		if pm.bmp&flag == 0 || pm.arr[pos].in != i {
			return
		}
		m := c.gcasRead(i)
		if m.kind != ctTNode {
			return
		}
		ncn := ctUpdatedAt(pm, pos, ctBranch[K, V]{sn: m.sn}, i.gen)
		if c.gcas(p, pm, ctContracted(ncn, lev)) || c.readRoot(false).gen != startGen {
			return
		}
	}
}

// --- operations ---

// Load returns the value stored for key, and whether it was present.
func (c *Ctrie[K, V]) Load(key K) (value V, ok bool) {
	h := c.hash(key)
	for {
		r := c.readRoot(false)
		v, ok, restart := c.lookup(r, key, h)
		if !restart {
			return v, ok
		}
	}
}

func (c *Ctrie[K, V]) lookup(in *ctINode[K, V], key K, h uint64) (value V, ok, restart bool) {
	startGen := in.gen
	var parent *ctINode[K, V]
	lev := uint(0)
	for {
		m := c.gcasRead(in)
		switch m.kind {
		case ctCNode:
			flag, pos := ctFlagPos(h, lev, m.bmp)
			if m.bmp&flag == 0 {
				return value, false, false
			}
			br := m.arr[pos]
			if br.sn != nil {
				if br.sn.hash == h && br.sn.key == key {
					return br.sn.value, true, false
				}
				return value, false, false
			}
			if c.readOnly || br.in.gen == startGen {
				parent, in, lev = in, br.in, lev+ctBits
				continue
			}
			if !c.gcas(in, m, c.renewed(m, startGen)) {
				return value, false, true
			}
		case ctTNode:
			if c.readOnly {
				if m.sn.hash == h && m.sn.key == key {
					return m.sn.value, true, false
				}
				return value, false, false
			}
			c.clean(parent, lev-ctBits)
			return value, false, true
		case ctLNode:
			for _, sn := range m.list {
				if sn.key == key {
					return sn.value, true, false
				}
			}
			return value, false, false
		}
	}
}

// update is the write path: it finds key, calls f, and installs the result
// with one GCAS, retrying (and calling f again) from the root on failure.
func (c *Ctrie[K, V]) update(key K, f func(old V, loaded bool) (V, ComputeOp)) updResult[V] {
	if c.readOnly {
		panic("lockfree: write to a read-only Ctrie snapshot")
	}
	h := c.hash(key)
	for {
		r := c.readRoot(false)
		if res, ok := c.updateFrom(r, key, h, f); ok {
			return res
		}
	}
}

func (c *Ctrie[K, V]) updateFrom(in *ctINode[K, V], key K, h uint64, f func(old V, loaded bool) (V, ComputeOp)) (res updResult[V], done bool) {
	startGen := in.gen
	var parent *ctINode[K, V]
	lev := uint(0)
	for {
		m := c.gcasRead(in)
		switch m.kind {
		case ctTNode:
			c.clean(parent, lev-ctBits)
			return res, false
		case ctLNode:
			idx := -1
			for i, sn := range m.list {
				if sn.key == key {
					idx = i
					break
				}
			}
			var nm *ctMain[K, V]
			if idx < 0 {
				nv, op := f(res.old, false)
				if op != UpdateOp {
					return res, true
				}
				list := append(append([]*ctSNode[K, V](nil), m.list...), &ctSNode[K, V]{key, nv, h})
				nm = &ctMain[K, V]{kind: ctLNode, list: list}
				res.cur, res.ok = nv, true
			} else {
				old := m.list[idx].value
				res.old, res.loaded = old, true
				nv, op := f(old, true)
				switch op {
				case CancelOp:
					res.cur, res.ok = old, true
					return res, true
				case UpdateOp:
					list := append([]*ctSNode[K, V](nil), m.list...)
					list[idx] = &ctSNode[K, V]{key, nv, h}
					nm = &ctMain[K, V]{kind: ctLNode, list: list}
					res.cur, res.ok = nv, true
				case DeleteOp:
					list := append(append([]*ctSNode[K, V](nil), m.list[:idx]...), m.list[idx+1:]...)
					if len(list) == 1 {
						nm = &ctMain[K, V]{kind: ctTNode, sn: list[0]}
					} else {
						nm = &ctMain[K, V]{kind: ctLNode, list: list}
					}
				}
			}
			if !c.gcas(in, m, nm) {
				return updResult[V]{}, false
			}
			if nm.kind == ctTNode && parent != nil {
				c.cleanParent(parent, in, h, lev-ctBits, startGen)
			}
			return res, true
		}
		// A bitmap node.
		flag, pos := ctFlagPos(h, lev, m.bmp)
		cur := m
		if m.gen != in.gen {
			cur = c.renewed(m, in.gen)
		}
		if m.bmp&flag == 0 {
			nv, op := f(res.old, false)
			if op != UpdateOp {
				return res, true
			}
			if !c.gcas(in, m, ctInserted(cur, pos, flag, ctBranch[K, V]{sn: &ctSNode[K, V]{key, nv, h}}, in.gen)) {
				return updResult[V]{}, false
			}
			res.cur, res.ok = nv, true
			return res, true
		}
		br := m.arr[pos]
		if br.in != nil {
			if br.in.gen == startGen {
				parent, in, lev = in, br.in, lev+ctBits
				continue
			}
			if !c.gcas(in, m, c.renewed(m, startGen)) {
				return updResult[V]{}, false
			}
			continue
		}
		sn := br.sn
		if sn.hash != h || sn.key != key {
			nv, op := f(res.old, false)
			if op != UpdateOp {
				return res, true
			}
			sub := &ctINode[K, V]{gen: in.gen}
			sub.main.Store(ctDual(sn, &ctSNode[K, V]{key, nv, h}, lev+ctBits, in.gen))
			if !c.gcas(in, m, ctUpdatedAt(cur, pos, ctBranch[K, V]{in: sub}, in.gen)) {
				return updResult[V]{}, false
			}
			res.cur, res.ok = nv, true
			return res, true
		}
		res.old, res.loaded = sn.value, true
		nv, op := f(sn.value, true)
		switch op {
		case CancelOp:
			res.cur, res.ok = sn.value, true
			return res, true
		case UpdateOp:
			if !c.gcas(in, m, ctUpdatedAt(cur, pos, ctBranch[K, V]{sn: &ctSNode[K, V]{key, nv, h}}, in.gen)) {
				return updResult[V]{}, false
			}
			res.cur, res.ok = nv, true
			return res, true
		}
		// DeleteOp
		if !c.gcas(in, m, ctContracted(ctRemoved(cur, pos, flag, in.gen), lev)) {
			return updResult[V]{}, false
		}
		if parent != nil && c.gcasRead(in).kind == ctTNode {
			c.cleanParent(parent, in, h, lev-ctBits, startGen)
		}
		return res, true
	}
}

// Snapshot returns an independent, writable copy of the map as it is at
// one instant, in O(1): the two tries share nodes and copy them lazily as
// either is written.
func (c *Ctrie[K, V]) Snapshot() *Ctrie[K, V] {
	if c.readOnly {
		panic("lockfree: Snapshot of a read-only Ctrie snapshot")
	}
	for {
		r := c.readRoot(false)
		exp := c.gcasRead(r)
		if c.rdcssRoot(r, exp, c.copyToGen(r, &ctGen{})) {
			s := &Ctrie[K, V]{hash: c.hash, eq: c.eq}
			s.root.Store(c.copyToGen(r, &ctGen{}))
			return s
		}
	}
}

// readOnlySnapshot is Snapshot without the copy for the snapshot's side:
// the old root becomes immutable (its generation is retired), so it can be
// read directly.
func (c *Ctrie[K, V]) readOnlySnapshot() *Ctrie[K, V] {
	if c.readOnly {
		return c
	}
	for {
		r := c.readRoot(false)
		exp := c.gcasRead(r)
		if c.rdcssRoot(r, exp, c.copyToGen(r, &ctGen{})) {
			s := &Ctrie[K, V]{hash: c.hash, eq: c.eq, readOnly: true}
			s.root.Store(r)
			return s
		}
	}
}

func (c *Ctrie[K, V]) walk(in *ctINode[K, V], f func(K, V) bool) bool {
	m := c.gcasRead(in)
	switch m.kind {
	case ctCNode:
		for _, br := range m.arr {
			if br.sn != nil {
				if !f(br.sn.key, br.sn.value) {
					return false
				}
			} else if !c.walk(br.in, f) {
				return false
			}
		}
	case ctTNode:
		return f(m.sn.key, m.sn.value)
	case ctLNode:
		for _, sn := range m.list {
			if !f(sn.key, sn.value) {
				return false
			}
		}
	}
	return true
}

// Range calls f for each entry of a snapshot taken when Range starts, until
// f returns false. f may use the map; its writes are not seen by this Range.
func (c *Ctrie[K, V]) Range(f func(key K, value V) bool) {
	s := c.readOnlySnapshot()
	s.walk(s.root.Load(), f)
}

// All returns an iterator with Range's semantics.
func (c *Ctrie[K, V]) All() iter.Seq2[K, V] { return seqOf(c.Range) }

// Len returns the number of entries at one instant. It counts a snapshot,
// so it costs O(n).
func (c *Ctrie[K, V]) Len() int {
	n := 0
	s := c.readOnlySnapshot()
	s.walk(s.root.Load(), func(K, V) bool { n++; return true })
	return n
}

// Clear deletes every entry, atomically.
func (c *Ctrie[K, V]) Clear() {
	if c.readOnly {
		panic("lockfree: write to a read-only Ctrie snapshot")
	}
	for {
		r := c.readRoot(false)
		if c.rdcssRoot(r, c.gcasRead(r), ctNewRoot[K, V](&ctGen{})) {
			return
		}
	}
}

// Store sets the value for key.
func (c *Ctrie[K, V]) Store(key K, value V) { doStore(c, key, value) }

// LoadOrStore returns the existing value for key if present; otherwise it
// stores and returns value. loaded reports which.
func (c *Ctrie[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	return doLoadOrStore(c, key, value)
}

// LoadAndDelete deletes key, returning the previous value if any.
func (c *Ctrie[K, V]) LoadAndDelete(key K) (value V, loaded bool) { return doLoadAndDelete(c, key) }

// Delete deletes key.
func (c *Ctrie[K, V]) Delete(key K) { doLoadAndDelete(c, key) }

// Swap stores value for key and returns the previous value if any.
func (c *Ctrie[K, V]) Swap(key K, value V) (previous V, loaded bool) { return doSwap(c, key, value) }

// CompareAndSwap stores new for key if its value equals old. It panics if
// values cannot be compared (see the package documentation).
func (c *Ctrie[K, V]) CompareAndSwap(key K, old, new V) (swapped bool) {
	return doCompareAndSwap(c, c.eq, key, old, new)
}

// CompareAndDelete deletes key if its value equals old. It panics if values
// cannot be compared (see the package documentation).
func (c *Ctrie[K, V]) CompareAndDelete(key K, old V) (deleted bool) {
	return doCompareAndDelete(c, c.eq, key, old)
}

// Compute applies f to the current value of key; see [Map] and the type
// documentation (f may run more than once).
func (c *Ctrie[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	return doCompute(c, key, f)
}

// LoadOrCompute returns the value of key if present; otherwise it stores
// the result of f unless f cancels. See [Map]; f may run more than once.
func (c *Ctrie[K, V]) LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool) {
	return doLoadOrCompute(c, key, f)
}
