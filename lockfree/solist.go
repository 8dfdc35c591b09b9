package lockfree

import (
	"iter"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// SOList is a split-ordered list (Shalev and Shavit, JACM 2006): every
// entry lives in one lock-free sorted linked list, and a lazily filled
// directory of "dummy" nodes gives each hash bucket a shortcut into it.
//
// The list is sorted by the bit-reversed hash, so the entries of bucket b
// are contiguous and doubling the number of buckets only splits runs: a new
// bucket's dummy node is inserted in the middle of its parent's run, and no
// entry ever moves. The list is Harris–Michael style with deletion in two
// steps, as in Java's ConcurrentSkipListMap: an entry is deleted logically
// by CASing its value box to nil (the linearization point), then unlinked
// by appending a marker node after it (so nothing can be inserted after a
// deleted node) and swinging its predecessor past both. Any operation that
// meets a deleted node helps unlink it.
//
// Progress: lock-free, including growth: operations never block, and a
// failed CAS means another operation made progress. A bucket's dummy node
// is linked by the one goroutine that claims it; while it does, the others
// start from an ancestor bucket's dummy rather than wait.
//
// Resize: the bucket count doubles, by one CAS, when there are more
// entries than buckets (a lookup then walks past about one other entry,
// for a 32-byte directory cell per bucket, which holds the bucket's dummy
// node); buckets are initialised on first use by linking their dummy node
// into the list (recursively initialising the parent bucket first). The
// directory never shrinks; Clear replaces the whole structure.
//
// Iteration: Range walks the list in hash order, skipping deleted nodes.
// No key is yielded twice (a key deleted and reinserted during the walk can
// reappear only in the same run of equal hashes, which Range tracks); a key
// present and unmodified for the whole call is yielded; a changed key may
// be seen with any value it had, or not at all. Len sums a striped counter
// updated at the linearization points: exact when no writes run. Clear
// swaps in an empty list; it is linearizable (operations still working on
// the old list all overlap the swap and order before it).
//
// Compute and LoadOrCompute call f without locks. LoadOrCompute calls f at
// most once per call (its answer for the absent key is kept while the
// insert retries), so with no other writer both call it exactly once.
// Compute calls f again only when the value it was given is replaced by
// another writer of the key before f's result is installed; only the last
// call's result is installed, so f should be free of side effects. A panic
// in f leaves the map unchanged.
//
// Use NewSOList; the zero value is not usable.
type SOList[K comparable, V any] struct {
	_      noCopy
	state  atomic.Pointer[soState[K, V]]
	hasher keyHasher[K]
	eq     func(a, b V) bool
	init   uint64 // initial bucket count
}

const (
	soLoad    = 1  // grow when entries > soLoad × buckets
	soSegs    = 64 // directory segments: segment s > 0 holds buckets [2^(s-1), 2^s)
	soCheckEv = 16 // check the load after every soCheckEv-th insert on a counter stripe
)

type soState[K comparable, V any] struct {
	head    *soLink       // dummy node of bucket 0
	buckets atomic.Uint64 // a power of two
	dir     [soSegs]atomic.Pointer[[]soCell]
	count   *counter
}

// soLink is what every list node starts with: its split-order key and its
// successor. Entries (odd keys) extend it to a soEntry; a bucket's dummy
// node (even key) is the soLink inside its directory cell; a deletion
// marker is a bare soLink with key 0, which no entry or other reachable
// dummy has (bucket 0's dummy, the head, is no node's successor).
type soLink struct {
	so   uint64
	next atomic.Pointer[soLink]
}

// soEntry is an entry's node.
//
// An entry's value box starts as first, inside the node: an insert makes
// one allocation, and a Load of an entry never overwritten reads no second
// object (at 1M keys that is a cache miss saved). An overwrite installs a
// separate box; first then just stays unused.
type soEntry[K comparable, V any] struct {
	soLink
	key   K
	val   atomic.Pointer[soVal[V]] // nil: deleted
	first soVal[V]
}

// soCell is a directory cell, and in it bucket b's dummy node. Keeping the
// dummy in the directory saves a lookup the dependent read of a separate
// dummy node (a cache miss in a large map). Because the node's place is
// fixed, only one goroutine may link it into the list: it claims the cell
// (soFree → soClaimed), links the node, and marks it soLinked. Until then
// every other operation on the bucket starts from the nearest linked
// ancestor bucket's dummy instead, which precedes it in the list, so no
// one waits for the claimer.
type soCell struct {
	soLink
	state atomic.Uint32
	_     [32 - 20]byte // four cells to a cache line
}

const (
	soFree    = iota // the cell's node is not in the list
	soClaimed        // one goroutine is linking it
	soLinked         // it is in the list
)

type soVal[V any] struct{ v V }

// soEntryOf returns the entry whose node n is; n.so must be odd.
func soEntryOf[K comparable, V any](n *soLink) *soEntry[K, V] {
	return (*soEntry[K, V])(unsafe.Pointer(n))
}

func soRegular(h uint64) uint64 { return bits.Reverse64(h | 1<<63) }
func soDummy(b uint64) uint64   { return bits.Reverse64(b) }

// NewSOList returns an empty SOList.
func NewSOList[K comparable, V any](opts ...Option) *SOList[K, V] {
	c := buildConfig(opts)
	n := uint64(2)
	for n*soLoad < uint64(c.presize) {
		n <<= 1
	}
	l := &SOList[K, V]{hasher: newKeyHasher[K](&c), eq: equalFor[V](&c), init: n}
	l.state.Store(l.newState())
	return l
}

func (l *SOList[K, V]) newState() *soState[K, V] {
	s := &soState[K, V]{count: newCounter(4 * runtime.GOMAXPROCS(0))}
	s.buckets.Store(l.init)
	c := s.cell(0)
	c.state.Store(soLinked)
	s.head = &c.soLink
	return s
}

// cell returns bucket b's directory cell, allocating its segment if needed.
func (s *soState[K, V]) cell(b uint64) *soCell {
	seg, idx := soSegIdx(b)
	p := s.dir[seg].Load()
	if p == nil {
		p = s.newSegment(seg)
	}
	return &(*p)[idx]
}

// soSegIdx locates bucket b in the directory: segment 0 holds bucket 0,
// segment s > 0 buckets [2^(s-1), 2^s).
func soSegIdx(b uint64) (seg int, idx uint64) {
	seg = bits.Len64(b)
	return seg, b &^ (1 << seg >> 1)
}

func (s *soState[K, V]) newSegment(seg int) *[]soCell {
	size := 1
	if seg > 0 {
		size = 1 << (seg - 1)
	}
	ns := make([]soCell, size)
	if s.dir[seg].CompareAndSwap(nil, &ns) {
		return &ns
	}
	return s.dir[seg].Load()
}

// bucket returns the dummy node of bucket b if it is in the list, after
// linking it if no other goroutine has claimed it; otherwise (another
// goroutine is linking it) the nearest ancestor bucket's dummy that is.
func (l *SOList[K, V]) bucket(s *soState[K, V], b uint64) *soLink {
	c := s.cell(b)
	if c.state.Load() == soLinked {
		return &c.soLink
	}
	return l.initBucket(s, b, c)
}

func (l *SOList[K, V]) initBucket(s *soState[K, V], b uint64, c *soCell) *soLink {
	parent := l.bucket(s, b&^(1<<(bits.Len64(b)-1)))
	if !c.state.CompareAndSwap(soFree, soClaimed) {
		if c.state.Load() == soLinked {
			return &c.soLink
		}
		return parent // being linked: start before it
	}
	hook()
	so := soDummy(b)
	c.so = so // published by the CAS that links c
	for {
		// No other node has key so: only the claimer links this dummy.
		pred, n, _ := l.search(parent, so, nil)
		c.next.Store(n)
		if pred.next.CompareAndSwap(n, &c.soLink) {
			break
		}
	}
	c.state.Store(soLinked)
	return &c.soLink
}

func (l *SOList[K, V]) startFor(s *soState[K, V], h uint64) *soLink {
	// The fast path: the bucket's dummy node is in the list. (This does
	// not inline, the call to bucket costs too much; spelling it out in
	// Load measured no faster, even on 1K-key maps.)
	b := h & (s.buckets.Load() - 1)
	seg, idx := soSegIdx(b)
	if p := s.dir[seg].Load(); p != nil {
		if c := &(*p)[idx]; c.state.Load() == soLinked {
			return &c.soLink
		}
	}
	return l.bucket(s, b)
}

// isDeleted reports whether n is an entry that has been deleted. Dummies
// and markers have even split-order keys.
func isDeleted[K comparable, V any](n *soLink) bool {
	return n.so&1 == 1 && soEntryOf[K, V](n).val.Load() == nil
}

// search looks for the entry with split-order key so and key *key (a
// dummy's key so if key is nil) in the list after start, unlinking deleted
// nodes on the way. It returns the node and true, or the live pair (pred,
// next) between which such a node would be inserted: after the last node
// with a split-order key <= so.
func (l *SOList[K, V]) search(start *soLink, so uint64, key *K) (pred, n *soLink, found bool) {
outer:
	for {
		b := start
		n := b.next.Load()
		for {
			if n == nil {
				return b, nil, false
			}
			f := n.next.Load()
			if n != b.next.Load() {
				continue outer // b's next changed under us
			}
			if n.so == 0 || isDeleted[K, V](b) {
				continue outer // n is a marker: b is being unlinked
			}
			if isDeleted[K, V](n) {
				l.helpDelete(b, n, f)
				continue outer
			}
			if n.so > so {
				return b, n, false
			}
			if n.so == so && (key == nil || l.hasher.equal(&soEntryOf[K, V](n).key, key)) {
				return b, n, true
			}
			b, n = n, f
		}
	}
}

// helpDelete advances the unlinking of the deleted node n (between b and
// f): first a marker after n, then b's next past n and the marker.
func (l *SOList[K, V]) helpDelete(b, n, f *soLink) {
	if f != n.next.Load() || n != b.next.Load() {
		return
	}
	if f == nil || f.so != 0 {
		m := &soLink{}
		m.next.Store(f)
		n.next.CompareAndSwap(f, m)
	} else {
		b.next.CompareAndSwap(n, f.next.Load())
	}
}

// Load returns the value stored for key, and whether it was present.
func (l *SOList[K, V]) Load(key K) (value V, ok bool) {
	h := l.hasher.hash(key)
	s := l.state.Load()
	so := soRegular(h)
	// A lock-free read-only walk: deleted nodes are skipped, not unlinked.
	// A node with key so is an entry (so is odd), not a marker.
	for n := l.startFor(s, h).next.Load(); n != nil && n.so <= so; n = n.next.Load() {
		if n.so == so {
			if e := soEntryOf[K, V](n); l.hasher.equal(&e.key, &key) {
				if v := e.val.Load(); v != nil {
					return v.v, true
				}
			}
		}
	}
	return value, false
}

func (l *SOList[K, V]) update(key K, f func(old V, loaded bool) (V, ComputeOp)) updResult[V] {
	h := l.hasher.hash(key)
	s := l.state.Load()
	so := soRegular(h)
	start := l.startFor(s, h)
	var absent absentAnswer[V] // f runs once for an absent key, even when a CAS fails
	for {
		var res updResult[V]
		pred, n, found := l.search(start, so, &key)
		if found {
			e := soEntryOf[K, V](n)
			v := e.val.Load()
			if v == nil {
				continue
			}
			res.old, res.loaded = v.v, true
			nv, op := f(v.v, true)
			switch op {
			case CancelOp:
				res.cur, res.ok = v.v, true
				return res
			case UpdateOp:
				if e.val.CompareAndSwap(v, &soVal[V]{nv}) {
					res.cur, res.ok = nv, true
					return res
				}
			case DeleteOp:
				hook()
				if e.val.CompareAndSwap(v, nil) {
					s.count.add(h, -1)
					hook()
					l.search(start, so, &key) // unlink it
					return res
				}
			}
			continue
		}
		nv, op := absent.get(f)
		if op != UpdateOp {
			return res
		}
		x := &soEntry[K, V]{soLink: soLink{so: so}, key: key, first: soVal[V]{nv}}
		// x is published by the CAS below: plain stores do until then.
		*plainPtr(&x.val) = &x.first
		*plainPtr(&x.next) = n
		hook()
		if pred.next.CompareAndSwap(n, &x.soLink) {
			if s.count.addAndTest(h, 1, soCheckEv) {
				if nb := s.buckets.Load(); s.count.sum() > int64(nb*soLoad) && nb < 1<<62 {
					s.buckets.CompareAndSwap(nb, nb*2)
				}
			}
			res.cur, res.ok = nv, true
			return res
		}
	}
}

// Range calls f for each entry until f returns false. See the type
// documentation for what it guarantees under concurrent writes.
func (l *SOList[K, V]) Range(f func(key K, value V) bool) {
	s := l.state.Load()
	var runSo uint64
	var run []K // keys yielded with split-order key runSo
	for n := s.head.next.Load(); n != nil; n = n.next.Load() {
		if n.so&1 == 0 {
			continue // a dummy or a marker
		}
		e := soEntryOf[K, V](n)
		v := e.val.Load()
		if v == nil {
			continue
		}
		if n.so != runSo {
			runSo, run = n.so, run[:0]
		} else if soContains(run, e.key) {
			continue // deleted and reinserted behind us
		}
		run = append(run, e.key)
		if !f(e.key, v.v) {
			return
		}
	}
}

func soContains[K comparable](s []K, k K) bool {
	for _, x := range s {
		if x == k {
			return true
		}
	}
	return false
}

// All returns an iterator with Range's semantics.
func (l *SOList[K, V]) All() iter.Seq2[K, V] { return seqOf(l.Range) }

// Len returns the number of entries: exact when no writes run, otherwise
// an approximation.
func (l *SOList[K, V]) Len() int { return max(0, int(l.state.Load().count.sum())) }

// Clear deletes every entry by swapping in an empty list.
func (l *SOList[K, V]) Clear() { l.state.Store(l.newState()) }

// Store sets the value for key.
func (l *SOList[K, V]) Store(key K, value V) {
	// update called directly keeps the closure on the stack (see ops.go).
	l.update(key, func(V, bool) (V, ComputeOp) { return value, UpdateOp })
}

// LoadOrStore returns the existing value for key if present; otherwise it
// stores and returns value. loaded reports which.
func (l *SOList[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	if v, ok := l.Load(key); ok {
		return v, true
	}
	r := l.update(key, storeIfAbsent(value))
	return r.cur, r.loaded
}

// LoadAndDelete deletes key, returning the previous value if any.
func (l *SOList[K, V]) LoadAndDelete(key K) (value V, loaded bool) { return doLoadAndDelete(l, key) }

// Delete deletes key.
func (l *SOList[K, V]) Delete(key K) { doLoadAndDelete(l, key) }

// Swap stores value for key and returns the previous value if any.
func (l *SOList[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	r := l.update(key, func(V, bool) (V, ComputeOp) { return value, UpdateOp })
	return r.old, r.loaded
}

// CompareAndSwap stores new for key if its value equals old. It panics if
// values cannot be compared (see the package documentation).
func (l *SOList[K, V]) CompareAndSwap(key K, old, new V) (swapped bool) {
	return doCompareAndSwap(l, l.eq, key, old, new)
}

// CompareAndDelete deletes key if its value equals old. It panics if values
// cannot be compared (see the package documentation).
func (l *SOList[K, V]) CompareAndDelete(key K, old V) (deleted bool) {
	return doCompareAndDelete(l, l.eq, key, old)
}

// Compute applies f to the current value of key; see [Map] and the type
// documentation (f may run again when another goroutine writes the key).
func (l *SOList[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	return doCompute(l, key, f)
}

// LoadOrCompute returns the value of key if present; otherwise it stores
// the result of f unless f cancels. See [Map]; f runs at most once.
func (l *SOList[K, V]) LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool) {
	return doLoadOrCompute(l, key, f)
}
