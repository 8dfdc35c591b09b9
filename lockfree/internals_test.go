package lockfree

import (
	"fmt"
	"maps"
	"math/bits"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestBucketLayout(t *testing.T) {
	if s := unsafe.Sizeof(bmBucket[int, int]{}); s != cacheLineSize {
		t.Fatalf("bucket is %d bytes, want %d", s, cacheLineSize)
	}
}

func TestBucketMatch(t *testing.T) {
	for tag := uint64(0x80); tag <= 0xff; tag++ {
		for slot := range bmSlots {
			meta := uint64(0)
			for i := range bmSlots {
				other := tag ^ 1
				if i == slot {
					meta |= tag << (8 * i)
				} else if i%2 == 0 {
					meta |= other << (8 * i)
				}
			}
			if w := bmMatch(meta, tag); w == 0 || bmSlot(w) != slot || w&(w-1) != 0 {
				t.Fatalf("tag %#x in slot %d of %#x: match %#x", tag, slot, meta, w)
			}
		}
	}
	if w := bmEmpty(0x8081_8283_84); w != 0 {
		t.Fatalf("full meta has empty slots %#x", w)
	}
}

// TestBucketResize checks that the table really grows and shrinks (the
// model and linearizability tests rely on it doing so under them).
func TestBucketResize(t *testing.T) {
	m := NewBucketMap[int, int](WithPresize(1))
	if n := len(m.table.Load().buckets); n != 1 {
		t.Fatalf("initial buckets %d", n)
	}
	for i := range 10_000 {
		m.Store(i, i)
	}
	if n := len(m.table.Load().buckets); n < 2048 {
		t.Fatalf("after 10K inserts: %d buckets", n)
	}
	for i := range 10_000 {
		m.Delete(i)
	}
	if n := len(m.table.Load().buckets); n > 4 {
		t.Fatalf("after deleting everything: %d buckets", n)
	}
	g := NewBucketMap[int, int](WithPresize(1), WithGrowOnly())
	for i := range 1000 {
		g.Store(i, i)
	}
	n := len(g.table.Load().buckets)
	for i := range 1000 {
		g.Delete(i)
	}
	if len(g.table.Load().buckets) != n {
		t.Fatalf("grow-only map shrank")
	}
}

// TestLoadAllocs: Load allocates nothing in any variant, for a present and
// an absent key, int and string keys alike (the goal for BucketMap; the
// others hold to it too).
func TestLoadAllocs(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m, s := v.newII(), v.newSI()
			for i := range 1000 {
				m.Store(i, i)
				s.Store(string(rune('a'+i%26))+"key", i)
			}
			if a := testing.AllocsPerRun(1000, func() { m.Load(500); m.Load(5000) }); a != 0 {
				t.Fatalf("Load allocates %v times", a)
			}
			if a := testing.AllocsPerRun(1000, func() { s.Load("bkey"); s.Load("zzz") }); a != 0 {
				t.Fatalf("Load(string) allocates %v times", a)
			}
		})
	}
}

func TestSOListGrows(t *testing.T) {
	l := NewSOList[int, int]()
	for i := range 10_000 {
		l.Store(i, i)
	}
	if n := l.state.Load().buckets.Load(); n < 2048 {
		t.Fatalf("after 10K inserts: %d buckets", n)
	}
}

func TestSOListCellLayout(t *testing.T) {
	if s := unsafe.Sizeof(soCell{}); s != 32 {
		t.Fatalf("directory cell is %d bytes, want 32 (four to a cache line)", s)
	}
	var e soEntry[int, int]
	if unsafe.Pointer(&e) != unsafe.Pointer(&e.soLink) {
		t.Fatal("an entry's soLink is not at its start")
	}
}

// soCheck walks the whole list and checks its structure at quiescence:
// split-order keys never decrease; every node with an even key is either
// a marker (key 0) or the dummy inside its bucket's directory cell, linked
// and marked soLinked; every cell marked soLinked is in the list once; no
// deleted entry or marker is left (every writer that deleted has returned,
// and each unlinks what it deleted). It returns the number of entries.
func soCheck[K comparable, V any](t *testing.T, l *SOList[K, V]) int {
	t.Helper()
	s := l.state.Load()
	inList := map[*soLink]bool{s.head: true}
	entries := 0
	prev := s.head.so
	for n := s.head.next.Load(); n != nil; n = n.next.Load() {
		if n.so < prev {
			t.Fatalf("split-order key %#x after %#x", n.so, prev)
		}
		prev = n.so
		switch {
		case n.so == 0:
			t.Fatal("a marker is left in the list")
		case n.so&1 == 1:
			if soEntryOf[K, V](n).val.Load() == nil {
				t.Fatal("a deleted entry is left in the list")
			}
			entries++
		default:
			b := bits.Reverse64(n.so)
			c := s.cell(b)
			if n != &c.soLink {
				t.Fatalf("the dummy of bucket %d is not its directory cell's", b)
			}
			if st := c.state.Load(); st != soLinked {
				t.Fatalf("bucket %d's dummy is in the list in state %d", b, st)
			}
			if inList[n] {
				t.Fatalf("bucket %d's dummy is in the list twice", b)
			}
			inList[n] = true
		}
	}
	for seg := range s.dir {
		p := s.dir[seg].Load()
		if p == nil {
			continue
		}
		for i := range *p {
			c := &(*p)[i]
			if c.state.Load() == soLinked && !inList[&c.soLink] {
				t.Fatalf("segment %d cell %d is marked linked but not in the list", seg, i)
			}
		}
	}
	return entries
}

// TestSOListClaimedBucket: while one goroutine has claimed a bucket's
// dummy node and not yet linked it (here: forever), every operation on
// that bucket still completes, from the nearest linked ancestor, and no
// one else links the node. Once the claim is released the next operation
// links it in its place. A version that waited for the claimer, or that
// started at the unlinked node, fails here.
func TestSOListClaimedBucket(t *testing.T) {
	// Bucket of key k: its hash's low bits. Pick keys of buckets 3 and 1.
	l := NewSOList[int, int](WithPresize(4))
	s := l.state.Load()
	if nb := s.buckets.Load(); nb != 4 {
		t.Fatalf("%d buckets, want 4", nb)
	}
	var in3, in1 []int
	for k := 0; len(in3) < 20 || len(in1) < 20; k++ {
		switch l.hasher.hash(k) & 3 {
		case 3:
			in3 = append(in3, k)
		case 1:
			in1 = append(in1, k)
		}
	}
	stalled := s.cell(3)
	stalled.state.Store(soClaimed)
	within(t, 5*time.Second, "operations on a bucket claimed by a stalled goroutine", func() {
		for i, k := range in3[:4] { // few enough that the list does not grow
			l.Store(k, i)
		}
		for i, k := range in3[:4] {
			if v, ok := l.Load(k); !ok || v != i {
				t.Errorf("Load(%d) = %d, %v; want %d", k, v, ok, i)
			}
		}
		l.Delete(in3[0])
		if _, ok := l.Load(in3[0]); ok {
			t.Errorf("Load(%d) found a deleted key", in3[0])
		}
	})
	if stalled.next.Load() != nil || stalled.state.Load() != soClaimed {
		t.Fatal("another goroutine linked a claimed dummy")
	}
	if l.state.Load().cell(1).state.Load() != soLinked {
		t.Fatal("bucket 3's parent, bucket 1, was not linked on the way")
	}
	if n := soCheck(t, l); n != 3 {
		t.Fatalf("%d entries in the list, want 3", n)
	}
	stalled.state.Store(soFree)
	l.Store(in3[0], 100)
	if stalled.state.Load() != soLinked {
		t.Fatal("bucket 3's dummy was not linked after the claim was released")
	}
	for i, k := range in3[:4] {
		want := i
		if i == 0 {
			want = 100
		}
		if v, ok := l.Load(k); !ok || v != want {
			t.Fatalf("after linking: Load(%d) = %d, %v; want %d", k, v, ok, want)
		}
	}
	if n := soCheck(t, l); n != 4 {
		t.Fatalf("%d entries in the list, want 4", n)
	}
	// Many more keys: the table grows, every bucket gets its dummy.
	for i, k := range append(in3, in1...) {
		l.Store(k, i)
	}
	for k := range 5000 {
		l.Store(-1-k, k)
	}
	if n := soCheck(t, l); n != 5000+len(in3)+len(in1) {
		t.Fatalf("%d entries in the list, want %d", n, 5000+len(in3)+len(in1))
	}
}

// TestSOListConcurrentStructure: goroutines filling an empty list at once
// initialise its buckets concurrently (testHook yields between a claim and
// its link, so others find buckets claimed); then each deletes half its
// keys. At quiescence the list must be well formed (soCheck) and hold
// exactly the other half.
func TestSOListConcurrentStructure(t *testing.T) {
	const workers, per = 4, 3000
	for round := range 4 {
		l := NewSOList[int, int]()
		within(t, 30*time.Second, "concurrent fill", func() {
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range per {
						l.Store(w*per+i, i)
					}
					for i := 0; i < per; i += 2 {
						l.Delete(w*per + i)
					}
				})
			}
			wg.Wait()
		})
		if n := soCheck(t, l); n != workers*per/2 {
			t.Fatalf("round %d: %d entries in the list, want %d", round, n, workers*per/2)
		}
		for k := range workers * per {
			if _, ok := l.Load(k); ok != (k%per%2 == 1) {
				t.Fatalf("round %d: Load(%d) ok=%v", round, k, ok)
			}
		}
	}
}

func TestClickResize(t *testing.T) {
	m := NewClickMap[int, int](WithPresize(1))
	tableLen := func() int { return len(m.root.Load().kvs.Load().slots) }
	for i := range 10_000 {
		m.Store(i, i)
	}
	if n := tableLen(); n < 8192 {
		t.Fatalf("after 10K inserts: %d slots", n)
	}
	for i := range 10_000 {
		m.Delete(i)
	}
	// Tombstones are purged, and the table shrinks, by the copies that
	// later inserts trigger.
	for i := range 20_000 {
		m.Store(-1-i, i)
		m.Delete(-1 - i)
	}
	for i := range 100 {
		m.Store(i, i)
	}
	if n := tableLen(); n > 1024 {
		t.Fatalf("after deleting everything and churning: %d slots", n)
	}
	if m.Len() != 100 {
		t.Fatalf("Len %d", m.Len())
	}
}

// ctCheck walks c (quiescent: no operation in flight) and checks the
// Ctrie's structure: bitmap nodes only at levels 0, 6, ..., 60, one slot per
// bit, leaves in the slot their hash selects; lists only below level 60,
// with two or more distinct keys of one hash; no pending proposals (tombs
// may stay until an operation passes them); every main node of up to ctWidth slots allocated in one
// object with its slots right after the header. It returns the entries.
func ctCheck[K comparable, V any](t *testing.T, c *Ctrie[K, V]) map[K]V {
	t.Helper()
	got := map[K]V{}
	type at struct {
		lev    uint
		prefix uint64
	}
	inodes := map[at]*ctINode[K, V]{}
	var walk func(in *ctINode[K, V], lev uint, prefix uint64)
	walk = func(in *ctINode[K, V], lev uint, prefix uint64) {
		inodes[at{lev, prefix}] = in
		m := in.main.Load()
		if m.prev.Load() != nil {
			t.Fatalf("level %d: pending GCAS proposal at rest", lev)
		}
		if n := len(m.arr()); n > 0 && n <= ctWidth {
			if uintptr(unsafe.Pointer(&m.arr()[0])) != uintptr(unsafe.Pointer(m))+unsafe.Sizeof(*m) {
				t.Fatalf("level %d: slots not allocated with their header", lev)
			}
		}
		mask := uint64(1)<<lev - 1 // the hash bits the path so far fixed
		if lev >= 64 {
			mask = ^uint64(0)
		}
		leaf := func(s *ctLeaf[K, V]) {
			if s.hash != c.hasher.hash(s.key) {
				t.Fatalf("level %d: leaf of key %v holds hash %#x, not its own", lev, s.key, s.hash)
			}
			if s.hash&mask != prefix {
				t.Fatalf("level %d: leaf hash %#x off its path %#x", lev, s.hash, prefix)
			}
			if _, dup := got[s.key]; dup {
				t.Fatalf("key %v twice", s.key)
			}
			got[s.key] = s.value
		}
		switch m.kind {
		case ctCNode:
			if lev > 60 {
				t.Fatalf("bitmap node at level %d", lev)
			}
			if bits.OnesCount64(m.bmp) != len(m.arr()) {
				t.Fatalf("level %d: bitmap %#x for %d slots", lev, m.bmp, len(m.arr()))
			}
			if m.leaves&^m.bmp != 0 {
				t.Fatalf("level %d: leaf bits %#x outside the bitmap %#x", lev, m.leaves, m.bmp)
			}
			bmp := m.bmp
			for i := range m.arr() {
				idx := uint64(bits.TrailingZeros64(bmp))
				bmp &= bmp - 1
				if m.arr()[i] == nil {
					t.Fatalf("level %d: empty slot %d", lev, idx)
				}
				if m.leaves&(1<<idx) != 0 {
					s := m.leaf(i)
					if (s.hash>>lev)&(ctWidth-1) != idx {
						t.Fatalf("level %d: leaf hash %#x in slot %d", lev, s.hash, idx)
					}
					leaf(s)
				} else {
					walk(m.branch(i), lev+ctBits, prefix|idx<<lev)
				}
			}
		case ctTNode:
			if lev == 0 || len(m.arr()) != 1 || m.bmp != 0 || m.leaves != 0 {
				t.Fatalf("bad tomb at level %d", lev)
			}
			leaf(m.leaf(0))
		case ctLNode:
			if lev < ctMaxLv || len(m.arr()) < 2 {
				t.Fatalf("list of %d at level %d", len(m.arr()), lev)
			}
			for i := range m.arr() {
				if m.leaf(i).hash != m.leaf(0).hash {
					t.Fatalf("list at level %d: bad entry", lev)
				}
				leaf(m.leaf(i))
			}
		default:
			t.Fatalf("main node of kind %d at level %d", m.kind, lev)
		}
	}
	root := c.root.Load()
	walk(root, 0, 0)
	// The cache may hold anything of an older generation, and tombs; any
	// other INode it holds must be the one in the trie at its place.
	if cc := c.cache.Load(); cc != nil {
		for i := range cc.slots {
			ci := cc.slots[i].Load()
			if ci == nil || ci.gen != root.gen || ci.main.Load().kind == ctTNode {
				continue
			}
			if in := inodes[at{cc.lev, uint64(i)}]; in != ci {
				t.Fatalf("cache slot %#x (level %d) holds an INode of the current generation that is not in the trie there (the trie has %p)", i, cc.lev, in)
			}
		}
	}
	return got
}

// TestCtrieStructure drives the Ctrie with hashes that reach every level,
// the 4-bit top level (60) and the lists below it, and checks its structure
// and contents against a Go map after every step, and a snapshot's after
// the writes that followed it.
func TestCtrieStructure(t *testing.T) {
	hashers := map[string]func(int) uint64{
		// 16 keys per top nibble, differing only in bits 60..63, and
		// groups of 4 with one full hash: lists at level 66.
		"top": func(k int) uint64 { return uint64(k%16)<<60 | 0xabc },
		// keys spread over bits 48..63: levels 48, 54 and 60.
		"high": func(k int) uint64 { return uint64(k) << 48 },
		// one bucket per 8 keys at level 0, then the mixer.
		"mixed": func(k int) uint64 { return mix64(uint64(k/8), 1)&^63 | uint64(k%8) },
		"const": func(int) uint64 { return 42 },
	}
	for name, hf := range hashers {
		for _, lev := range []uint{0, 6, 12} {
			t.Run(fmt.Sprintf("%s/cache=%d", name, lev), func(t *testing.T) {
				t.Parallel()
				c := NewCtrie[int, int](WithHasher(hf))
				if lev > 0 {
					c = newCachedCtrie[int, int](lev, WithHasher(hf))
				}
				model := map[int]int{}
				seed := uint64(testSeed(t))
				r := xorshift(seed | 1)
				var snap *Ctrie[int, int]
				var snapModel map[int]int
				for i := range scale(4000) {
					x := r.next()
					k := int(x>>8) % 200
					switch x % 8 {
					case 0, 1, 2, 3:
						c.Store(k, i)
						model[k] = i
					case 4, 5:
						c.Delete(k)
						delete(model, k)
					case 6:
						v, ok := c.Load(k)
						if w, wok := model[k]; v != w || ok != wok {
							t.Fatalf("step %d: Load(%d) = %d,%v want %d,%v", i, k, v, ok, w, wok)
						}
					case 7:
						if x>>40%16 == 0 {
							snap, snapModel = c.Snapshot(), maps.Clone(model)
						}
					}
					if got := ctCheck(t, c); !maps.Equal(got, model) {
						t.Fatalf("step %d: contents %v, want %v", i, got, model)
					}
					for k := range 200 {
						v, ok := c.Load(k)
						if w, wok := model[k]; v != w || ok != wok {
							t.Fatalf("step %d: Load(%d) = %d,%v want %d,%v", i, k, v, ok, w, wok)
						}
					}
					if snap != nil {
						got := map[int]int{}
						for k, v := range snap.All() {
							got[k] = v
						}
						if !maps.Equal(got, snapModel) {
							t.Fatalf("step %d: snapshot %v, want %v", i, got, snapModel)
						}
						for k := range 200 {
							v, ok := snap.Load(k)
							if w, wok := snapModel[k]; v != w || ok != wok {
								t.Fatalf("step %d: snapshot Load(%d) = %d,%v want %d,%v", i, k, v, ok, w, wok)
							}
						}
					}
				}
				for k := range 200 {
					c.Delete(k)
				}
				if got := ctCheck(t, c); len(got) != 0 || c.Len() != 0 {
					t.Fatalf("not empty after deleting every key: %v", got)
				}
			})
		}
	}
}

// TestCtrieLoadDecidesPendingProposal: a Load that meets a GCAS proposal
// (installed, not yet committed) must decide it, not read through it.
// Otherwise a Snapshot taken next retires the generation, the proposal
// rolls back, and a value a Load already returned is undone. The state a
// writer leaves between its CAS and its commit is built by hand, so the
// check is deterministic; the concurrent tests reach that window only by
// chance.
func TestCtrieLoadDecidesPendingProposal(t *testing.T) {
	// Keys 0 and 64 share the root's slot 0 and part at level 6, so the
	// root's slot 0 is a child INode holding both.
	c := NewCtrie[int, int](WithHasher(func(k int) uint64 { return uint64(k) }))
	c.Store(0, 1)
	c.Store(64, 1)
	root := c.gcasRead(c.root.Load())
	if root.leaves != 0 {
		t.Fatal("keys 0 and 64 did not make a child node")
	}
	child := root.branch(0)
	old := c.gcasRead(child)
	flag, pos := ctFlagPos(0, ctBits, old.bmp)
	proposal := ctUpdatedAt(old, pos, flag, unsafe.Pointer(&ctLeaf[int, int]{key: 0, value: 2}), true, child.gen)
	proposal.prev.Store(old) // what gcas does before its CAS
	child.main.Store(proposal)

	v, _ := c.Load(0)
	c.Snapshot()
	if w, _ := c.Load(0); w != v {
		t.Fatalf("Load(0) returned %d, then %d after a Snapshot with no write between: the first Load read an undecided proposal", v, w)
	}
}

// TestCtrieCacheAfterSnapshot: after a Snapshot, the INodes in the cache
// belong to the snapshot's side too; a Load of the live map must not start
// at them once a write has renewed the path.
func TestCtrieCacheAfterSnapshot(t *testing.T) {
	c := newCachedCtrie[int, int](ctBits, WithHasher(func(k int) uint64 { return uint64(k) }))
	c.Store(0, 1)
	c.Store(64, 1) // keys 0 and 64 share the root's slot 0: an INode at level 6
	c.Load(0)      // caches it
	if c.cache.Load().slots[0].Load() == nil {
		t.Fatal("Load did not fill the cache")
	}
	s := c.Snapshot()
	c.Store(0, 2)
	if v, _ := c.Load(0); v != 2 {
		t.Fatalf("live Load(0) = %d after Store(0, 2) following a Snapshot: it started at a cached INode of the old generation", v)
	}
	if v, _ := s.Load(0); v != 1 {
		t.Fatalf("snapshot Load(0) = %d, want 1", v)
	}
	ctCheck(t, c)
}

// TestCtrieCacheSizing: the cache appears at the level the estimated entry
// count calls for, and goes away when the map empties.
func TestCtrieCacheSizing(t *testing.T) {
	for n, want := range map[int64]uint{0: 0, 8191: 0, 8192: 12, 524287: 12, 524288: 18, 1 << 40: 18} {
		if got := ctCacheLevelFor(n); got != want {
			t.Errorf("ctCacheLevelFor(%d) = %d, want %d", n, got, want)
		}
	}
	c := NewCtrie[int, int]()
	level := func() uint {
		if cc := c.cache.Load(); cc != nil {
			return cc.lev
		}
		return 0
	}
	const n = 20_000 // about 312 sampled keys: the estimate is within a few percent
	for i := range n {
		c.Store(i, i)
	}
	if l := level(); l != 12 {
		t.Fatalf("cache level %d after %d inserts, want 12 (sampled count %d)", l, n, c.size.sum())
	}
	for i := range n {
		c.Store(i, -i) // overwrites count nothing
	}
	if est := c.size.sum() * ctSample; est < n/2 || est > 2*n {
		t.Fatalf("estimated %d entries after %d inserts and as many overwrites", est, n)
	}
	for i := range n {
		c.Delete(i)
	}
	if l := level(); l != 0 || c.size.sum() != 0 {
		t.Fatalf("cache level %d, sampled count %d after deleting everything", l, c.size.sum())
	}
}

// TestCtrieRenewKeepsCurrentGeneration: renewing a bitmap node copies its
// children of older generations only. A child already of the current
// generation may be in the cache; had it been replaced by a copy, the
// cached one would be out of the trie but not a tomb, and Loads starting
// there would miss later writes. The mixed node (one child of an older
// generation, one of the current) is built by hand.
func TestCtrieRenewKeepsCurrentGeneration(t *testing.T) {
	c := newCachedCtrie[int, int](ctBits, WithHasher(func(k int) uint64 { return uint64(k) }))
	for _, k := range []int{0, 64, 1, 65} { // root slots 0 and 1: two INodes at level 6
		c.Store(k, 1)
	}
	root := c.root.Load()
	rm := c.gcasRead(root)
	flag, pos := ctFlagPos(0, 0, rm.bmp)
	a := rm.branch(pos)
	old := &ctINode[int, int]{gen: &ctGen{}} // slot 0's child, made older
	old.main.Store(c.gcasRead(a))
	root.main.Store(ctUpdatedAt(rm, pos, flag, unsafe.Pointer(old), false, root.gen))

	c.Load(1) // caches slot 1's child, of the current generation
	c.Load(0) // meets the older child: renews the root's node
	c.Store(1, 2)
	if v, _ := c.Load(1); v != 2 {
		t.Fatalf("Load(1) = %d after Store(1, 2): renewing the root's node replaced its current-generation child, and the cache still points at the old one", v)
	}
	ctCheck(t, c)
}

// TestCtrieDensify: the insert that brings a below-root bitmap node to
// ctDenseAt slots makes it dense (64 branches; its leaves and the new key
// one level down), after which inserts and deletes below it leave it in
// place, uncopied. Both ways of adding a key are checked: into an empty
// slot, and into a slot held by another key's leaf.
func TestCtrieDensify(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			// Keys k < 64 go to root slot 0 and to slot k of the node at
			// level 6; key 64+k goes to the same two slots as k and to
			// slot 1 at level 12.
			c := NewCtrie[int, int](WithHasher(func(k int) uint64 { return uint64(k) << ctBits }))
			model := map[int]int{}
			store := func(k int) {
				c.Store(k, -k)
				model[k] = -k
			}
			for k := range ctDenseAt - 1 {
				store(k)
			}
			level6 := func() *ctMain[int, int] {
				rm := c.gcasRead(c.root.Load())
				return c.gcasRead(rm.branch(0))
			}
			if m := level6(); len(m.arr()) != ctDenseAt-1 || m.leaves != m.bmp {
				t.Fatalf("before: %d slots, leaves %#x of %#x; want %d leaves", len(m.arr()), m.leaves, m.bmp, ctDenseAt-1)
			}
			last := ctDenseAt - 1 // the next empty slot
			if collide {
				last = 64 + 5 // slot 5, held by key 5's leaf
			}
			store(last)
			dense := level6()
			if dense.bmp != ^uint64(0) || dense.leaves != 0 || len(dense.arr()) != ctWidth {
				t.Fatalf("after the insert that reaches %d slots: bitmap %#x, leaves %#x, %d slots; want 64 branches", ctDenseAt, dense.bmp, dense.leaves, len(dense.arr()))
			}
			if got := ctCheck(t, c); !maps.Equal(got, model) {
				t.Fatalf("contents %v, want %v", got, model)
			}
			for k := range 200 {
				v, ok := c.Load(k)
				if w, wok := model[k]; v != w || ok != wok {
					t.Fatalf("Load(%d) = %d,%v want %d,%v", k, v, ok, w, wok)
				}
			}
			for _, k := range []int{63, 64 + 7, 128 + 7, 2} {
				store(k)
			}
			c.Delete(2)
			delete(model, 2)
			if level6() != dense {
				t.Fatal("a write below the dense node copied it")
			}
			if got := ctCheck(t, c); !maps.Equal(got, model) {
				t.Fatalf("contents %v, want %v", got, model)
			}
		})
	}
}

// TestCtrieMainLayout: a main node's header is 48 bytes (ctNewMain's array
// sizes fill size classes with it) and its slots follow it.
func TestCtrieMainLayout(t *testing.T) {
	if s := unsafe.Sizeof(ctMain[int, int]{}); s != 48 {
		t.Fatalf("main node header is %d bytes, want 48", s)
	}
	for n := 1; n <= 70; n++ {
		m := ctNewMain[int, int](n)
		if len(m.arr()) != n {
			t.Fatalf("ctNewMain(%d): %d slots", n, len(m.arr()))
		}
		if n <= ctWidth && uintptr(unsafe.Pointer(&m.arr()[0])) != uintptr(unsafe.Pointer(m))+48 {
			t.Fatalf("ctNewMain(%d): slots not right after the header", n)
		}
	}
}

// TestPlainAtomicLayout checks what bmAppend's plain stores rely on: the
// value of an atomic.Uint64 or atomic.Pointer is the first (and only
// non-zero-size) thing in it.
func TestPlainAtomicLayout(t *testing.T) {
	var b bmBucket[int, int]
	e := &bmEntry[int, int]{1, 2}
	*plainMeta(&b) = 0x8182
	*plainPtr(&b.slots[3]) = e
	*plainPtr(&b.next) = &b
	if b.meta.Load() != 0x8182 || b.slots[3].Load() != e || b.next.Load() != &b {
		t.Fatal("plain stores did not land in the atomic values")
	}
	if unsafe.Sizeof(b.meta) != 8 || unsafe.Sizeof(b.next) != unsafe.Sizeof(e) {
		t.Fatal("atomic.Uint64 or atomic.Pointer changed size")
	}
}

// TestOverwriteAllocs pins the allocations of an overwrite: one new entry
// or box per Store and Swap of a present key in BucketMap, ClickMap and
// SOList, a new leaf and a copy of its node in the Ctrie, none in
// StripedMap (its Go maps update in place). The closures these methods pass
// to update must stay on the stack; through the generic helpers of ops.go
// they would not.
func TestOverwriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	want := map[string]float64{"Striped": 0, "Ctrie": 2, "CtrieCache": 2}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m := v.newII()
			for i := range 1000 {
				m.Store(i, i)
			}
			w, ok := want[v.name]
			if !ok {
				w = 1
			}
			if a := testing.AllocsPerRun(1000, func() { m.Store(500, 1) }); a != w {
				t.Errorf("Store of a present key allocates %v times, want %v", a, w)
			}
			if a := testing.AllocsPerRun(1000, func() { m.Swap(500, 2) }); a != w {
				t.Errorf("Swap of a present key allocates %v times, want %v", a, w)
			}
		})
	}
}

// TestLoadOrStoreAllocs: inserting with LoadOrStore allocates exactly what
// inserting with Store does (its function value stays on the stack, see
// ops.go), and LoadOrStore of a present key allocates nothing.
func TestLoadOrStoreAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m := v.newII()
			for i := range 1000 {
				m.Store(i, i)
			}
			store := testing.AllocsPerRun(1000, func() { m.Store(-1, 1); m.Delete(-1) })
			los := testing.AllocsPerRun(1000, func() { m.LoadOrStore(-1, 1); m.Delete(-1) })
			if los != store {
				t.Errorf("insert and delete: %v allocations with LoadOrStore, %v with Store", los, store)
			}
			if a := testing.AllocsPerRun(1000, func() { m.LoadOrStore(500, 1) }); a != 0 {
				t.Errorf("LoadOrStore of a present key allocates %v times", a)
			}
		})
	}
}

// TestSmallIntKeys covers the hashing of integer keys narrower than 8
// bytes (a mixer over exactly the key's bytes): every variant stores and
// finds them, and the hash depends on every byte of the key (keys that
// differ only in their high byte get distinct hashes).
func TestSmallIntKeys(t *testing.T) {
	checkHasher(t, newKeyHasher[int8](&config{}), func(i int) int8 { return int8(i) }, 256)
	checkHasher(t, newKeyHasher[uint16](&config{}), func(i int) uint16 { return uint16(i) << 8 }, 256)
	checkHasher(t, newKeyHasher[int32](&config{}), func(i int) int32 { return int32(i) << 23 }, 256)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var m Map[int16, int]
			switch v.name {
			case "Bucket":
				m = NewBucketMap[int16, int]()
			case "Click":
				m = NewClickMap[int16, int]()
			case "Ctrie":
				m = NewCtrie[int16, int]()
			case "CtrieCache":
				m = newCachedCtrie[int16, int](ctBits)
			case "SOList":
				m = NewSOList[int16, int]()
			case "Striped":
				m = NewStripedMap[int16, int]()
			default:
				t.Fatalf("no int16 constructor for %s", v.name)
			}
			for i := -1000; i < 1000; i++ {
				m.Store(int16(i*31), i)
			}
			for i := -1000; i < 1000; i++ {
				if got, ok := m.Load(int16(i * 31)); !ok || got != i {
					t.Fatalf("Load(%d) = %d, %v; want %d", i*31, got, ok, i)
				}
			}
			if m.Len() != 2000 {
				t.Fatalf("Len = %d, want 2000", m.Len())
			}
		})
	}
}

func checkHasher[K comparable](t *testing.T, h keyHasher[K], key func(int) K, n int) {
	t.Helper()
	if h.intKey || h.fn == nil {
		t.Fatalf("%T: want the small-integer mixer", h)
	}
	seen := map[uint64]bool{}
	for i := range n {
		k := key(i)
		x := h.hash(k)
		if y := h.hash(k); y != x {
			t.Fatalf("%T: hash(%v) not stable: %x then %x", h, k, x, y)
		}
		seen[x] = true
	}
	if len(seen) != n {
		t.Fatalf("%T: %d distinct keys gave %d distinct hashes", h, n, len(seen))
	}
}

// TestSOListFirstValueInline: an inserted entry's value box is the one
// inside its node (no second allocation, no second object to read); an
// overwrite moves it to a box of its own, and a delete clears it.
func TestSOListFirstValueInline(t *testing.T) {
	l := NewSOList[int, int]()
	node := func(k int) *soEntry[int, int] {
		s := l.state.Load()
		h := l.hasher.hash(k)
		_, n, found := l.search(l.startFor(s, h), soRegular(h), &k)
		if !found {
			t.Fatalf("key %d not in the list", k)
		}
		return soEntryOf[int, int](n)
	}
	l.Store(7, 70)
	n := node(7)
	if n.val.Load() != &n.first || n.first.v != 70 {
		t.Fatalf("a new entry's value is not held in its node")
	}
	l.Store(7, 71)
	if b := n.val.Load(); b == &n.first || b.v != 71 {
		t.Fatalf("an overwrite did not install a box of its own")
	}
	if v, ok := l.Load(7); v != 71 || !ok {
		t.Fatalf("Load(7) = %d, %v after the overwrite", v, ok)
	}
	l.Delete(7)
	if n.val.Load() != nil {
		t.Fatal("a deleted entry still has a value")
	}
	if _, ok := l.Load(7); ok {
		t.Fatal("Load found a deleted key")
	}
}

// TestStringKeysSharingBytes checks the key comparison's shortcut for
// strings (equal when length and data pointer match): keys that are
// prefixes of one another share their data pointer and must still be told
// apart by length, and equal strings at different addresses, including
// empty ones, must still match. With a constant hash every key lands in
// one chain, so the comparison alone decides.
func TestStringKeysSharingBytes(t *testing.T) {
	for _, v := range variants {
		for _, collide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/collide=%v", v.name, collide), func(t *testing.T) {
				var opts []Option
				if collide {
					opts = append(opts, WithHasher(func(string) uint64 { return 7 }))
				}
				m := v.newSI(opts...)
				s := string([]byte("abcdefgh")) // one allocation; its prefixes share it
				m.Store(s[:3], 3)
				m.Store(s[:5], 5)
				m.Store(s, 8)
				m.Store("", 0)
				for _, c := range []struct {
					key  string
					want int
					ok   bool
				}{
					{s[:3], 3, true},
					{s[:4], 0, false}, // same data pointer as two stored keys, other length
					{strings.Clone(s[:5]), 5, true},
					{"abc", 3, true},
					{s[1:4], 0, false}, // same length as "abc", other bytes
					{s[2:2], 0, true},  // empty, data pointer inside s
					{s, 8, true},
				} {
					if got, ok := m.Load(c.key); got != c.want || ok != c.ok {
						t.Errorf("Load(%q) = %d, %v; want %d, %v", c.key, got, ok, c.want, c.ok)
					}
				}
				if n := m.Len(); n != 4 {
					t.Errorf("Len = %d, want 4", n)
				}
				m.Delete(s[:4]) // absent: must not delete s[:3] or s[:5]
				if _, ok := m.Load("abcde"); !ok || m.Len() != 4 {
					t.Errorf("Delete(%q) removed a key that shares its bytes", s[:4])
				}
			})
		}
	}
}

// TestBucketResizeOneAllocator checks that a writer that finds another
// already allocating the next table neither allocates one too nor freezes
// the table, and that the map goes on growing once that resize is done.
func TestBucketResizeOneAllocator(t *testing.T) {
	m := NewBucketMap[int, int]()
	for i := range 100 {
		m.Store(i, i)
	}
	tb := m.table.Load()
	tb.resizer.Store(true) // as if another writer were allocating tb.next
	m.resize(tb, 2*len(tb.buckets))
	if tb.next.Load() != nil {
		t.Fatal("a second writer allocated a new table for a table whose resize was already claimed")
	}
	tb.resizer.Store(false)
	for i := range 10_000 {
		m.Store(i, i)
	}
	if n := len(m.table.Load().buckets); n <= len(tb.buckets) {
		t.Fatalf("table has %d buckets after 10000 inserts, want more than %d", n, len(tb.buckets))
	}
	for i := range 10_000 {
		if v, ok := m.Load(i); !ok || v != i {
			t.Fatalf("Load(%d) = %d, %v", i, v, ok)
		}
	}
}
