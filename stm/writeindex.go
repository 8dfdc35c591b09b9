package stm

import "unsafe"

// indexAbove is the write-set size beyond which lookups use the index
// instead of a Bloom-filtered linear scan of the write log.
const indexAbove = 32

// writeIndex maps a written Var to its write-log entry once the write set
// is large. It is an open-addressing table of log positions stamped with a
// generation: a slot whose stamp is not the current one is empty, so
// ending a transaction empties the table by bumping the generation instead
// of clearing it, and a Tx keeps the table for its next large transaction.
// The table holds no pointers (a slot names a log entry, whose Var is
// compared), so a pooled Tx keeps no Var alive through it.
type writeIndex struct {
	slots []uint64 // gen<<32 | log position
	gen   uint32
	on    bool // the current transaction uses the index
}

// size is the number of slots kept.
func (x *writeIndex) size() int { return len(x.slots) }

// reset empties the index for the next transaction.
func (x *writeIndex) reset() {
	if !x.on {
		return
	}
	x.on = false
	x.nextGen()
}

func (x *writeIndex) nextGen() {
	x.gen++
	if x.gen == 0 {
		// The stamps wrapped: old slots could look current again.
		clear(x.slots)
		x.gen = 1
	}
}

// build indexes every entry of writes, growing the table if needed.
func (x *writeIndex) build(writes []writeEntry) {
	n := 64
	for n < 4*len(writes) {
		n *= 2
	}
	if n > len(x.slots) {
		x.slots = make([]uint64, n)
		x.gen = 0
	}
	x.nextGen()
	x.on = true
	for i := range writes {
		x.insert(writes[i].v, i)
	}
}

// add indexes entry i of writes, the Var b, growing the table when it is
// half full.
func (x *writeIndex) add(b *varBase, i int, writes []writeEntry) {
	if 2*len(writes) > len(x.slots) {
		x.build(writes)
		return
	}
	x.insert(b, i)
}

func (x *writeIndex) insert(b *varBase, i int) {
	mask := uint64(len(x.slots) - 1)
	cur := uint64(x.gen) << 32
	for h := indexHash(b) & mask; ; h = (h + 1) & mask {
		if x.slots[h]&^(1<<32-1) != cur {
			x.slots[h] = cur | uint64(i)
			return
		}
	}
}

// find returns the log position of b, or -1.
func (x *writeIndex) find(b *varBase, writes []writeEntry) int {
	mask := uint64(len(x.slots) - 1)
	cur := uint64(x.gen) << 32
	for h := indexHash(b) & mask; ; h = (h + 1) & mask {
		s := x.slots[h]
		if s&^(1<<32-1) != cur {
			return -1
		}
		if i := int(uint32(s)); writes[i].v == b {
			return i
		}
	}
}

// indexHash spreads Var addresses (multiples of 8, often of 24) over the
// table.
func indexHash(b *varBase) uint64 {
	h := uint64(uintptr(unsafe.Pointer(b))) * 0x9E3779B97F4A7C15
	return h ^ h>>29
}
