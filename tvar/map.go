package tvar

import (
	"hash/maphash"
	"math/bits"

	"gostm.dev/stm"
)

// Map is a transactional hash map: a hash array mapped trie (HAMT) whose
// nodes are Vars, in the manner of Haskell's stm-containers, so that
// transactions on different keys commit in parallel, where a single Var
// holding a whole map would make every two writers conflict.
//
// # Layout and conflicts
//
// Each trie node is a Var holding an immutable bitmap and array of up to
// 32 children, indexed by 5 bits of the key's hash per level; a child is a
// deeper node or an entry. Each entry has its own value Var. So:
//
//   - Get reads the nodes on the key's path and the entry's value Var.
//   - Set of a key already present writes only its value Var: it conflicts
//     only with transactions that use the same key.
//   - Inserting or deleting a key rewrites the deepest node on its path
//     (and, when a deletion empties a node or leaves it a single entry,
//     the parent it folds into). It conflicts with operations whose path
//     goes through that node: in a large map, the few keys that share its
//     hash prefix; in a map of a few dozen keys, most operations.
//
// # Len and its trade-off
//
// Len must be exact inside every transaction, so the size is kept in Vars
// that inserts and deletes update in the same transaction. They update it
// with stm.Add, a blind update applied at commit to whatever the size is
// then, so inserts and deletes of distinct keys never conflict on the
// size: only the trie nodes they rewrite can make them conflict. The size
// is still striped over 16 Vars, chosen by the top bits of the key's hash,
// so that concurrent commits rarely wait for the same Var's lock or cache
// line; Len reads all 16 (ordinary reads, which turn the transaction's own
// pending Adds into reads too) and sums them. The price is on Len's side:
// it is 16 reads, and a transaction that calls Len conflicts with every
// concurrent insert or delete anywhere in the map (inherent in an exact
// count). Updates of present keys never touch the size.
//
// # Hashing
//
// Keys are hashed with hash/maphash.Comparable under a seed chosen per
// map, so hash flooding one map does not carry over to another. Keys whose
// full 64-bit hashes collide share a list under one trie slot.
type Map[K comparable, V any] struct {
	root   *stm.Var[branch[K, V]]
	sizes  *[mapStripes]stripe
	seed   maphash.Seed
	hasher func(K) uint64 // nil except in tests that force hash collisions
	loops  loops          // the Range loops in progress (maprange.go)
}

const (
	levelBits  = 5
	levelMask  = 1<<levelBits - 1
	maxDepth   = (64 + levelBits - 1) / levelBits // levels 0..12; the last uses 4 bits
	mapStripes = 16
)

// stripe is one part of a map's size. The padding keeps stripes on
// separate cache lines, so commits that update different stripes do not
// fight over one line.
type stripe struct {
	n stm.Var[int]
	_ [64]byte
}

// branch is the immutable content of a trie node: kids[i] is the child for
// the i-th set bit of bitmap.
type branch[K comparable, V any] struct {
	bitmap uint32
	kids   []kid[K, V]
}

// kid is a child: a deeper node (sub) or a list of entries (first) whose
// keys all have the same full hash.
type kid[K comparable, V any] struct {
	sub   *stm.Var[branch[K, V]]
	first *entry[K, V]
}

// entry is immutable except through val, so a list of entries can be
// shared between committed trie versions and transaction attempts.
type entry[K comparable, V any] struct {
	key  K
	hash uint64
	val  *stm.Var[V]
	next *entry[K, V]
}

// NewMap returns an empty map.
func NewMap[K comparable, V any]() *Map[K, V] {
	return &Map[K, V]{
		root:  stm.NewVar(branch[K, V]{}),
		sizes: new([mapStripes]stripe),
		seed:  maphash.MakeSeed(),
	}
}

func (m *Map[K, V]) check(op string) {
	if m == nil || m.root == nil {
		misuse("Map", op)
	}
}

func (m *Map[K, V]) hash(k K) uint64 {
	if m.hasher != nil {
		return m.hasher(k)
	}
	return maphash.Comparable(m.seed, k)
}

// count records that tx inserted (d = 1) or deleted (d = -1) the key of
// hash h: in its size stripe, blindly (stm.Add reads nothing, so two
// transactions counting at once do not conflict), and for tx's Range
// loops, whose nodes may now be stale.
func (m *Map[K, V]) count(tx *stm.Tx, h uint64, d int) {
	stm.Add(tx, &m.sizes[h>>(64-4)].n, d)
	m.loops.changed(tx)
}

// slotBit is the bitmap bit of hash h at depth.
func slotBit(h uint64, depth int) uint32 {
	return 1 << (h >> (uint(depth) * levelBits) & levelMask)
}

func (b branch[K, V]) index(bit uint32) int { return bits.OnesCount32(b.bitmap & (bit - 1)) }

func (b branch[K, V]) inserted(bit uint32, i int, k kid[K, V]) branch[K, V] {
	kids := make([]kid[K, V], len(b.kids)+1)
	copy(kids, b.kids[:i])
	kids[i] = k
	copy(kids[i+1:], b.kids[i:])
	return branch[K, V]{b.bitmap | bit, kids}
}

func (b branch[K, V]) replaced(i int, k kid[K, V]) branch[K, V] {
	kids := make([]kid[K, V], len(b.kids))
	copy(kids, b.kids)
	kids[i] = k
	return branch[K, V]{b.bitmap, kids}
}

func (b branch[K, V]) removed(bit uint32, i int) branch[K, V] {
	if len(b.kids) == 1 {
		return branch[K, V]{}
	}
	kids := make([]kid[K, V], len(b.kids)-1)
	copy(kids, b.kids[:i])
	copy(kids[i:], b.kids[i+1:])
	return branch[K, V]{b.bitmap &^ bit, kids}
}

// find returns k's entry, or nil.
func (m *Map[K, V]) find(tx *stm.Tx, k K, h uint64) *entry[K, V] {
	n := m.root
	for depth := 0; ; depth++ {
		b := n.Get(tx)
		bit := slotBit(h, depth)
		if b.bitmap&bit == 0 {
			return nil
		}
		kd := b.kids[b.index(bit)]
		if kd.sub != nil {
			n = kd.sub
			continue
		}
		if kd.first.hash != h {
			return nil
		}
		for e := kd.first; e != nil; e = e.next {
			if e.key == k {
				return e
			}
		}
		return nil
	}
}

// Get returns the value of k and whether k is present.
func (m *Map[K, V]) Get(tx *stm.Tx, k K) (V, bool) {
	m.check("Get")
	if e := m.find(tx, k, m.hash(k)); e != nil {
		return e.val.Get(tx), true
	}
	var zero V
	return zero, false
}

// Set sets the value of k to v, adding k if it is absent.
func (m *Map[K, V]) Set(tx *stm.Tx, k K, v V) {
	m.check("Set")
	m.put(tx, k, m.hash(k), v, true)
}

// put adds k with value v if k is absent, or else sets its value if
// overwrite; it reports whether k was added.
func (m *Map[K, V]) put(tx *stm.Tx, k K, h uint64, v V, overwrite bool) bool {
	n := m.root
	for depth := 0; ; depth++ {
		b := n.Get(tx)
		bit := slotBit(h, depth)
		i := b.index(bit)
		if b.bitmap&bit == 0 {
			n.Set(tx, b.inserted(bit, i, kid[K, V]{first: newEntry(k, h, v)}))
			m.count(tx, h, 1)
			return true
		}
		kd := b.kids[i]
		if kd.sub != nil {
			n = kd.sub
			continue
		}
		if kd.first.hash == h {
			for e := kd.first; e != nil; e = e.next {
				if e.key == k {
					if overwrite {
						e.val.Set(tx, v)
					}
					return false
				}
			}
			e := newEntry(k, h, v)
			e.next = kd.first
			n.Set(tx, b.replaced(i, kid[K, V]{first: e}))
		} else {
			n.Set(tx, b.replaced(i, kid[K, V]{sub: split(kd.first, newEntry(k, h, v), depth+1)}))
		}
		m.count(tx, h, 1)
		return true
	}
}

func newEntry[K comparable, V any](k K, h uint64, v V) *entry[K, V] {
	return &entry[K, V]{key: k, hash: h, val: stm.NewVar(v)}
}

// split returns a new node at depth holding the lists a and b, whose
// hashes differ but agree on every level above depth. The new Vars are
// unreachable until the transaction that links them in commits, so
// creating them inside a transaction is safe.
func split[K comparable, V any](a, b *entry[K, V], depth int) *stm.Var[branch[K, V]] {
	ba, bb := slotBit(a.hash, depth), slotBit(b.hash, depth)
	if ba == bb {
		return stm.NewVar(branch[K, V]{ba, []kid[K, V]{{sub: split(a, b, depth+1)}}})
	}
	ka, kb := kid[K, V]{first: a}, kid[K, V]{first: b}
	if ba > bb {
		ka, kb = kb, ka
	}
	return stm.NewVar(branch[K, V]{ba | bb, []kid[K, V]{ka, kb}})
}

// Delete removes k and reports whether it was present.
func (m *Map[K, V]) Delete(tx *stm.Tx, k K) bool {
	m.check("Delete")
	return m.delete(tx, k, m.hash(k))
}

func (m *Map[K, V]) delete(tx *stm.Tx, k K, h uint64) bool {
	// The nodes above the current one, to fold emptied nodes upward.
	var path [maxDepth]struct {
		n   *stm.Var[branch[K, V]]
		b   branch[K, V]
		bit uint32
	}
	n := m.root
	for depth := 0; ; depth++ {
		b := n.Get(tx)
		bit := slotBit(h, depth)
		if b.bitmap&bit == 0 {
			return false
		}
		i := b.index(bit)
		kd := b.kids[i]
		if kd.sub != nil {
			path[depth].n, path[depth].b, path[depth].bit = n, b, bit
			n = kd.sub
			continue
		}
		if kd.first.hash != h {
			return false
		}
		rest, found := without(kd.first, k)
		if !found {
			return false
		}
		m.count(tx, h, -1)
		if rest != nil {
			n.Set(tx, b.replaced(i, kid[K, V]{first: rest}))
			return true
		}
		// Keep the trie canonical, so that lookups stay short and memory
		// is given back: a node (other than the root) left empty is
		// removed from its parent, and one left holding a single entry
		// list is replaced by that list, level after level. Only the
		// highest node that changes is written; the ones folded into it
		// become unreachable.
		nb := b.removed(bit, i)
		for depth > 0 {
			switch {
			case len(nb.kids) == 0:
				depth--
				p := &path[depth]
				nb = p.b.removed(p.bit, p.b.index(p.bit))
			case len(nb.kids) == 1 && nb.kids[0].sub == nil:
				depth--
				p := &path[depth]
				nb = p.b.replaced(p.b.index(p.bit), nb.kids[0])
			default:
				n.Set(tx, nb)
				return true
			}
			n = path[depth].n
		}
		n.Set(tx, nb)
		return true
	}
}

// without returns the list e without k's entry, copying the entries before
// it (entries are shared, so never changed), and whether k was there.
func without[K comparable, V any](e *entry[K, V], k K) (*entry[K, V], bool) {
	if e == nil {
		return nil, false
	}
	if e.key == k {
		return e.next, true
	}
	rest, ok := without(e.next, k)
	if !ok {
		return e, false
	}
	c := *e
	c.next = rest
	return &c, true
}

// Update calls f once, with the value of k and whether k is present (the
// zero V and false if it is absent), and applies its answer in the same
// transaction, as Get followed by Set or Delete would:
//
//   - keep true: k is set to v, and added if it was absent (Len grows by
//     one). For a present key only its value Var is written.
//   - keep false, k present: k is deleted, as by Delete (Len shrinks by
//     one); v is ignored.
//   - keep false, k absent: nothing is written; m and Len are unchanged
//     and v is ignored. The transaction has still read that k is absent,
//     so it conflicts with a concurrent insert of k, and a Retry after it
//     wakes when k is added.
//
// f must not change m: its answer is applied to the lookup made before it
// ran.
func (m *Map[K, V]) Update(tx *stm.Tx, k K, f func(old V, ok bool) (v V, keep bool)) {
	m.check("Update")
	h := m.hash(k)
	e := m.find(tx, k, h)
	var old V
	if e != nil {
		old = e.val.Get(tx)
	}
	v, keep := f(old, e != nil)
	switch {
	case keep && e != nil:
		e.val.Set(tx, v)
	case keep:
		m.put(tx, k, h, v, true)
	case e != nil:
		m.delete(tx, k, h)
	}
}

// Len returns the number of keys in m. It reads every size stripe, so in
// a transaction that writes it conflicts with concurrent inserts and
// deletes (see the type's documentation); in stm.View it reads the
// snapshot's size and conflicts with nothing.
func (m *Map[K, V]) Len(tx *stm.Tx) int {
	m.check("Len")
	n := 0
	for i := range m.sizes {
		n += m.sizes[i].n.Get(tx)
	}
	return n
}
