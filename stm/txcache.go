package stm

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Every transaction needs a Tx, whose logs are worth keeping for the next
// one. A sync.Pool round trip was a third of an empty transaction, so a
// Tx with small logs is cached in a table of slots instead, the slot
// chosen by the address of the goroutine's stack: goroutines running at
// the same time have different stacks, so they rarely meet on a slot, and
// taking or returning a Tx is one atomic exchange on a cache line that
// stays with its core. A Tx with large logs goes to a sync.Pool, which
// lets the garbage collector free them: the table never holds more than
// cacheSlots small Txs (under a megabyte in all).

// cacheSlots is the number of slots; a power of two.
const cacheSlots = 64

// cacheProbes is how many neighbouring slots getTx and putTx try.
const cacheProbes = 2

type txSlot struct {
	tx atomic.Pointer[Tx]
	_  [56]byte // a slot per cache line
}

var txSlots [cacheSlots]txSlot

// The largest logs a cached Tx may keep, in entries.
const (
	slotReads  = 512
	slotWrites = 128
)

// The largest logs a pooled Tx keeps between transactions, in entries:
// large transactions allocate nothing in steady state, but a rare giant
// one does not pin its logs.
const (
	keepReads  = 1 << 14
	keepWrites = 1 << 13
)

var txPool = sync.Pool{New: func() any { return &Tx{rng: seedRand()} }}

var seedCounter atomic.Uint64

func seedRand() uint64 { return seedCounter.Add(0x9E3779B97F4A7C15) | 1 }

// slotHint picks the goroutine's first slot from the address of a local
// variable. Stacks move when they grow; that only changes the hint.
func slotHint() uint32 {
	var marker byte
	return uint32(uint64(uintptr(unsafe.Pointer(&marker))>>12) * 0x9E3779B97F4A7C15 >> 58)
}

func getTx() *Tx {
	if debugOwner {
		// Never reuse a Tx in debug mode, so a Tx kept past its transaction
		// is always recognised as ended.
		return &Tx{rng: seedRand()}
	}
	h := slotHint()
	for i := range uint32(cacheProbes) {
		s := &txSlots[(h+i)%cacheSlots]
		if s.tx.Load() != nil { // a load first: no exclusive cache line for an empty slot
			if tx := s.tx.Swap(nil); tx != nil {
				tx.slot = h
				return tx
			}
		}
	}
	tx := txPool.Get().(*Tx)
	tx.slot = h
	return tx
}

func putTx(tx *Tx) {
	tx.reset()
	tx.state = txIdle
	if debugOwner {
		return
	}
	if cap(tx.reads) <= slotReads && cap(tx.writes) <= slotWrites && cap(tx.undo) <= slotWrites &&
		tx.index.size() == 0 && cap(tx.hooks) <= slotWrites {
		for i := range uint32(cacheProbes) {
			s := &txSlots[(tx.slot+i)%cacheSlots]
			if s.tx.Load() == nil && s.tx.CompareAndSwap(nil, tx) {
				return
			}
		}
	}
	if cap(tx.reads) > keepReads {
		tx.reads = nil
	}
	if cap(tx.writes) > keepWrites {
		tx.writes, tx.undo = nil, nil
	}
	if tx.index.size() > 2*keepWrites {
		tx.index = writeIndex{}
	}
	txPool.Put(tx)
}
