package lockfree

import (
	"iter"
	"runtime"
	"sync/atomic"
)

// ClickMap is an open-addressing hash table after Cliff Click's
// NonBlockingHashMap: every operation, resizing included, is lock-free.
//
// Each slot is a pair of CAS-able words, a key and a value. A key slot goes
// from empty to a key once and never changes again (or, during a copy, from
// empty to "dead"), so a probe sequence only ever gets longer and a key
// found is found for good. Values are immutable boxes; a value slot is a
// small state machine:
//
//	empty ──▶ value ⇄ value' ⇄ tombstone      normal life (CAS)
//	  │         │                 │
//	  │         ▼                 ▼
//	  │    prime(value)        delprime         being copied / done
//	  ▼         │
//	tombprime ◀─┘                               done
//
// A "prime" wraps the value being copied to the next table: once a slot is
// primed no writer touches it in the old table. The copier inserts the
// value into the new table only if that key's slot there was never written
// (a newer write wins), then finalizes the old slot as a tombprime. A
// deleted slot finishes as a delprime, so that a slow copier still carrying
// an older value for that key, and following it into a third table, stops
// there instead of resurrecting it.
//
// Progress: lock-free. Load probes one or more tables with atomic loads and
// never waits; a writer that finds a resize in progress copies one chunk of
// slots (helping) and then works in the new table.
//
// Resize: a new table is allocated when an insert would leave the table 3/4
// full of used key slots (tombstones and dead keys count) or a probe runs
// past its limit (10 + len/16). The new size depends on the live entries:
// ×4 above 1/2, ×2 above 1/4, same size (which purges tombstones) below
// that, ½ below 1/8 (never below the initial size). Migration is
// incremental and cooperative: writers claim chunks of 256 slots; after two
// passes a writer copies everything it finds, so a stalled helper cannot
// stall the copy. The new table is promoted when every old slot is done.
// A map that only shrinks by deletes keeps its table until the next insert
// that triggers a resize.
//
// Iteration: Range first helps any resize in progress finish, then visits
// the slots of the current table, following primed slots to the newer
// table for their value. Every key has one slot per table, so no key is
// yielded twice; a key present and unmodified for the whole call is
// yielded; a changed key may be seen with any value it had, or not at all.
// Len sums a striped counter updated at the linearization points: exact
// when no writes run. Clear swaps in a fresh table and counter; it is
// linearizable (operations still working on the old table all overlap the
// swap and order before it).
//
// Compute and LoadOrCompute call f without locks. With no other writer
// they call it exactly once, resizes included: f's answer for an absent key
// is carried into the new table when the insert starts or meets a resize,
// and a present key's slot is copied to the newest table before f sees its
// value. LoadOrCompute calls f at most once per call in any case. Compute
// calls f again only when the value it was given is replaced before f's
// result is installed: by another writer of the key, or by another
// goroutine copying the key's slot to a new table. Only the last call's
// result is installed; f should be free of side effects. A panic in f
// leaves the map unchanged.
//
// Use NewClickMap; the zero value is not usable.
type ClickMap[K comparable, V any] struct {
	_         noCopy
	root      atomic.Pointer[nbRoot[K, V]]
	hasher    keyHasher[K]
	eq        func(a, b V) bool
	minLen    int
	deadKey   *nbKey[K] // key of a slot killed by a copy
	tombstone *nbVal[V] // the value of a deleted key
	tombPrime *nbVal[V] // a finished slot of a copied table (copied, or never written)
	delPrime  *nbVal[V] // a finished slot that held a tombstone
}

const (
	nbMinLen    = 4
	nbChunk     = 256
	nbProbeBase = 10
)

type nbRoot[K comparable, V any] struct {
	kvs  atomic.Pointer[nbTable[K, V]]
	size *counter
}

type nbTable[K comparable, V any] struct {
	slots    []nbSlot[K, V]
	mask     uint64
	used     atomic.Int64 // key slots claimed
	newkvs   atomic.Pointer[nbTable[K, V]]
	copyIdx  atomic.Int64 // chunks handed out, in slots (goes to 2×len, then everyone copies all)
	copyDone atomic.Int64 // slots finished
}

type nbSlot[K comparable, V any] struct {
	key atomic.Pointer[nbKey[K]]
	val atomic.Pointer[nbVal[V]]
}

type nbKey[K comparable] struct {
	k    K
	hash uint64
}

type nbVal[V any] struct {
	v     V
	prime bool // being copied (or, for tombPrime, done)
}

// NewClickMap returns an empty ClickMap.
func NewClickMap[K comparable, V any](opts ...Option) *ClickMap[K, V] {
	c := buildConfig(opts)
	n := 16
	if c.presize > 0 {
		n = nbMinLen
		for n*3/8 < c.presize { // room to reach presize before the table is 3/4 used
			n <<= 1
		}
	}
	m := &ClickMap[K, V]{
		hasher: newKeyHasher[K](&c), eq: equalFor[V](&c), minLen: n,
		deadKey: &nbKey[K]{}, tombstone: &nbVal[V]{}, tombPrime: &nbVal[V]{prime: true}, delPrime: &nbVal[V]{prime: true},
	}
	m.root.Store(m.newRoot())
	return m
}

func (m *ClickMap[K, V]) newRoot() *nbRoot[K, V] {
	r := &nbRoot[K, V]{size: newCounter(4 * runtime.GOMAXPROCS(0))}
	r.kvs.Store(newNBTable[K, V](m.minLen))
	return r
}

func newNBTable[K comparable, V any](n int) *nbTable[K, V] {
	return &nbTable[K, V]{slots: make([]nbSlot[K, V], n), mask: uint64(n - 1)}
}

func (t *nbTable[K, V]) probeLimit() int { return nbProbeBase + len(t.slots)>>4 }

// absent reports whether a value slot holds no value.
func (m *ClickMap[K, V]) absent(v *nbVal[V]) bool { return v == nil || v == m.tombstone }

// Load returns the value stored for key, and whether it was present.
func (m *ClickMap[K, V]) Load(key K) (value V, ok bool) {
	h := m.hasher.hash(key)
	r := m.root.Load()
	return m.get(r, r.kvs.Load(), key, h)
}

func (m *ClickMap[K, V]) get(r *nbRoot[K, V], t *nbTable[K, V], key K, h uint64) (value V, ok bool) {
	for {
		idx, probes := h&t.mask, 0
		for {
			s := &t.slots[idx]
			k := s.key.Load()
			if k == nil {
				return value, false // never in this table, nor in a newer one
			}
			if k != m.deadKey && k.hash == h && m.hasher.equal(&k.k, &key) {
				v := s.val.Load()
				if v == nil || !v.prime {
					if m.absent(v) {
						return value, false
					}
					return v.v, true
				}
				// Being copied: finish this slot, then read the new table.
				t = m.copySlotAndCheck(r, t, int(idx))
				break
			}
			if probes++; probes >= t.probeLimit() || k == m.deadKey {
				nt := t.newkvs.Load()
				if nt == nil {
					return value, false
				}
				t = nt
				break
			}
			idx = (idx + 1) & t.mask
		}
	}
}

// update is the write path: it claims key's slot and CASes the value slot
// from the value f saw to the value f returned, retrying on interference.
func (m *ClickMap[K, V]) update(key K, f func(old V, loaded bool) (V, ComputeOp)) updResult[V] {
	h := m.hasher.hash(key)
	r := m.root.Load()
	t := r.kvs.Load()
	if t.newkvs.Load() != nil {
		m.helpCopy(r, t)
	}
	// f's answer for an absent key travels with the update from table to
	// table, so that an insert which starts or meets a resize calls f once.
	var absent absentAnswer[V]
	for {
		res, next := m.putIn(r, t, key, h, f, &absent)
		if next == nil {
			return res
		}
		t = next
	}
}

// putIn tries the update in table t; it returns the newer table to retry
// in when t is being (or must be) resized.
func (m *ClickMap[K, V]) putIn(r *nbRoot[K, V], t *nbTable[K, V], key K, h uint64, f func(old V, loaded bool) (V, ComputeOp), absent *absentAnswer[V]) (res updResult[V], next *nbTable[K, V]) {
	idx, probes := h&t.mask, 0
	var s *nbSlot[K, V]
	for {
		s = &t.slots[idx]
		k := s.key.Load()
		if k == nil {
			// Not in this table nor a newer one. Claim the slot only to
			// insert; a delete or a cancel is decided here.
			if _, op := absent.get(f); op != UpdateOp {
				return res, nil
			}
			if s.key.CompareAndSwap(nil, &nbKey[K]{key, h}) {
				t.used.Add(1)
				break
			}
			k = s.key.Load()
		}
		if k != m.deadKey && k.hash == h && m.hasher.equal(&k.k, &key) {
			break
		}
		if probes++; probes >= t.probeLimit() || k == m.deadKey {
			// The key has no slot here, and every later writer of it
			// will stop at the same place, so it can go straight on.
			return res, m.resize(r, t, k != m.deadKey)
		}
		idx = (idx + 1) & t.mask
	}
	// The slot holds key. Writes go to the newest table: if t is being
	// copied (or must grow before this insert), copy this slot first, so
	// that no write to the old slot can land after ours in the new table.
	nt := t.newkvs.Load()
	if nt == nil && s.val.Load() == nil && t.used.Load() >= int64(len(t.slots)*3/4) {
		nt = m.resize(r, t, false)
	}
	if nt != nil {
		return res, m.copySlotAndCheck(r, t, int(idx))
	}
	for {
		v := s.val.Load()
		if v != nil && v.prime {
			return res, m.copySlotAndCheck(r, t, int(idx))
		}
		res = updResult[V]{}
		if !m.absent(v) {
			res.old, res.loaded = v.v, true
		}
		var nv V
		var op ComputeOp
		if res.loaded {
			nv, op = f(res.old, true)
		} else {
			nv, op = absent.get(f)
		}
		hook()
		var box *nbVal[V]
		switch op {
		case CancelOp:
			res.cur, res.ok = res.old, res.loaded
			return res, nil
		case DeleteOp:
			if !res.loaded {
				return res, nil
			}
			box = m.tombstone
		default:
			box = &nbVal[V]{v: nv}
			res.cur, res.ok = nv, true
		}
		if s.val.CompareAndSwap(v, box) {
			switch {
			case box == m.tombstone:
				r.size.add(h, -1)
			case !res.loaded:
				r.size.add(h, 1)
			}
			return res, nil
		}
	}
}

// resize returns t's successor, allocating it if there is none yet.
func (m *ClickMap[K, V]) resize(r *nbRoot[K, V], t *nbTable[K, V], probeLimit bool) *nbTable[K, V] {
	if nt := t.newkvs.Load(); nt != nil {
		return nt
	}
	n := len(t.slots)
	live := int(r.size.sum())
	newLen := n
	switch {
	case live >= n/2:
		newLen = n * 4
	case live >= n/4:
		newLen = n * 2
	case live*8 < n && n > m.minLen:
		newLen = max(n/2, m.minLen)
	}
	if probeLimit {
		// A long probe sequence, not fullness: only more room shortens it.
		newLen = max(newLen, n*2)
	}
	t.newkvs.CompareAndSwap(nil, newNBTable[K, V](newLen))
	return t.newkvs.Load()
}

// helpCopy copies one chunk of the top table t into its successor, and
// promotes the successor once every slot is done.
func (m *ClickMap[K, V]) helpCopy(r *nbRoot[K, V], t *nbTable[K, V]) {
	nt := t.newkvs.Load()
	n := int64(len(t.slots))
	if t.copyDone.Load() < n {
		chunk := min(n, nbChunk)
		start := t.copyIdx.Add(chunk) - chunk
		lo, hi := start%n, start%n+chunk
		if start >= 2*n {
			lo, hi = 0, n // stragglers: copy everything (copySlot is idempotent)
		}
		done := int64(0)
		for i := lo; i < min(hi, n); i++ {
			if m.copySlot(r, t, int(i), nt) {
				done++
			}
		}
		t.copyDone.Add(done)
	}
	if t.copyDone.Load() == n {
		r.kvs.CompareAndSwap(t, nt)
	}
}

// copySlotAndCheck finishes copying slot idx of t and returns the table to
// retry in.
func (m *ClickMap[K, V]) copySlotAndCheck(r *nbRoot[K, V], t *nbTable[K, V], idx int) *nbTable[K, V] {
	nt := t.newkvs.Load()
	if m.copySlot(r, t, idx, nt) {
		t.copyDone.Add(1)
		if t.copyDone.Load() == int64(len(t.slots)) {
			r.kvs.CompareAndSwap(t, nt)
		}
	}
	return nt
}

// copySlot moves slot idx of t into nt. It reports whether this call
// finished the slot (exactly one call per slot does).
func (m *ClickMap[K, V]) copySlot(r *nbRoot[K, V], t *nbTable[K, V], idx int, nt *nbTable[K, V]) bool {
	s := &t.slots[idx]
	k := s.key.Load()
	for k == nil {
		// Kill the empty slot so no new key lands in the old table.
		s.key.CompareAndSwap(nil, m.deadKey)
		k = s.key.Load()
	}
	old := s.val.Load()
	for old == nil || !old.prime {
		// A deleted slot is finished as delPrime, not tombPrime: a late
		// copier of an older value (copyInto) must learn that this key was
		// written here, or it would resurrect the value in a newer table.
		box := m.tombPrime
		switch {
		case old == m.tombstone:
			box = m.delPrime
		case old != nil:
			box = &nbVal[V]{v: old.v, prime: true}
		}
		if s.val.CompareAndSwap(old, box) {
			if box == m.tombPrime || box == m.delPrime {
				return true // nothing to copy
			}
			old = box
			break
		}
		old = s.val.Load()
	}
	if old == m.tombPrime || old == m.delPrime {
		return false
	}
	hook()
	m.copyInto(r, nt, k, &nbVal[V]{v: old.v})
	hook()
	return s.val.CompareAndSwap(old, m.tombPrime)
}

// copyInto stores v for k in t only if k's value slot there was never
// written: a write that reached the new table directly is newer.
func (m *ClickMap[K, V]) copyInto(r *nbRoot[K, V], t *nbTable[K, V], k *nbKey[K], v *nbVal[V]) {
	for {
		idx, probes := k.hash&t.mask, 0
		var s *nbSlot[K, V]
		for {
			s = &t.slots[idx]
			sk := s.key.Load()
			if sk == nil {
				if s.key.CompareAndSwap(nil, k) {
					t.used.Add(1)
					break
				}
				sk = s.key.Load()
			}
			if sk == k || (sk != m.deadKey && sk.hash == k.hash && sk.k == k.k) {
				break
			}
			if probes++; probes >= t.probeLimit() || sk == m.deadKey {
				s = nil
				break
			}
			idx = (idx + 1) & t.mask
		}
		if s == nil {
			t = m.resize(r, t, true)
			continue
		}
		// Look at the value before following t to a newer table: what this
		// slot says about k (written here or not) must not be skipped.
		for {
			cur := s.val.Load()
			switch {
			case cur == nil:
				if t.newkvs.Load() == nil {
					if s.val.CompareAndSwap(nil, v) {
						return
					}
					continue
				}
			case cur == m.delPrime:
				return // deleted here: newer than v
			case cur == m.tombPrime:
				// Never written here, or copied on: follow it.
			case cur.prime:
				return // a value written here, being copied on: newer than v
			default:
				return // written here: newer than v
			}
			break
		}
		t = m.copySlotAndCheck(r, t, int(idx))
	}
}

// Range calls f for each entry until f returns false. See the type
// documentation for what it guarantees under concurrent writes.
func (m *ClickMap[K, V]) Range(f func(key K, value V) bool) {
	r := m.root.Load()
	t := r.kvs.Load()
	for t.newkvs.Load() != nil {
		// Finish the resize in progress, so that every key is in one table.
		for r.kvs.Load() == t {
			m.helpCopy(r, t)
		}
		t = r.kvs.Load()
	}
	for i := range t.slots {
		s := &t.slots[i]
		k := s.key.Load()
		if k == nil || k == m.deadKey {
			continue
		}
		v := s.val.Load()
		if v != nil && v.prime {
			// Copied (or being copied): the value now lives in a newer table.
			nt := t.newkvs.Load()
			if v != m.tombPrime && v != m.delPrime {
				nt = m.copySlotAndCheck(r, t, i)
			}
			val, ok := m.get(r, nt, k.k, k.hash)
			if ok && !f(k.k, val) {
				return
			}
			continue
		}
		if !m.absent(v) && !f(k.k, v.v) {
			return
		}
	}
}

// All returns an iterator with Range's semantics.
func (m *ClickMap[K, V]) All() iter.Seq2[K, V] { return seqOf(m.Range) }

// Len returns the number of entries: exact when no writes run, otherwise
// an approximation.
func (m *ClickMap[K, V]) Len() int { return max(0, int(m.root.Load().size.sum())) }

// Clear deletes every entry by swapping in an empty table.
func (m *ClickMap[K, V]) Clear() { m.root.Store(m.newRoot()) }

// Store sets the value for key.
func (m *ClickMap[K, V]) Store(key K, value V) {
	// update called directly keeps the closure on the stack (see ops.go).
	m.update(key, func(V, bool) (V, ComputeOp) { return value, UpdateOp })
}

// LoadOrStore returns the existing value for key if present; otherwise it
// stores and returns value. loaded reports which.
func (m *ClickMap[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	if v, ok := m.Load(key); ok {
		return v, true
	}
	r := m.update(key, storeIfAbsent(value))
	return r.cur, r.loaded
}

// LoadAndDelete deletes key, returning the previous value if any.
func (m *ClickMap[K, V]) LoadAndDelete(key K) (value V, loaded bool) {
	return doLoadAndDelete(m, key)
}

// Delete deletes key.
func (m *ClickMap[K, V]) Delete(key K) { doLoadAndDelete(m, key) }

// Swap stores value for key and returns the previous value if any.
func (m *ClickMap[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	r := m.update(key, func(V, bool) (V, ComputeOp) { return value, UpdateOp })
	return r.old, r.loaded
}

// CompareAndSwap stores new for key if its value equals old. It panics if
// values cannot be compared (see the package documentation).
func (m *ClickMap[K, V]) CompareAndSwap(key K, old, new V) (swapped bool) {
	return doCompareAndSwap(m, m.eq, key, old, new)
}

// CompareAndDelete deletes key if its value equals old. It panics if values
// cannot be compared (see the package documentation).
func (m *ClickMap[K, V]) CompareAndDelete(key K, old V) (deleted bool) {
	return doCompareAndDelete(m, m.eq, key, old)
}

// Compute applies f to the current value of key; see [Map] and the type
// documentation (f may run again when another goroutine writes the key).
func (m *ClickMap[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	return doCompute(m, key, f)
}

// LoadOrCompute returns the value of key if present; otherwise it stores
// the result of f unless f cancels. See [Map]; f runs at most once.
func (m *ClickMap[K, V]) LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool) {
	return doLoadOrCompute(m, key, f)
}
