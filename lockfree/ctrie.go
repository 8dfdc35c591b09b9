package lockfree

import (
	"iter"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Ctrie is a concurrent hash trie with O(1) snapshots (Prokopec, Bronson,
// Bagwell, Odersky, PPoPP 2012): the variant whose Range and Len are
// linearizable.
//
// Structure: indirection nodes (INodes) point to immutable main nodes: a
// 64-way bitmap node (6 hash bits per level: levels 0, 6, ..., 60 of a
// 64-bit hash, the last one 4 bits wide), a tomb for a node waiting to be
// contracted into its parent, or a list for keys whose 64-bit hashes are
// equal. A main node is a single allocation: a small header followed by its
// slots, one pointer each, to a child INode or to an immutable leaf (key,
// value and hash); a second bitmap in the header says which. A lookup reads
// two objects per level, the INode and the main node (header, then the one
// slot it needs), and the leaf at the end. Slots are pointers rather than
// leaves held by value because every write copies a whole main node: at 8
// bytes a slot, an update of a node of 16 entries copies 128 bytes and
// allocates a 24 to 40 byte leaf, where leaves held in place made it copy
// 512 to 640.
//
// Every update builds a new main node and installs it with GCAS, a CAS that
// commits only if the trie's generation has not changed since the update
// started; the root changes only by RDCSS, which swaps it only if the old
// root's main node is still the expected one. Together they make Snapshot a
// single root swap: old and new roots get fresh generations, and writers
// lazily copy (renew) the nodes they pass on their way down.
//
// Progress: lock-free. Load, writes, Snapshot and Clear never block; a
// failed CAS means another operation made progress, and the operation
// retries from the root.
//
// Resize: none. The trie grows a level where two keys share a hash prefix
// and contracts emptied nodes into their parents (tombs are cleaned by the
// next operation that passes them). A below-root node that fills to 48 of
// its 64 slots turns dense: all 64 slots become branches at once, so that
// the inserts that follow copy the small nodes below it instead of it (see
// ctDensified). Children of a dense node that deletes empty stay in it,
// as a hash table keeps its capacity.
//
// Cache: a large trie is deep (four levels at 1M keys), so Load keeps a
// table of the INodes at one level (12 from 8K entries, 18 from 512K), the
// idea of Prokopec's cache-tries (PPoPP 2018) for reads only: a Load starts
// at the INode its hash selects there, when that INode is of the root's
// generation, instead of at the root. See ctCache for why that is exact.
//
// Iteration: Range and All iterate an O(1) read-only snapshot taken when
// they start, so they see exactly the map at one instant: each key once,
// with its value at that instant, no matter what writers do meanwhile. Len
// counts a snapshot, so it is exact at one instant and costs O(n). Clear is
// a linearizable root swap.
//
// Compute and LoadOrCompute call f without locks. LoadOrCompute calls f at
// most once per call (its answer for the absent key is kept while the
// insert retries), so with no other writer both call it exactly once.
// Compute calls f again only when its GCAS fails after f saw a present
// value: another write to a key in the same trie node, or a Snapshot or
// Clear, came first. Only the last call's result is installed, so f should
// be free of side effects. A panic in f leaves the map unchanged.
//
// Use NewCtrie; the zero value is not usable.
type Ctrie[K comparable, V any] struct {
	_        noCopy
	root     atomic.Pointer[ctINode[K, V]]
	readOnly bool
	hasher   keyHasher[K]
	eq       func(a, b V) bool

	cache atomic.Pointer[ctCache[K, V]]
	// size counts a sample of the entries (see ctSample; Clear resets it
	// while writers may run); it only sizes the cache. Len counts a
	// snapshot instead.
	size *counter
	// cacheLevel, when not 0, fixes the cache's level (tests use it to run
	// every check with a cache from the first operation).
	cacheLevel uint
}

// ctCache holds, for one level lev of the trie, the INode reached by each
// hash prefix of lev bits, as Loads found them; a slot may be empty or out
// of date. A Load that has read the root (generation g) may start at the
// cached INode ci instead, if ci's generation is g, and that is exact:
//
//   - ci was reachable from the root when a Load cached it, in generation g
//     (caching requires ci.gen to be the root's then, and generations are
//     never reused).
//   - Within a generation an INode leaves the trie only as a tomb: the
//     parent absorbs children whose main node is a tomb (compressed,
//     cleanParent), and no operation replaces an INode of the current
//     generation by another (renewed keeps children already of its
//     generation; it copies only older ones). A tomb is final, and Load
//     hands tombs to the full lookup.
//   - So ci was still reachable when this Load read the root, and from
//     there on reading ci's main node is what a walk down from the root
//     would have read: if a Snapshot has retired g meanwhile, ci's main
//     node stays as it was at that instant, just as for a walk that
//     started at the old root.
type ctCache[K comparable, V any] struct {
	lev   uint
	mask  uint64 // 1<<lev - 1, kept so that Load does not recompute it
	slots []atomic.Pointer[ctINode[K, V]]
}

const (
	// The cache is sized by the entry count n: at level 6k, with 64^k
	// slots, for the largest k in [ctCacheMinK, ctCacheMaxK] with
	// 64^k <= n/2 (then most prefixes of 6k bits hold two or more keys, so
	// an INode). A smaller cache saves too little; a larger one would
	// pass 2 MB. It shrinks only when n drops below a quarter of that.
	ctCacheMinK = 2 // level 12: 4096 slots, from 8K entries
	ctCacheMaxK = 3 // level 18: 262144 slots (2 MB), from 512K entries
	// Only the inserts and deletes of one key in ctSample (chosen by a
	// mix of the hash, so any hash function that tells keys apart gives a
	// fair sample) are counted: a shared counter touched by every write
	// moves its cache line between cores on most writes.
	ctSample     = 64
	ctSampleSeed = 0x9e3779b97f4a7c15 // decorrelates the sample from the hash bits the trie uses
)

func newCtCache[K comparable, V any](lev uint) *ctCache[K, V] {
	return &ctCache[K, V]{lev: lev, mask: 1<<lev - 1, slots: make([]atomic.Pointer[ctINode[K, V]], 1<<lev)}
}

// ctCacheLevelFor returns the cache level for n entries (0: no cache).
func ctCacheLevelFor(n int64) uint {
	k := 0
	for k < ctCacheMaxK && int64(1)<<(ctBits*(k+1)) <= n/2 {
		k++
	}
	if k < ctCacheMinK {
		return 0
	}
	return uint(k * ctBits)
}

// noteSize counts an insert (d = 1) or a delete (d = -1) of the key with
// hash h, if h is in the sample, and then resizes the cache if the
// estimated entry count calls for it.
func (c *Ctrie[K, V]) noteSize(h uint64, d int64) {
	if mix64(h, ctSampleSeed)%ctSample != 0 {
		return
	}
	c.size.add(h, d)
	if c.cacheLevel != 0 {
		return
	}
	n := c.size.sum() * ctSample
	cur := c.cache.Load()
	have := uint(0)
	if cur != nil {
		have = cur.lev
	}
	want := ctCacheLevelFor(n)
	if want == have || want < have && ctCacheLevelFor(4*n) >= have {
		return
	}
	var nc *ctCache[K, V]
	if want > 0 {
		nc = newCtCache[K, V](want)
	}
	c.cache.CompareAndSwap(cur, nc)
}

const (
	ctBits  = 6
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

// ctDesc is an RDCSS in progress: replace the root old with nv if old's
// main node is still expMain. Its outcome is decided once, by a CAS on
// outcome, before any goroutine swings the root away from the descriptor;
// so the goroutine that started it can read the outcome as soon as the
// root has moved on, whoever moved it. (Deciding by the root CAS itself
// and recording the result after it, as Prokopec's presentation does, let
// the owner read "not committed" while a helper that had already swung
// the root to nv was between its CAS and its store: the owner of a Clear
// then cleared a second time, erasing writes that had seen the first.)
type ctDesc[K comparable, V any] struct {
	old     *ctINode[K, V]
	expMain *ctMain[K, V]
	nv      *ctINode[K, V]
	outcome atomic.Uint32 // ctUndecided, then ctCommitted or ctAborted
}

const (
	ctUndecided = iota
	ctCommitted
	ctAborted
)

type ctKind uint8

const (
	ctCNode ctKind = iota
	ctTNode
	ctLNode
	ctFailed
)

// ctMain is every kind of main node in one struct (Go has no cheap sum
// types), allocated together with its slots (see ctNewMain):
//
//   - ctCNode: a bitmap node; arr holds one slot per bit set in bmp, in bit
//     order: a *ctLeaf where the bit is also set in leaves, a *ctINode
//     where it is not; gen is its generation.
//   - ctTNode: a tomb; arr[0] is its one leaf.
//   - ctLNode: a list; arr holds its (two or more) leaves, whose keys share
//     one 64-bit hash.
//   - ctFailed: a marker for a failed GCAS proposal; prev holds the main
//     node to roll back to.
//
// prev is GCAS's proposal state: nil when committed, the previous main node
// while pending, or a ctFailed node. The slots are first[0:n], right after
// the header; a pointer and a count rather than a slice keep the header at
// 48 bytes, one size class below what a slice header made it, and that is
// 16 bytes less to allocate on every write.
type ctMain[K comparable, V any] struct {
	prev   atomic.Pointer[ctMain[K, V]]
	bmp    uint64
	leaves uint64
	gen    *ctGen
	first  *unsafe.Pointer
	n      uint32
	kind   ctKind
}

// arr returns the slots.
func (m *ctMain[K, V]) arr() []unsafe.Pointer { return unsafe.Slice(m.first, m.n) }

// ctLeaf is an entry. It is immutable: an update installs a new one.
type ctLeaf[K comparable, V any] struct {
	hash  uint64
	key   K
	value V
}

func (m *ctMain[K, V]) leaf(i int) *ctLeaf[K, V]    { return (*ctLeaf[K, V])(m.arr()[i]) }
func (m *ctMain[K, V]) branch(i int) *ctINode[K, V] { return (*ctINode[K, V])(m.arr()[i]) }

// ctAlloc allocates a main node and an array A of slots (A is
// [N]unsafe.Pointer with N >= n) as one object, and points arr at the first
// n slots of the array. The pointer never leaves the allocation.
func ctAlloc[K comparable, V any, A any](n int) *ctMain[K, V] {
	x := new(struct {
		m ctMain[K, V]
		a A
	})
	x.m.first, x.m.n = (*unsafe.Pointer)(unsafe.Pointer(&x.a)), uint32(n)
	return &x.m
}

// ctNewMain returns a zeroed main node with n slots, in one allocation when
// n <= ctWidth (only a list can be longer: its slots are then a separate
// allocation). Each array size fills a size class of Go's allocator
// exactly (48 + 8n bytes is a class, up to 512; 64 slots take 560 of 576),
// so the slots a write copies are all it allocates.
func ctNewMain[K comparable, V any](n int) *ctMain[K, V] {
	type s = unsafe.Pointer
	switch {
	case n == 0:
		return &ctMain[K, V]{}
	case n <= 2:
		return ctAlloc[K, V, [2]s](n)
	case n <= 4:
		return ctAlloc[K, V, [4]s](n)
	case n <= 6:
		return ctAlloc[K, V, [6]s](n)
	case n <= 8:
		return ctAlloc[K, V, [8]s](n)
	case n <= 10:
		return ctAlloc[K, V, [10]s](n)
	case n <= 12:
		return ctAlloc[K, V, [12]s](n)
	case n <= 14:
		return ctAlloc[K, V, [14]s](n)
	case n <= 16:
		return ctAlloc[K, V, [16]s](n)
	case n <= 18:
		return ctAlloc[K, V, [18]s](n)
	case n <= 20:
		return ctAlloc[K, V, [20]s](n)
	case n <= 22:
		return ctAlloc[K, V, [22]s](n)
	case n <= 24:
		return ctAlloc[K, V, [24]s](n)
	case n <= 26:
		return ctAlloc[K, V, [26]s](n)
	case n <= 30:
		return ctAlloc[K, V, [30]s](n)
	case n <= 34:
		return ctAlloc[K, V, [34]s](n)
	case n <= 38:
		return ctAlloc[K, V, [38]s](n)
	case n <= 42:
		return ctAlloc[K, V, [42]s](n)
	case n <= 46:
		return ctAlloc[K, V, [46]s](n)
	case n <= 50:
		return ctAlloc[K, V, [50]s](n)
	case n <= 54:
		return ctAlloc[K, V, [54]s](n)
	case n <= 58:
		return ctAlloc[K, V, [58]s](n)
	case n <= 64:
		return ctAlloc[K, V, [64]s](n)
	}
	a := make([]unsafe.Pointer, n)
	return &ctMain[K, V]{first: &a[0], n: uint32(n)}
}

func ctNewCNode[K comparable, V any](n int, bmp, leaves uint64, g *ctGen) *ctMain[K, V] {
	m := ctNewMain[K, V](n)
	m.kind, m.bmp, m.leaves, m.gen = ctCNode, bmp, leaves, g
	return m
}

func ctNewTomb[K comparable, V any](l *ctLeaf[K, V]) *ctMain[K, V] {
	m := ctNewMain[K, V](1)
	m.kind = ctTNode
	m.arr()[0] = unsafe.Pointer(l)
	return m
}

// NewCtrie returns an empty Ctrie.
func NewCtrie[K comparable, V any](opts ...Option) *Ctrie[K, V] {
	c := buildConfig(opts)
	t := &Ctrie[K, V]{hasher: newKeyHasher[K](&c), eq: equalFor[V](&c), size: ctNewSize()}
	t.root.Store(ctNewRoot[K, V](&ctGen{}))
	return t
}

func ctNewSize() *counter { return newCounter(4 * runtime.GOMAXPROCS(0)) }

func ctNewRoot[K comparable, V any](g *ctGen) *ctINode[K, V] {
	in := &ctINode[K, V]{gen: g}
	in.main.Store(ctNewCNode[K, V](0, 0, 0, g))
	return in
}

// ctFlagPos returns the bit of h's index at level lev, and the position in
// arr of the slot for that bit.
func ctFlagPos(h uint64, lev uint, bmp uint64) (flag uint64, pos int) {
	flag = 1 << ((h >> lev) & (ctWidth - 1))
	return flag, bits.OnesCount64(bmp & (flag - 1))
}

// --- GCAS and RDCSS ---

func (c *Ctrie[K, V]) gcas(in *ctINode[K, V], old, n *ctMain[K, V]) bool {
	// n is not published yet (the CAS below does that), so a plain store
	// does; an atomic one would cost a locked instruction per write.
	*plainPtr(&n.prev) = old
	if in.main.CompareAndSwap(old, n) {
		hook()
		c.gcasCommit(in, n)
		return n.prev.Load() == nil
	}
	return false
}

// gcasRead returns in's committed main node, first deciding a pending
// proposal if there is one.
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
			if back := prev.prev.Load(); in.main.CompareAndSwap(m, back) {
				return back
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
		f := &ctMain[K, V]{kind: ctFailed}
		f.prev.Store(prev)
		m.prev.CompareAndSwap(prev, f)
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

// rdcssComplete moves the root past any RDCSS descriptor in it and
// returns the root then. An undecided descriptor is decided first: aborted
// if abort is set (a GCAS commit needs the root's generation now and may
// not wait for the RDCSS) or if old's main node is no longer expMain
// (reading it decides any GCAS proposal pending there, which aborts the
// RDCSS through this same path), and committed otherwise. A proposal made
// after that read cannot commit before the decision: its GCAS must read
// the root first, which means deciding the descriptor, and it loses to a
// commit decided before it (then it finds the new root's generation and
// rolls back).
func (c *Ctrie[K, V]) rdcssComplete(abort bool) *ctINode[K, V] {
	for {
		r := c.root.Load()
		if r.desc == nil {
			return r
		}
		d := r.desc
		if d.outcome.Load() == ctUndecided {
			decision := uint32(ctAborted)
			if !abort && c.gcasRead(d.old) == d.expMain {
				decision = ctCommitted
			}
			d.outcome.CompareAndSwap(ctUndecided, decision)
			hook()
		}
		next := d.old
		if d.outcome.Load() == ctCommitted {
			next = d.nv
		}
		c.root.CompareAndSwap(r, next)
	}
}

// rdcssRoot replaces the root old with nv if old's main node is still
// expMain, and reports whether it did.
func (c *Ctrie[K, V]) rdcssRoot(old *ctINode[K, V], expMain *ctMain[K, V], nv *ctINode[K, V]) bool {
	d := &ctINode[K, V]{desc: &ctDesc[K, V]{old: old, expMain: expMain, nv: nv}}
	if c.root.CompareAndSwap(old, d) {
		hook()
		c.rdcssComplete(false)
		// The root has moved past d, so d is decided.
		return d.desc.outcome.Load() == ctCommitted
	}
	return false
}

func (c *Ctrie[K, V]) copyToGen(in *ctINode[K, V], g *ctGen) *ctINode[K, V] {
	n := &ctINode[K, V]{gen: g}
	n.main.Store(c.gcasRead(in))
	return n
}

// --- main node constructors (all return fresh, unpublished nodes) ---

// renewed copies the bitmap node cn into generation g, with a copy of each
// child of an older generation. Children already of generation g stay:
// the cache relies on an INode of the current generation never being
// replaced by a copy (see ctCache).
func (c *Ctrie[K, V]) renewed(cn *ctMain[K, V], g *ctGen) *ctMain[K, V] {
	n := ctNewCNode[K, V](len(cn.arr()), cn.bmp, cn.leaves, g)
	copy(n.arr(), cn.arr())
	bmp := cn.bmp
	for i := range n.arr() {
		bit := bmp & -bmp
		bmp ^= bit
		if cn.leaves&bit == 0 {
			if in := cn.branch(i); in.gen != g {
				n.arr()[i] = unsafe.Pointer(c.copyToGen(in, g))
			}
		}
	}
	return n
}

// ctBit returns flag if isLeaf, else 0: the bit a slot adds to leaves.
func ctBit(flag uint64, isLeaf bool) uint64 {
	if isLeaf {
		return flag
	}
	return 0
}

// ctInserted returns cn with slot p (a leaf if isLeaf, else a branch) added
// at bit flag, position pos.
func ctInserted[K comparable, V any](cn *ctMain[K, V], pos int, flag uint64, p unsafe.Pointer, isLeaf bool, g *ctGen) *ctMain[K, V] {
	n := ctNewCNode[K, V](len(cn.arr())+1, cn.bmp|flag, cn.leaves|ctBit(flag, isLeaf), g)
	copy(n.arr(), cn.arr()[:pos])
	n.arr()[pos] = p
	copy(n.arr()[pos+1:], cn.arr()[pos:])
	return n
}

// ctUpdatedAt returns cn with the slot at bit flag, position pos, replaced
// by p (a leaf if isLeaf, else a branch).
func ctUpdatedAt[K comparable, V any](cn *ctMain[K, V], pos int, flag uint64, p unsafe.Pointer, isLeaf bool, g *ctGen) *ctMain[K, V] {
	n := ctNewCNode[K, V](len(cn.arr()), cn.bmp, cn.leaves&^flag|ctBit(flag, isLeaf), g)
	copy(n.arr(), cn.arr())
	n.arr()[pos] = p
	return n
}

func ctRemoved[K comparable, V any](cn *ctMain[K, V], pos int, flag uint64, g *ctGen) *ctMain[K, V] {
	n := ctNewCNode[K, V](len(cn.arr())-1, cn.bmp&^flag, cn.leaves&^flag, g)
	copy(n.arr(), cn.arr()[:pos])
	copy(n.arr()[pos:], cn.arr()[pos+1:])
	return n
}

// ctContracted entombs a below-root bitmap node left with a single key, so
// that the parent can absorb it.
func ctContracted[K comparable, V any](cn *ctMain[K, V], lev uint) *ctMain[K, V] {
	if lev > 0 && len(cn.arr()) == 1 && cn.leaves != 0 {
		return ctNewTomb(cn.leaf(0))
	}
	return cn
}

// compressed replaces children whose main node is a tomb by the tomb's leaf.
func (c *Ctrie[K, V]) compressed(cn *ctMain[K, V], lev uint, g *ctGen) *ctMain[K, V] {
	n := ctNewCNode[K, V](len(cn.arr()), cn.bmp, cn.leaves, g)
	copy(n.arr(), cn.arr())
	bmp := cn.bmp
	for i := range n.arr() {
		bit := bmp & -bmp
		bmp ^= bit
		if cn.leaves&bit == 0 {
			if m := c.gcasRead(cn.branch(i)); m.kind == ctTNode {
				n.arr()[i] = m.arr()[0]
				n.leaves |= bit
			}
		}
	}
	return ctContracted(n, lev)
}

// ctDenseAt is the number of slots from which a below-root bitmap node
// turns dense (see ctDensified) when a key is added to it.
const ctDenseAt = 48

// ptrSize is the size of a slot.
const ptrSize = int(unsafe.Sizeof(unsafe.Pointer(nil)))

// ctDensified returns, for a key added to the bitmap node cn at level lev
// (0 < lev <= 54), a copy of cn in which all 64 slots are branches, with
// each leaf of cn and the new leaf l moved one level down (into a child of
// one leaf, or of two where l shares the slot), and the empty slots
// pointing at one shared empty child. l's slot in cn must be empty or
// hold another key's leaf (the two ways an insert adds a key here). It
// returns nil, for an ordinary insert, while cn and the new key fill fewer
// than ctDenseAt slots.
//
// Why: every write copies the node it changes, and a nearly full node is
// 400 to 560 bytes. A trie growing through a level fills its nodes there
// slot by slot and then turns their leaves into branches one at a time,
// a copy of the whole node per key: growing to 18K keys, those copies were
// over half of the 348 MB the Ctrie allocated where sync.Map allocated
// 135 MB. Inserts below a dense node copy only the nodes there. (A delete
// that leaves a child with one key still folds it back into the node, a
// copy, as in any Ctrie; a later insert there makes the node dense
// again.) A Load of a key that moved down reads one INode and one main
// node more; in a node this full, most slots would soon be branches
// anyway.
func ctDensified[K comparable, V any](cn *ctMain[K, V], lev uint, l *ctLeaf[K, V], g *ctGen) *ctMain[K, V] {
	if len(cn.arr())+1 < ctDenseAt || lev == 0 || lev+ctBits >= ctMaxLv {
		return nil
	}
	n := ctNewCNode[K, V](ctWidth, ^uint64(0), 0, g)
	slots, old := n.arr(), cn.arr()
	var empty *ctMain[K, V] // immutable, so the empty children can share it
	li := (l.hash >> lev) & (ctWidth - 1)
	pos := 0 // old's next slot
	for i := range uint64(ctWidth) {
		bit := uint64(1) << i
		var child *ctMain[K, V]
		switch {
		case cn.bmp&bit == 0 && i == li:
			child = ctSingle(l, lev+ctBits, g)
		case cn.bmp&bit == 0:
			if empty == nil {
				empty = ctNewCNode[K, V](0, 0, 0, g)
			}
			child = empty
		case cn.leaves&bit == 0:
			slots[i] = old[pos] // a branch already (cn is of generation g)
			pos++
			continue
		case i == li:
			child = ctDual((*ctLeaf[K, V])(old[pos]), l, lev+ctBits, g)
			pos++
		default:
			child = ctSingle((*ctLeaf[K, V])(old[pos]), lev+ctBits, g)
			pos++
		}
		in := &ctINode[K, V]{gen: g}
		in.main.Store(child)
		slots[i] = unsafe.Pointer(in)
	}
	return n
}

// ctSingle returns the bitmap node, at level lev, of the one leaf s.
func ctSingle[K comparable, V any](s *ctLeaf[K, V], lev uint, g *ctGen) *ctMain[K, V] {
	flag := uint64(1) << ((s.hash >> lev) & (ctWidth - 1))
	n := ctNewCNode[K, V](1, flag, flag, g)
	n.arr()[0] = unsafe.Pointer(s)
	return n
}

// ctDual returns the main node, at level lev, of the two leaves x and y
// (distinct keys).
func ctDual[K comparable, V any](x, y *ctLeaf[K, V], lev uint, g *ctGen) *ctMain[K, V] {
	if lev >= ctMaxLv {
		n := ctNewMain[K, V](2)
		n.kind = ctLNode
		n.arr()[0], n.arr()[1] = unsafe.Pointer(x), unsafe.Pointer(y)
		return n
	}
	xi, yi := (x.hash>>lev)&(ctWidth-1), (y.hash>>lev)&(ctWidth-1)
	bmp := uint64(1)<<xi | uint64(1)<<yi
	if xi == yi {
		sub := &ctINode[K, V]{gen: g}
		sub.main.Store(ctDual(x, y, lev+ctBits, g))
		n := ctNewCNode[K, V](1, bmp, 0, g)
		n.arr()[0] = unsafe.Pointer(sub)
		return n
	}
	n := ctNewCNode[K, V](2, bmp, bmp, g)
	if xi < yi {
		n.arr()[0], n.arr()[1] = unsafe.Pointer(x), unsafe.Pointer(y)
	} else {
		n.arr()[0], n.arr()[1] = unsafe.Pointer(y), unsafe.Pointer(x)
	}
	return n
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
		if pm.bmp&flag == 0 || pm.leaves&flag != 0 || pm.branch(pos) != i {
			return
		}
		m := c.gcasRead(i)
		if m.kind != ctTNode {
			return
		}
		ncn := ctUpdatedAt(pm, pos, flag, m.arr()[0], true, i.gen)
		if c.gcas(p, pm, ctContracted(ncn, lev)) || c.readRoot(false).gen != startGen {
			return
		}
	}
}

// --- operations ---

// Load returns the value stored for key, and whether it was present.
//
// Its fast path walks committed bitmap nodes of the root's generation:
// per level it reads the INode's main node and that node's prev (both plain
// loads on the common platforms), the header and the one slot it needs,
// which follows the header in the same object; it makes no calls, so it
// keeps everything in registers. Anything else (an RDCSS or a GCAS
// proposal in progress, a tomb, a list, a child of an older generation)
// hands over to lookup, the full algorithm, which starts again from the
// root: a read may always restart.
func (c *Ctrie[K, V]) Load(key K) (value V, ok bool) {
	h := c.hasher.hash(key)
	in := c.root.Load()
	if in.desc != nil {
		return c.lookup(key, h)
	}
	startGen := in.gen
	lev := uint(0)
	// Start at the cached INode if there is one of this generation;
	// otherwise cache the one this walk passes at the cache's level.
	cc := c.cache.Load()
	fill := ^uint(0)
	if cc != nil {
		if ci := cc.slots[h&cc.mask].Load(); ci != nil && ci.gen == startGen {
			in, lev = ci, cc.lev
		} else {
			fill = cc.lev
		}
	}
	for ; ; lev += ctBits {
		m := in.main.Load()
		if m.prev.Load() != nil || m.kind != ctCNode {
			return c.lookup(key, h)
		}
		// lev <= 60 here; the mask only spares the compiler its check
		// for shifts of 64 bits or more.
		flag := uint64(1) << ((h >> (lev & 63)) & (ctWidth - 1))
		bmp := m.bmp
		if bmp&flag == 0 {
			return value, false
		}
		// The slot, by address: it is in the node (bmp has a bit for
		// each), so Load need not check its index against n.
		p := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(m.first), bits.OnesCount64(bmp&(flag-1))*ptrSize))
		if m.leaves&flag != 0 {
			if l := (*ctLeaf[K, V])(p); l.hash == h && c.hasher.equal(&l.key, &key) {
				return l.value, true
			}
			return value, false
		}
		in = (*ctINode[K, V])(p)
		if in.gen != startGen && !c.readOnly {
			return c.lookup(key, h)
		}
		if lev+ctBits == fill {
			cc.slots[h&cc.mask].Store(in)
		}
	}
}

// lookup is Load's full algorithm: it finishes pending GCAS proposals and
// RDCSS, renews nodes of older generations on its way down, and cleans
// tombs (or, in a read-only snapshot, reads them).
func (c *Ctrie[K, V]) lookup(key K, h uint64) (value V, ok bool) {
restart:
	for {
		in := c.readRoot(false)
		startGen := in.gen
		var parent *ctINode[K, V]
		lev := uint(0)
		for {
			m := c.gcasRead(in)
			switch m.kind {
			case ctCNode:
				flag, pos := ctFlagPos(h, lev, m.bmp)
				if m.bmp&flag == 0 {
					return value, false
				}
				if m.leaves&flag != 0 {
					if l := m.leaf(pos); l.hash == h && c.hasher.equal(&l.key, &key) {
						return l.value, true
					}
					return value, false
				}
				if sub := m.branch(pos); c.readOnly || sub.gen == startGen {
					parent, in, lev = in, sub, lev+ctBits
					continue
				}
				if !c.gcas(in, m, c.renewed(m, startGen)) {
					continue restart
				}
			case ctTNode:
				if c.readOnly {
					if l := m.leaf(0); l.hash == h && c.hasher.equal(&l.key, &key) {
						return l.value, true
					}
					return value, false
				}
				c.clean(parent, lev-ctBits)
				continue restart
			case ctLNode:
				for i := range m.arr() {
					if l := m.leaf(i); l.hash == h && c.hasher.equal(&l.key, &key) {
						return l.value, true
					}
				}
				return value, false
			}
		}
	}
}

// update is the write path: it finds key, calls f, and installs the result
// with one GCAS, retrying (and calling f again) from the root on failure.
func (c *Ctrie[K, V]) update(key K, f func(old V, loaded bool) (V, ComputeOp)) updResult[V] {
	if c.readOnly {
		panic("lockfree: write to a read-only Ctrie snapshot")
	}
	h := c.hasher.hash(key)
	var absent absentAnswer[V] // f runs once for an absent key, even when a GCAS fails
	for {
		r := c.readRoot(false)
		if res, ok := c.updateFrom(r, key, h, f, &absent); ok {
			if res.ok != res.loaded {
				d := int64(1) // inserted
				if res.loaded {
					d = -1 // deleted
				}
				c.noteSize(h, d)
			}
			return res
		}
	}
}

// ctUpdatedList is updateFrom at a list node m: it calls f and returns the
// main node to install, or nil when there is nothing to install.
func ctUpdatedList[K comparable, V any](m *ctMain[K, V], key K, h uint64, f func(old V, loaded bool) (V, ComputeOp), absent *absentAnswer[V], res *updResult[V]) *ctMain[K, V] {
	idx := -1
	for i := range m.arr() {
		if m.leaf(i).key == key {
			idx = i
			break
		}
	}
	if idx < 0 {
		nv, op := absent.get(f)
		if op != UpdateOp {
			return nil
		}
		nm := ctNewMain[K, V](len(m.arr()) + 1)
		nm.kind = ctLNode
		copy(nm.arr(), m.arr())
		nm.arr()[len(m.arr())] = unsafe.Pointer(&ctLeaf[K, V]{hash: h, key: key, value: nv})
		res.cur, res.ok = nv, true
		return nm
	}
	old := m.leaf(idx).value
	res.old, res.loaded = old, true
	nv, op := f(old, true)
	switch op {
	case CancelOp:
		res.cur, res.ok = old, true
		return nil
	case UpdateOp:
		nm := ctNewMain[K, V](len(m.arr()))
		nm.kind = ctLNode
		copy(nm.arr(), m.arr())
		nm.arr()[idx] = unsafe.Pointer(&ctLeaf[K, V]{hash: h, key: key, value: nv})
		res.cur, res.ok = nv, true
		return nm
	}
	// DeleteOp
	if len(m.arr()) == 2 {
		return ctNewTomb(m.leaf(1 - idx))
	}
	nm := ctNewMain[K, V](len(m.arr()) - 1)
	nm.kind = ctLNode
	copy(nm.arr(), m.arr()[:idx])
	copy(nm.arr()[idx:], m.arr()[idx+1:])
	return nm
}

func (c *Ctrie[K, V]) updateFrom(in *ctINode[K, V], key K, h uint64, f func(old V, loaded bool) (V, ComputeOp), absent *absentAnswer[V]) (res updResult[V], done bool) {
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
			nm := ctUpdatedList(m, key, h, f, absent, &res)
			if nm == nil {
				return res, true
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
			nv, op := absent.get(f)
			if op != UpdateOp {
				return res, true
			}
			l := &ctLeaf[K, V]{hash: h, key: key, value: nv}
			nm := ctDensified(cur, lev, l, in.gen)
			if nm == nil {
				nm = ctInserted(cur, pos, flag, unsafe.Pointer(l), true, in.gen)
			}
			if !c.gcas(in, m, nm) {
				return updResult[V]{}, false
			}
			res.cur, res.ok = nv, true
			return res, true
		}
		if m.leaves&flag == 0 {
			if sub := m.branch(pos); sub.gen == startGen {
				parent, in, lev = in, sub, lev+ctBits
				continue
			}
			if !c.gcas(in, m, c.renewed(m, startGen)) {
				return updResult[V]{}, false
			}
			continue
		}
		s := m.leaf(pos)
		if s.hash != h || !c.hasher.equal(&s.key, &key) {
			nv, op := absent.get(f)
			if op != UpdateOp {
				return res, true
			}
			l := &ctLeaf[K, V]{hash: h, key: key, value: nv}
			nm := ctDensified(cur, lev, l, in.gen)
			if nm == nil {
				sub := &ctINode[K, V]{gen: in.gen}
				sub.main.Store(ctDual(s, l, lev+ctBits, in.gen))
				nm = ctUpdatedAt(cur, pos, flag, unsafe.Pointer(sub), false, in.gen)
			}
			if !c.gcas(in, m, nm) {
				return updResult[V]{}, false
			}
			res.cur, res.ok = nv, true
			return res, true
		}
		old := s.value
		res.old, res.loaded = old, true
		nv, op := f(old, true)
		switch op {
		case CancelOp:
			res.cur, res.ok = old, true
			return res, true
		case UpdateOp:
			l := &ctLeaf[K, V]{hash: h, key: key, value: nv}
			if !c.gcas(in, m, ctUpdatedAt(cur, pos, flag, unsafe.Pointer(l), true, in.gen)) {
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
			s := &Ctrie[K, V]{hasher: c.hasher, eq: c.eq, size: ctNewSize(), cacheLevel: c.cacheLevel}
			s.size.add(0, c.size.sum())
			if c.cacheLevel != 0 {
				s.cache.Store(newCtCache[K, V](c.cacheLevel))
			}
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
			s := &Ctrie[K, V]{hasher: c.hasher, eq: c.eq, readOnly: true}
			s.root.Store(r)
			return s
		}
	}
}

func (c *Ctrie[K, V]) walk(in *ctINode[K, V], f func(K, V) bool) bool {
	// Every kind of main node keeps its entries in arr; only a bitmap
	// node's slots can be branches.
	m := c.gcasRead(in)
	bmp := m.bmp
	for i := range m.arr() {
		bit := bmp & -bmp
		bmp ^= bit
		if m.kind != ctCNode || m.leaves&bit != 0 {
			if l := m.leaf(i); !f(l.key, l.value) {
				return false
			}
		} else if !c.walk(m.branch(i), f) {
			return false
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
			// The cache's INodes are all of the old generation now;
			// what matters is giving the memory back.
			c.size.reset()
			if c.cacheLevel == 0 {
				c.cache.Store(nil)
			}
			return
		}
	}
}

// Store sets the value for key.
func (c *Ctrie[K, V]) Store(key K, value V) {
	// update called directly keeps the closure on the stack (see ops.go).
	c.update(key, func(V, bool) (V, ComputeOp) { return value, UpdateOp })
}

// LoadOrStore returns the existing value for key if present; otherwise it
// stores and returns value. loaded reports which.
func (c *Ctrie[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	if v, ok := c.Load(key); ok {
		return v, true
	}
	r := c.update(key, storeIfAbsent(value))
	return r.cur, r.loaded
}

// LoadAndDelete deletes key, returning the previous value if any.
func (c *Ctrie[K, V]) LoadAndDelete(key K) (value V, loaded bool) { return doLoadAndDelete(c, key) }

// Delete deletes key.
func (c *Ctrie[K, V]) Delete(key K) { doLoadAndDelete(c, key) }

// Swap stores value for key and returns the previous value if any.
func (c *Ctrie[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	r := c.update(key, func(V, bool) (V, ComputeOp) { return value, UpdateOp })
	return r.old, r.loaded
}

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
// documentation (f may run again when another goroutine writes nearby).
func (c *Ctrie[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	return doCompute(c, key, f)
}

// LoadOrCompute returns the value of key if present; otherwise it stores
// the result of f unless f cancels. See [Map]; f runs at most once.
func (c *Ctrie[K, V]) LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool) {
	return doLoadOrCompute(c, key, f)
}
