package tvar

import (
	"iter"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"gostm.dev/stm"
)

// Range returns an iterator over the keys and values of m in tx. It must be
// used inside tx's transaction. Commits of other transactions never show
// through: every pair comes from tx's consistent snapshot plus tx's own
// writes, so iterating to the end without changing m gives exactly the
// committed contents plus what tx wrote before the loop.
//
// Keys come in an order set by their hashes, which is unspecified but does
// not change during a loop. The loop body may change m in the same
// transaction, with these rules (Go's for a map, made exact):
//
//   - Each key is yielded at most once.
//   - A key is yielded if and only if it is present in tx when the loop
//     reaches its place in the order. So a key deleted before it is
//     reached is not yielded; one deleted and set again before it is
//     reached is yielded once, with its new value; a key added during the
//     loop is yielded if its place is ahead of the loop, and, since the
//     order is unspecified, may or may not be.
//   - The value yielded with a key is its value in tx at the moment it is
//     yielded, including changes the loop body made earlier.
//
// Setting the values of present keys during the loop costs nothing extra.
// An insert or delete makes the loop find its place again from the root
// (a few reads) before it goes on. A full iteration reads every node and
// value, so in a transaction that writes it conflicts with any concurrent
// write to m; a loop that only reads is best run in stm.View, where it
// reads one snapshot and is never aborted by writers.
func (m *Map[K, V]) Range(tx *stm.Tx) iter.Seq2[K, V] {
	m.check("Range")
	return func(yield func(K, V) bool) {
		l := m.loops.start(tx)
		defer m.loops.stop(l)
		m.rangeLoop(tx, l, yield)
	}
}

func (m *Map[K, V]) rangeLoop(tx *stm.Tx, l *loop, yield func(K, V) bool) {
	var c cursor[K, V]
	c.stack[0] = frame[K, V]{kids: m.root.Get(tx).kids}
	for list := c.next(tx); list != nil; list = c.next(tx) {
		// The keys of this hash already yielded, to skip when the list is
		// found again after the loop body changed m, and in a list of
		// colliding keys, whose order a change can reorder. One fits in
		// buf, so the common case allocates nothing.
		var buf [1]K
		done := buf[:0]
		h := list.hash
		for e := list; e != nil; {
			if len(done) > 0 && slices.Contains(done, e.key) {
				e = e.next
				continue
			}
			if !yield(e.key, e.val.Get(tx)) {
				return
			}
			changed := l.changed.Load()
			if changed || list.next != nil {
				done = append(done, e.key)
			}
			if !changed {
				e = e.next
				continue
			}
			// The loop body inserted or deleted a key: the nodes on the
			// stack may be stale, or no longer in the trie at all. Find
			// this place again in the trie as tx sees it now, and go on
			// with the keys of this hash not yet yielded.
			l.changed.Store(false)
			list = c.seek(tx, m.root, h)
			e = list
		}
	}
}

// cursor is a depth-first walk over the trie in slot order: the position
// of a key is its hash read 5 bits at a time from the low end, the order
// in which the trie branches. Each frame holds one node's children as read
// when the walk entered it, and the next child to visit.
type cursor[K comparable, V any] struct {
	stack [maxDepth]frame[K, V]
	sp    int // the top frame
}

type frame[K comparable, V any] struct {
	kids []kid[K, V]
	i    int
}

// next returns the next list of entries in order, or nil at the end.
func (c *cursor[K, V]) next(tx *stm.Tx) *entry[K, V] {
	for c.sp >= 0 {
		f := &c.stack[c.sp]
		if f.i == len(f.kids) {
			c.sp--
			continue
		}
		kd := f.kids[f.i]
		f.i++
		if kd.sub == nil {
			return kd.first
		}
		c.sp++
		c.stack[c.sp] = frame[K, V]{kids: kd.sub.Get(tx).kids}
	}
	return nil
}

// seek rebuilds the stack from the trie as tx sees it now, so that next
// goes on with the first list after hash h in order, and returns the list
// of keys with hash h, or nil if there is none.
func (c *cursor[K, V]) seek(tx *stm.Tx, root *stm.Var[branch[K, V]], h uint64) *entry[K, V] {
	b := root.Get(tx)
	for depth := 0; ; depth++ {
		bit := slotBit(h, depth)
		i := b.index(bit)
		c.sp = depth
		c.stack[depth] = frame[K, V]{b.kids, i}
		if b.bitmap&bit == 0 {
			return nil // kids[i] is the first child after h's slot
		}
		kd := b.kids[i]
		switch {
		case kd.sub != nil:
			c.stack[depth].i = i + 1
			b = kd.sub.Get(tx)
		case kd.first.hash == h:
			c.stack[depth].i = i + 1
			return kd.first
		default:
			// Another hash on h's path so far: it is the next list if it
			// comes after h.
			if !hashBefore(h, kd.first.hash) {
				c.stack[depth].i = i + 1
			}
			return nil
		}
	}
}

// hashBefore reports whether a comes before b in the walk's order: by the
// first 5-bit group, counted from the low end, in which they differ.
func hashBefore(a, b uint64) bool {
	if a == b {
		return false
	}
	shift := uint(bits.TrailingZeros64(a^b)) / levelBits * levelBits
	return a>>shift&levelMask < b>>shift&levelMask
}

// loops lists the Range loops in progress on one map, so that an insert
// or delete can tell the loops of its own transaction that the nodes they
// hold may be stale. A loop needs to know: it reads each node once, and a
// body that deletes keys ahead of it would otherwise see them again with
// their old values. The Vars cannot tell it (a loop reading them again
// would grow the transaction's read set by every node, every key), and
// nothing else outside the Vars is per transaction, so the map keeps the
// list. Inserts and deletes pay one atomic load while no loop runs.
type loops struct {
	active atomic.Int32 // len(list), readable without mu
	mu     sync.Mutex
	list   []*loop
}

// loop is one Range loop: the transaction it runs in, and whether that
// transaction has inserted or deleted a key since the loop last looked.
type loop struct {
	tx      *stm.Tx
	changed atomic.Bool
}

func (ls *loops) start(tx *stm.Tx) *loop {
	l := &loop{tx: tx}
	//stmvet:ignore a short critical section with no Var access inside: an abort cannot leave it held, and the list belongs to the map, not to the attempt (stop is deferred)
	ls.mu.Lock()
	ls.list = append(ls.list, l)
	ls.active.Add(1)
	//stmvet:ignore a short critical section with no Var access inside: an abort cannot leave it held, and the list belongs to the map, not to the attempt (stop is deferred)
	ls.mu.Unlock()
	return l
}

func (ls *loops) stop(l *loop) {
	ls.mu.Lock()
	i := slices.Index(ls.list, l)
	ls.list = slices.Delete(ls.list, i, i+1)
	ls.active.Add(-1)
	ls.mu.Unlock()
}

// changed tells the loops of tx that tx inserted or deleted a key. Only
// tx's own loops care: other transactions' changes are not in tx's
// snapshot.
func (ls *loops) changed(tx *stm.Tx) {
	if ls.active.Load() == 0 {
		return
	}
	//stmvet:ignore a short critical section with no Var access inside: an abort cannot leave it held, and the list belongs to the map, not to the attempt (stop is deferred)
	ls.mu.Lock()
	for _, l := range ls.list {
		if l.tx == tx {
			l.changed.Store(true)
		}
	}
	//stmvet:ignore a short critical section with no Var access inside: an abort cannot leave it held, and the list belongs to the map, not to the attempt (stop is deferred)
	ls.mu.Unlock()
}
