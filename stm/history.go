package stm

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"gostm.dev/stm/internal/hook"
)

// Snapshot reads: a transaction that has written nothing, and finds a Var
// changed after its snapshot, can read the Var's newest version no newer
// than the snapshot instead of aborting, if the Var still has it. Vars keep
// their old versions only while someone may need them:
//
//   - while a snapshot reader is registered: a View, or the second attempt
//     of a read-only transaction whose first attempt aborted on a conflict;
//   - for keepAfter commits after the last snapshot read, so that a
//     read-only Atomically or Eval that follows a View, or another such
//     body, finds them without registering.
//
// A Var keeping history has histBit in its meta word, and its val points to
// a histNode: the newest version (the value the Var holds now), linked to
// the versions it replaced, newest first. Nodes are immutable once
// published except for their prev link, which a committer cuts to bound the
// chain; the garbage collector frees what falls off. When nobody needs
// history any more, the next commit to the Var publishes the plain form
// again and the chain becomes garbage.
//
// Why a registered reader always finds its versions: it increments
// snapReaders before reading the clock for its snapshot, and a committer
// loads snapReaders after its clock increment. All are sequentially
// consistent atomics, so if the committer did not see the registration,
// its increment came before the reader's clock load, and the reader's
// snapshot already includes the commit. Every commit newer than the
// snapshot therefore kept the version it replaced.

// histNode is one version of a Var keeping history: box and bits as a
// write entry holds them, valid from version ver until the next node up.
type histNode struct {
	ver   uint64
	box   unsafe.Pointer
	bits  uint64
	prev  atomic.Pointer[histNode]
	depth int32 // nodes below this one, as far as this chain knows
	limit int32 // the depth at which the next commit trims the chain (0: 2*keep)
}

// The flags of a Var keeping history. histBit marks a Var whose val is a
// *histNode. scalarBit marks one whose values are unboxed: its bits word
// holds the newest value too, so that reading the newest version (what
// almost every read of it does) loads no node: a node written by another
// core is a cache miss, and a long reader would pay one per Var.
const (
	histBit   = 4
	scalarBit = 8
)

// history is the state committers consult; it sits on its own cache line,
// read by every update commit and written only by snapshot readers.
var history struct {
	_       [64]byte
	readers atomic.Int64  // registered snapshot readers
	until   atomic.Uint64 // versions up to which commits keep history anyway
	oldest  atomic.Uint64 // the oldest recorded snapshot (see snapshots)
	keep    atomic.Int32  // nodes a chain keeps below its newest (grows on misses)
	_       [36]byte
}

// maxChain bounds a chain however old the oldest registered snapshot: a
// reader older than that many versions of a Var starts again.
const maxChain = 1 << 12

// snapshots are the snapshots registered readers have recorded, so that a
// commit trimming a chain keeps the versions they still need. They change
// when a registered attempt starts or a registration ends, under mu, which
// also publishes their minimum in history.oldest for committers to read
// without locking.
var snapshots struct {
	mu  sync.Mutex
	rvs []recorded
}

type recorded struct {
	tx *Tx
	rv uint64
}

// recordSnapshot records tx.rv as the snapshot of the registered reader tx.
//
// With fresh set, it first takes a new snapshot for tx (at the start of an
// attempt, before anything is read): under the lock, it lowers
// history.oldest to the clock before loading the clock for tx.rv, so that
// a commit trimming a chain either sees an oldest no newer than tx.rv or
// took its version before tx.rv (its node is then at or below what tx
// needs, and stays). A snapshot taken outside the lock could be trimmed
// away while its goroutine waits for the lock or is descheduled.
//
// Without fresh (a transaction registering with reads already made), the
// versions trimmed before the call are lost to it; the count bound
// (history.keep) is its protection until then.
func (tx *Tx) recordSnapshot(fresh bool) {
	snapshots.mu.Lock()
	defer snapshots.mu.Unlock()
	if fresh {
		history.oldest.Store(min(history.oldest.Load(), clock.v.Load()>>1))
		tx.rv = clock.v.Load() >> 1
	}
	i := slices.IndexFunc(snapshots.rvs, func(r recorded) bool { return r.tx == tx })
	if i < 0 {
		snapshots.rvs = append(snapshots.rvs, recorded{tx: tx})
		i = len(snapshots.rvs) - 1
	}
	snapshots.rvs[i].rv = tx.rv
	publishOldest()
	tx.recorded = true
}

// forgetSnapshot drops tx's recorded snapshot.
func (tx *Tx) forgetSnapshot() {
	snapshots.mu.Lock()
	defer snapshots.mu.Unlock()
	snapshots.rvs = slices.DeleteFunc(snapshots.rvs, func(r recorded) bool { return r.tx == tx })
	publishOldest()
	tx.recorded = false
}

// publishOldest stores the oldest recorded snapshot in history.oldest (the
// largest version if none); snapshots.mu is held.
func publishOldest() {
	oldest := ^uint64(0)
	for _, r := range snapshots.rvs {
		oldest = min(oldest, r.rv)
	}
	history.oldest.Store(oldest)
}

// trim cuts the chain below n (a node being published) so that it keeps
// at least keep nodes below n, and every node a registered snapshot still
// needs, up to maxChain; it returns how many it kept.
func trim(n *histNode, keep int32) int32 {
	oldest := history.oldest.Load()
	c, d := n, int32(0)
	for d < keep || (c.ver > oldest && d < maxChain) {
		p := c.prev.Load()
		if p == nil {
			return d
		}
		c, d = p, d+1
	}
	c.prev.Store(nil)
	return d
}

// registerIfCovered registers tx, a transaction that has read
// extendFirstReads Vars and written nothing (so may be a long reader), as
// a snapshot reader if every commit since its snapshot has kept history:
// then it can read its snapshot's versions from now on, whatever the
// writers do and however long it is descheduled. tx.until0 was loaded
// before the snapshot's clock load, and history.until never decreases, so
// a commit newer than the snapshot saw an until at least tx.until0; if
// that covers the clock now, every such commit so far kept history.
func (tx *Tx) registerIfCovered() {
	if tx.registered || tx.noPast || tx.irrevocable || tx.until0 < clock.v.Load()>>1 {
		return
	}
	// Register first, then check again: a commit after this clock load
	// sees the registration.
	tx.registerSnapshot()
	if tx.until0 < clock.v.Load()>>1 {
		tx.unregisterSnapshot()
		return
	}
	tx.recordSnapshot(false)
}

// keepAfter is how many commits keep history after the last snapshot read
// that used it.
const keepAfter = 1 << 16

// Bounds of history.keep: a chain starts short and doubles, up to
// maxKeep, each time a snapshot read finds the version it needs cut off.
const (
	minKeep = 8
	maxKeep = 1024
)

func init() {
	history.keep.Store(minKeep)
	history.oldest.Store(^uint64(0))
}

// keepingHistory reports whether a commit with write version wv must keep
// the versions it replaces. It must be called after the commit's clock
// increment (see the argument above).
func keepingHistory(wv uint64) bool {
	if history.readers.Load() == 0 && wv > history.until.Load() {
		return false
	}
	// The PublishBeforeLock mutation writes values back unlocked, which a
	// Var keeping history cannot take (see commitPublishingEarly).
	return !hook.On(hook.PublishBeforeLock)
}

// registerSnapshot makes tx a registered snapshot reader; it must come
// before the clock load of the snapshot it protects, and every snapshot
// tx takes while registered must be published with recordSnapshot.
func (tx *Tx) registerSnapshot() {
	tx.registered = true
	history.readers.Add(1)
}

// unregisterSnapshot ends tx's registration and keeps history for a while
// longer, for the read-only transactions that may follow.
func (tx *Tx) unregisterSnapshot() {
	if tx.recorded {
		tx.forgetSnapshot()
	}
	tx.registered = false
	history.readers.Add(-1)
	extendHistory()
}

// extendHistory keeps history for keepAfter commits from now, or leaves
// the period as it is if more than half of it is still ahead: callers on
// a slow path (a long reader's every conflict) then share the line
// instead of writing it each time.
func extendHistory() {
	want := clock.v.Load()>>1 + keepAfter
	for {
		u := history.until.Load()
		if u >= want-keepAfter/2 || history.until.CompareAndSwap(u, want) {
			return
		}
	}
}

// historyMiss records that a snapshot read found its version cut off: the
// chains grow, so that the next reader of that kind finds it.
func historyMiss() {
	for {
		k := history.keep.Load()
		if k >= maxKeep || history.keep.CompareAndSwap(k, 2*k) {
			return
		}
	}
}

// node returns the node a Var keeping history points to.
func node(p unsafe.Pointer) *histNode { return (*histNode)(p) }

// current decodes a consistent (meta, val, bits) triple into the Var's
// newest value, as a write entry holds it.
func current(m uint64, p unsafe.Pointer, bits uint64) (unsafe.Pointer, uint64) {
	if m&histBit != 0 {
		if m&scalarBit != 0 {
			return scalarMark, bits
		}
		n := node(p)
		return n.box, n.bits
	}
	return p, bits
}

// versionAt returns the version of the Var whose newest node is n that was
// current at snapshot rv, or nil if the chain no longer reaches back to it.
func versionAt(n *histNode, rv uint64) *histNode {
	for n != nil && n.ver > rv {
		n = n.prev.Load()
	}
	return n
}

// nodeSlab hands out the nodes one commit needs to keep history. The
// nodes are allocated together, before the commit takes its locks, so
// that a garbage collection triggered by the allocation never stretches
// the time the locks are held (readers and other commits wait it out).
type nodeSlab []histNode

// historyLikely reports, before a commit locks anything, whether it will
// probably keep history, so that it allocates the nodes first. now is a
// recent version (the transaction's snapshot): loading the clock, whose
// line the commit is about to write, would cost a transfer of the line.
func historyLikely(now uint64) bool {
	return history.readers.Load() != 0 || now < history.until.Load()
}

// newSlab returns room for n nodes.
func newSlab(n int) nodeSlab { return make(nodeSlab, 0, n) }

// slabFor returns the nodes tx's commit will probably need: one per Var
// written, and one more for the old value of each not keeping history yet.
// The count is read before locking, so it can be short; next makes up.
func (tx *Tx) slabFor() nodeSlab {
	n := len(tx.writes)
	for i := range tx.writes {
		if tx.writes[i].v.meta.Load()&histBit == 0 {
			n++
		}
	}
	return newSlab(n)
}

func (s *nodeSlab) next() *histNode {
	if len(*s) == cap(*s) {
		return new(histNode) // the count before locking fell short
	}
	*s = (*s)[:len(*s)+1]
	return &(*s)[len(*s)-1]
}

// writeBackKeeping publishes box and bits as b's new value at version wv,
// keeping the value they replace: b is locked by the caller, and old is
// its meta word before locking. Its nodes come from slab.
func (b *varBase) writeBackKeeping(box unsafe.Pointer, bits, old, wv uint64, slab *nodeSlab) {
	p := atomic.LoadPointer(&b.val)
	var prev *histNode
	if old&histBit != 0 {
		prev = node(p)
	} else {
		prev = slab.next()
		prev.ver, prev.box, prev.bits = old>>verShift, p, b.bits.Load()
	}
	n := slab.next()
	n.ver, n.box, n.bits, n.depth, n.limit = wv, box, bits, prev.depth+1, prev.limit
	n.prev.Store(prev)
	if keep := history.keep.Load(); n.depth > max(n.limit, 2*keep) {
		// Trim, then let the chain double before trimming again: each
		// trim walks the chain, so amortized a commit walks one node.
		n.depth = trim(n, keep)
		n.limit = 2 * n.depth
	}
	atomic.StorePointer(&b.val, unsafe.Pointer(n))
	if box == scalarMark {
		b.bits.Store(bits)
		b.meta.Store(wv<<verShift | histBit | scalarBit)
		return
	}
	b.meta.Store(wv<<verShift | histBit)
}

// writeBack publishes box and bits as b's new value at version wv, which
// b's lock (held by the caller; old is the meta word before locking)
// releases, keeping the replaced value in nodes from slab if slab is not
// nil.
func (b *varBase) writeBack(box unsafe.Pointer, bits, old, wv uint64, slab *nodeSlab) {
	if slab != nil {
		b.writeBackKeeping(box, bits, old, wv, slab)
		return
	}
	b.publish(box, bits)
	b.meta.Store(wv << verShift)
}
