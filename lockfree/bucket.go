package lockfree

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// BucketMap is a hash table of cache-line-sized buckets in the style of
// CLHT-LB and xsync's Map: the fast variant.
//
// Layout: each 64-byte bucket holds a meta word with a 1-byte hash tag per
// slot, five slots pointing to immutable {key, value} entries, a pointer to
// an overflow bucket, and (in the first bucket of a chain) the chain's
// mutex. A lookup compares the key's tag with all five tags at once (SWAR
// on the meta word) and dereferences only matching slots.
//
// Progress: Load is wait-free: it reads the current table, walks one chain
// with atomic loads and never writes or retries. Writers lock one bucket
// chain (blocking), and wait while a resize of the table is in progress,
// helping it along.
//
// Resize: the table doubles when an insert has to allocate an overflow
// bucket and the map is over 3/4 full, and halves (down to its initial
// size, unless WithGrowOnly) when a delete empties a bucket and the map is
// under 1/16 full. Resizing is cooperative: the writer that starts it
// freezes the old table, and every writer that runs into the frozen table
// claims chunks of 64 buckets to copy until none are left; copying reuses
// the immutable entries. Readers keep using the old table, whose contents
// are frozen and current, until the new one is published.
//
// Iteration: Range visits the table current at its start one bucket chain
// at a time, copying the chain's entries under its lock and calling f with
// no lock held (f may use the map). No key is yielded twice; a key present
// and unmodified for the whole call is yielded; a key changed during the
// call may be seen with any value it had, or not at all. Len sums a
// striped counter updated under the bucket locks: exact when no writes
// run. Clear is linearizable: it freezes the table like a resize and
// publishes an empty one.
//
// Compute and LoadOrCompute call f exactly once, under the bucket lock:
// other writers to keys in the same chain wait while it runs, and f must
// not use the map. A panic in f releases the lock and leaves the map
// unchanged.
//
// Writes allocate one entry (and sometimes an overflow bucket); Load
// allocates nothing. Use NewBucketMap; the zero value is not usable.
type BucketMap[K comparable, V any] struct {
	_        noCopy
	table    atomic.Pointer[bmTable[K, V]]
	hasher   keyHasher[K]
	eq       func(a, b V) bool
	minLen   int
	growOnly bool
}

const (
	bmSlots     = 5
	bmChunk     = 64 // buckets claimed at a time by a resize helper
	bmMetaMask  = 0x000000ffffffffff
	bmLowBits   = 0x0101010101010101
	bmHighBits  = 0x0000008080808080
	bmTagBit    = 0x80
	bmLoadNum   = 3 // grow above 3/4 full
	bmLoadDen   = 4
	bmShrinkDiv = 16 // shrink below 1/16 full
	// osPage is the smallest memory page of the platforms Go runs on
	// (larger pages only make newBMTable write more often than needed).
	osPage = 4096
)

type bmEntry[K comparable, V any] struct {
	key   K
	value V
}

// bmBucket is exactly one cache line on 64-bit platforms.
type bmBucket[K comparable, V any] struct {
	meta  atomic.Uint64 // byte i: tag of slots[i] (high bit set), or 0 if empty
	slots [bmSlots]atomic.Pointer[bmEntry[K, V]]
	next  atomic.Pointer[bmBucket[K, V]]
	mu    sync.Mutex // used only in the head bucket of a chain
}

type bmTable[K comparable, V any] struct {
	buckets []bmBucket[K, V]
	mask    uint64
	size    *counter
	// Resize state. next is set once, when the table is frozen; after that
	// no writer changes it, helpers copy it chunk by chunk, and whoever
	// copies the last chunk publishes next and closes done.
	next      atomic.Pointer[bmTable[K, V]]
	resizer   atomic.Bool // taken by the one writer that allocates next
	claimed   atomic.Int64
	copied    atomic.Int64
	done      chan struct{}
	fromClear bool // set on a new table that replaces a cleared one: copy nothing
}

func newBMTable[K comparable, V any](n int) *bmTable[K, V] {
	stripes := min(n, 4*runtime.GOMAXPROCS(0))
	bs := make([]bmBucket[K, V], n)
	// A large table may come straight from the OS, which the allocator
	// leaves unzeroed because it is zero already. Its copiers read each
	// bucket before they write it, and on such memory the read maps the
	// shared zero page and the write then takes a second fault for the
	// page; one write per page first leaves one fault. (In a growing map
	// on two goroutines the copy's first store into a bucket had taken an
	// eighth of all CPU time.)
	for i := 0; i < n; i += osPage / cacheLineSize { // a bucket is a cache line
		*plainMeta(&bs[i]) = 0
	}
	return &bmTable[K, V]{
		buckets: bs,
		mask:    uint64(n - 1),
		size:    newCounter(stripes),
		done:    make(chan struct{}),
	}
}

// NewBucketMap returns an empty BucketMap.
func NewBucketMap[K comparable, V any](opts ...Option) *BucketMap[K, V] {
	c := buildConfig(opts)
	n := 8
	if c.presize > 0 {
		n = bmLenFor(c.presize)
	}
	m := &BucketMap[K, V]{eq: equalFor[V](&c), minLen: n, growOnly: c.growOnly}
	m.hasher = newKeyHasher[K](&c)
	m.table.Store(newBMTable[K, V](n))
	return m
}

// bmLenFor is the power-of-two number of buckets that holds n entries
// below the growth threshold.
func bmLenFor(n int) int {
	need := (n*bmLoadDen + bmSlots*bmLoadNum - 1) / (bmSlots * bmLoadNum)
	l := 1
	for l < need {
		l <<= 1
	}
	return l
}

func (m *BucketMap[K, V]) hashOf(key K) uint64 { return m.hasher.hash(key) }

func bmTag(h uint64) uint64 { return h>>57 | bmTagBit }

// bmMatch returns a word with the high bit set in byte i for each slot i
// whose tag equals tag, and no other bits. The zero-byte test is the exact
// one (no borrow between bytes, so no false positives); the three unused
// bytes are 0 and tags are never 0, so they never match.
func bmMatch(meta, tag uint64) uint64 {
	return bmZeroBytes(meta ^ (tag * bmLowBits))
}

// bmEmpty returns a word with the high bit set in byte i for each empty slot.
func bmEmpty(meta uint64) uint64 { return bmZeroBytes(meta) }

func bmZeroBytes(x uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	return ^((x&low7 + low7) | x | low7) & bmHighBits
}

func bmSlot(w uint64) int { return bits.TrailingZeros64(w) >> 3 }

// Load returns the value stored for key, and whether it was present.
func (m *BucketMap[K, V]) Load(key K) (value V, ok bool) {
	// keyHasher.hash spelled out: it is too big to inline, and a Load that
	// hits the cache takes only about 5 ns, so a call is worth avoiding.
	var h uint64
	switch kh := &m.hasher; {
	case kh.intKey:
		h = mix64(*(*uint64)(unsafe.Pointer(&key)), kh.seed)
	case kh.fn == nil:
		h = maphash.Comparable(kh.mseed, key)
	default:
		h = kh.fn(key)
	}
	t := m.table.Load()
	tag := bmTag(h)
	for b := &t.buckets[h&t.mask]; b != nil; b = b.next.Load() {
		for w := bmMatch(b.meta.Load(), tag); w != 0; w &= w - 1 {
			if e := b.slots[bmSlot(w)].Load(); e != nil && m.hasher.equal(&e.key, &key) {
				return e.value, true
			}
		}
	}
	return value, false
}

// bmResult is what a locked compute did.
type bmResult[V any] struct {
	old, cur      V
	loaded, ok    bool
	grow, emptied bool
}

// update is compute in the shape the shared operations of ops.go take.
func (m *BucketMap[K, V]) update(key K, f func(old V, loaded bool) (V, ComputeOp)) updResult[V] {
	r := m.compute(key, f)
	return updResult[V]{old: r.old, cur: r.cur, loaded: r.loaded, ok: r.ok}
}

// compute is the one general write path (Store and Delete have their own,
// faster ones): under the key's bucket lock it calls f exactly once with
// the current value and applies the returned op.
func (m *BucketMap[K, V]) compute(key K, f func(old V, loaded bool) (V, ComputeOp)) bmResult[V] {
	h := m.hashOf(key)
	for {
		t := m.table.Load()
		r, frozen := m.computeIn(t, h, key, f)
		if frozen {
			m.helpResize(t)
			continue
		}
		if r.grow {
			m.maybeGrow(t)
		} else if r.emptied {
			m.maybeShrink(t)
		}
		return r
	}
}

func (m *BucketMap[K, V]) computeIn(t *bmTable[K, V], h uint64, key K, f func(old V, loaded bool) (V, ComputeOp)) (r bmResult[V], frozen bool) {
	idx := h & t.mask
	head := &t.buckets[idx]
	head.mu.Lock()
	defer head.mu.Unlock()
	if t.next.Load() != nil {
		return r, true
	}
	tag := bmTag(h)
	var free *bmBucket[K, V]
	freeSlot := 0
	var prev, last *bmBucket[K, V]
	for b := head; b != nil; prev, b = b, b.next.Load() {
		meta := b.meta.Load()
		for w := bmMatch(meta, tag); w != 0; w &= w - 1 {
			i := bmSlot(w)
			e := b.slots[i].Load()
			if !m.hasher.equal(&e.key, &key) {
				continue
			}
			r.old, r.loaded = e.value, true
			nv, op := f(e.value, true)
			switch op {
			case UpdateOp:
				b.slots[i].Store(&bmEntry[K, V]{key, nv})
				r.cur, r.ok = nv, true
			case DeleteOp:
				meta &^= 0xff << (8 * i)
				b.meta.Store(meta)
				b.slots[i].Store(nil)
				t.size.add(idx, -1)
				if meta == 0 {
					if b != head {
						// Unlink the empty overflow bucket; a reader on it
						// still reaches the rest of the chain via its next.
						prev.next.Store(b.next.Load())
					} else if b.next.Load() == nil {
						r.emptied = true
					}
				}
			default:
				r.cur, r.ok = e.value, true
			}
			return r, false
		}
		if free == nil {
			if w := bmEmpty(meta); w != 0 {
				free, freeSlot = b, bmSlot(w)
			}
		}
		last = b
	}
	var zero V
	nv, op := f(zero, false)
	if op != UpdateOp {
		return r, false
	}
	r.grow = bmPlace(free, freeSlot, last, &bmEntry[K, V]{key, nv}, tag)
	t.size.add(idx, 1)
	r.cur, r.ok = nv, true
	return r, false
}

func (m *BucketMap[K, V]) maybeGrow(t *bmTable[K, V]) {
	n := len(t.buckets)
	if t.size.sum()*bmLoadDen >= int64(n*bmSlots*bmLoadNum) {
		m.resize(t, n*2)
	}
}

func (m *BucketMap[K, V]) maybeShrink(t *bmTable[K, V]) {
	n := len(t.buckets)
	if m.growOnly || n <= m.minLen {
		return
	}
	size := int(t.size.sum())
	if size*bmShrinkDiv >= n*bmSlots {
		return
	}
	if target := max(m.minLen, bmLenFor(2*size)); target < n {
		m.resize(t, target)
	}
}

// resize freezes t and moves its entries to a new table of n buckets,
// helping whatever resize (or Clear) already froze t. Of the writers that
// find t full at once, only one allocates the new table; the others
// return, their own writes being done, and help when a later write finds
// t frozen. (When each allocated one and all but one were dropped, a
// growing map made up to a table's worth of extra garbage per resize, and
// the collector ran during nearly every benchmark round.)
func (m *BucketMap[K, V]) resize(t *bmTable[K, V], n int) {
	if t.next.Load() == nil {
		if !t.resizer.CompareAndSwap(false, true) {
			return
		}
		// Clear may have frozen t meanwhile; then its table stays.
		t.next.CompareAndSwap(nil, newBMTable[K, V](n))
	}
	m.helpResize(t)
}

// helpResize copies chunks of t into t.next until none are left, then
// waits until the new table is published.
func (m *BucketMap[K, V]) helpResize(t *bmTable[K, V]) {
	nt := t.next.Load()
	chunks := int64((len(t.buckets) + bmChunk - 1) / bmChunk)
	for {
		c := t.claimed.Add(1) - 1
		if c >= chunks {
			break
		}
		end := min(int(c+1)*bmChunk, len(t.buckets))
		copied := 0
		for i := int(c) * bmChunk; i < end; i++ {
			copied += m.copyBucket(t, nt, i)
			hook()
		}
		// One counter update per chunk, not per entry: the new table's
		// size is read only after it is published.
		nt.size.add(uint64(c), int64(copied))
		if t.copied.Add(1) == chunks {
			m.table.Store(nt)
			close(t.done)
		}
	}
	<-t.done
}

// copyBucket freezes chain i of t (taking its lock guarantees no writer is
// mid-update; writers that come later see t.next and back off) and copies
// its entries into nt.
func (m *BucketMap[K, V]) copyBucket(t, nt *bmTable[K, V], i int) (copied int) {
	head := &t.buckets[i]
	head.mu.Lock()
	defer head.mu.Unlock()
	if nt.fromClear {
		return 0
	}
	shrinking := len(nt.buckets) < len(t.buckets)
	for b := head; b != nil; b = b.next.Load() {
		meta := b.meta.Load()
		for w := meta & bmHighBits; w != 0; w &= w - 1 {
			e := b.slots[bmSlot(w)].Load()
			h := m.hashOf(e.key)
			dst := &nt.buckets[h&nt.mask]
			if shrinking {
				// Several old chains land in one new chain, possibly
				// copied by different helpers.
				dst.mu.Lock()
			}
			bmAppend(dst, bmTag(h), e)
			if shrinking {
				dst.mu.Unlock()
			}
			copied++
		}
	}
	return copied
}

// bmAppend puts e in the first free slot of the chain at head. It is used
// only on a table not yet published, where each chain has one writer at a
// time (its copier, or whoever holds its lock while shrinking) and no
// reader, so it uses plain stores: an atomic store is a locked instruction
// on amd64, and a resize makes two per entry. Publishing the table (after
// every copier's t.copied.Add) orders these stores before any reader's
// loads.
func bmAppend[K comparable, V any](head *bmBucket[K, V], tag uint64, e *bmEntry[K, V]) {
	b := head
	for {
		meta := *plainMeta(b)
		if w := bmEmpty(meta); w != 0 {
			i := bmSlot(w)
			*plainPtr(&b.slots[i]) = e
			*plainMeta(b) = meta | tag<<(8*i)
			return
		}
		next := *plainPtr(&b.next)
		if next == nil {
			nb := &bmBucket[K, V]{}
			*plainPtr(&nb.slots[0]) = e
			*plainMeta(nb) = tag
			*plainPtr(&b.next) = nb
			return
		}
		b = next
	}
}

// bmPlace inserts e, whose tag is tag, into the free slot a writer found
// in its chain (free, slot), or when there is none into a new bucket
// chained after last; it reports whether it chained one. The caller holds
// the chain's lock.
func bmPlace[K comparable, V any](free *bmBucket[K, V], slot int, last *bmBucket[K, V], e *bmEntry[K, V], tag uint64) (chained bool) {
	if free != nil {
		free.slots[slot].Store(e)
		free.meta.Store(free.meta.Load() | tag<<(8*slot))
		return false
	}
	nb := &bmBucket[K, V]{}
	nb.slots[0].Store(e)
	nb.meta.Store(tag)
	last.next.Store(nb)
	return true
}

// plainMeta and plainPtr give non-atomic access to the value inside an
// atomic.Uint64 or atomic.Pointer, which is its only field of non-zero
// size (TestPlainAtomicLayout checks that).
func plainMeta[K comparable, V any](b *bmBucket[K, V]) *uint64 {
	return (*uint64)(unsafe.Pointer(&b.meta))
}

func plainPtr[T any](p *atomic.Pointer[T]) **T { return (**T)(unsafe.Pointer(p)) }

// lockHead locks the head bucket of hash h's chain in the current table
// and returns them; a table being resized is first helped to completion,
// since its chains are frozen.
func (m *BucketMap[K, V]) lockHead(h uint64) (*bmTable[K, V], uint64, *bmBucket[K, V]) {
	for {
		t := m.table.Load()
		idx := h & t.mask
		head := &t.buckets[idx]
		head.mu.Lock()
		if t.next.Load() == nil {
			return t, idx, head
		}
		head.mu.Unlock()
		m.helpResize(t)
	}
}

// Store sets the value for key.
func (m *BucketMap[K, V]) Store(key K, value V) { m.store(key, value) }

// store is compute specialised for an unconditional update, the most
// common write: no callback, so no deferred unlock.
func (m *BucketMap[K, V]) store(key K, value V) (old V, loaded bool) {
	h := m.hashOf(key)
	tag := bmTag(h)
	// Both outcomes publish a new entry; allocating it before taking the
	// lock keeps the allocation out of the critical section.
	e := &bmEntry[K, V]{key, value}
	t, idx, head := m.lockHead(h)
	var free, last *bmBucket[K, V]
	freeSlot := 0
	for b := head; b != nil; b = b.next.Load() {
		meta := b.meta.Load()
		for w := bmMatch(meta, tag); w != 0; w &= w - 1 {
			i := bmSlot(w)
			if cur := b.slots[i].Load(); m.hasher.equal(&cur.key, &key) {
				b.slots[i].Store(e)
				head.mu.Unlock()
				return cur.value, true
			}
		}
		if free == nil {
			if w := bmEmpty(meta); w != 0 {
				free, freeSlot = b, bmSlot(w)
			}
		}
		last = b
	}
	grow := bmPlace(free, freeSlot, last, e, tag)
	t.size.add(idx, 1)
	head.mu.Unlock()
	if grow {
		m.maybeGrow(t)
	}
	return old, false
}

// LoadOrStore returns the existing value for key if present; otherwise it
// stores and returns value. loaded reports which.
func (m *BucketMap[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	if v, ok := m.Load(key); ok {
		return v, true
	}
	r := m.update(key, storeIfAbsent(value))
	return r.cur, r.loaded
}

// LoadAndDelete deletes key, returning the previous value if any.
func (m *BucketMap[K, V]) LoadAndDelete(key K) (value V, loaded bool) {
	if _, ok := m.Load(key); !ok {
		return value, false
	}
	return m.delete(key)
}

// delete is compute specialised for an unconditional delete.
func (m *BucketMap[K, V]) delete(key K) (old V, loaded bool) {
	h := m.hashOf(key)
	tag := bmTag(h)
	t, idx, head := m.lockHead(h)
	var prev *bmBucket[K, V]
	for b := head; b != nil; prev, b = b, b.next.Load() {
		meta := b.meta.Load()
		for w := bmMatch(meta, tag); w != 0; w &= w - 1 {
			i := bmSlot(w)
			e := b.slots[i].Load()
			if !m.hasher.equal(&e.key, &key) {
				continue
			}
			meta &^= 0xff << (8 * i)
			b.meta.Store(meta)
			b.slots[i].Store(nil)
			t.size.add(idx, -1)
			emptied := false
			if meta == 0 {
				if b != head {
					prev.next.Store(b.next.Load())
				} else {
					emptied = b.next.Load() == nil
				}
			}
			head.mu.Unlock()
			if emptied {
				m.maybeShrink(t)
			}
			return e.value, true
		}
	}
	head.mu.Unlock()
	return old, false
}

// Delete deletes key.
func (m *BucketMap[K, V]) Delete(key K) { m.LoadAndDelete(key) }

// Swap stores value for key and returns the previous value if any.
func (m *BucketMap[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	return m.store(key, value)
}

// CompareAndSwap stores new for key if its value equals old. It panics if
// values cannot be compared (see the package documentation).
func (m *BucketMap[K, V]) CompareAndSwap(key K, old, new V) (swapped bool) {
	return doCompareAndSwap(m, m.eq, key, old, new)
}

// CompareAndDelete deletes key if its value equals old. It panics if values
// cannot be compared (see the package documentation).
func (m *BucketMap[K, V]) CompareAndDelete(key K, old V) (deleted bool) {
	return doCompareAndDelete(m, m.eq, key, old)
}

// Compute runs f once, under the key's bucket lock, and applies the
// returned op. See [Map] and the type documentation.
func (m *BucketMap[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	return doCompute(m, key, f)
}

// LoadOrCompute returns the value of key if present; otherwise it stores
// the result of f unless f cancels. f runs at most once, under the bucket
// lock. See [Map].
func (m *BucketMap[K, V]) LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool) {
	return doLoadOrCompute(m, key, f)
}

// Range calls f for each entry until f returns false. See the type
// documentation for what it guarantees under concurrent writes.
func (m *BucketMap[K, V]) Range(f func(key K, value V) bool) {
	t := m.table.Load()
	var buf []*bmEntry[K, V]
	for i := range t.buckets {
		head := &t.buckets[i]
		if head.meta.Load() == 0 && head.next.Load() == nil {
			continue // empty at this instant
		}
		buf = buf[:0]
		head.mu.Lock()
		for b := head; b != nil; b = b.next.Load() {
			for w := b.meta.Load() & bmHighBits; w != 0; w &= w - 1 {
				buf = append(buf, b.slots[bmSlot(w)].Load())
			}
		}
		head.mu.Unlock()
		for _, e := range buf {
			if !f(e.key, e.value) {
				return
			}
		}
	}
}

// All returns an iterator with Range's semantics.
func (m *BucketMap[K, V]) All() iter.Seq2[K, V] { return seqOf(m.Range) }

// Len returns the number of entries: exact when no writes run, otherwise
// an approximation.
func (m *BucketMap[K, V]) Len() int {
	return max(0, int(m.table.Load().size.sum()))
}

// Clear deletes every entry. It is linearizable, and shrinks the table to
// its initial size.
func (m *BucketMap[K, V]) Clear() {
	t := m.table.Load()
	for t.next.Load() != nil {
		m.helpResize(t)
		t = m.table.Load()
	}
	nt := newBMTable[K, V](m.minLen)
	nt.fromClear = true
	if !t.next.CompareAndSwap(nil, nt) {
		// Another resize froze t first; finish it and clear its result.
		m.helpResize(t)
		m.Clear()
		return
	}
	m.helpResize(t)
}
