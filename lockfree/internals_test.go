package lockfree

import (
	"testing"
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

func TestBucketLoadAllocs(t *testing.T) {
	m := NewBucketMap[int, int]()
	s := NewBucketMap[string, int]()
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
