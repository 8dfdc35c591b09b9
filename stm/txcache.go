package stm

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Every transaction needs a Tx, whose logs are worth keeping for the next
// one. A sync.Pool round trip was a third of an empty transaction, so most
// transactions use a Tx owned by a slot of a small table instead, the slot
// chosen by the address of the goroutine's stack: goroutines running at
// the same time have different stacks, so they rarely meet on a slot, and
// taking or returning a slot's Tx is one atomic operation on a flag, on a
// cache line that stays with its core. The flag is an integer, so neither
// operation needs a write barrier while the garbage collector runs. A
// transaction that finds its slots taken uses a Tx from a sync.Pool, as
// up to bigSlots of the slots' Txs may keep large logs (those of big
// transactions, which then allocate nothing in steady state); the others
// give them back. The table thus holds under a megabyte of small logs and
// a few large ones, and the pool's large logs are freed by the garbage
// collector when unused.

// cacheSlots is the number of slots; a power of two.
const cacheSlots = 64

// cacheProbes is how many neighbouring slots getTx tries.
const cacheProbes = 2

type txSlot struct {
	taken atomic.Uint32
	tx    *Tx // made by the slot's first user, then the slot's for good
	_     [48]byte
}

var txSlots [cacheSlots]txSlot

// fromPool marks a Tx that is not a slot's.
const fromPool = ^uint32(0)

// The largest logs a slot's Tx keeps unless it is one of the bigSlots, in
// entries.
const (
	slotReads  = 512
	slotWrites = 128
)

// bigSlots is how many slots' Txs may keep logs larger than that (up to
// keepReads and keepWrites); bigKept counts them.
const bigSlots = 4

var bigKept atomic.Int32

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
	return uint32(uint64(uintptr(unsafe.Pointer(&marker))>>11) * 0x9E3779B97F4A7C15 >> 58)
}

func getTx() *Tx {
	if debugOwner {
		// Never reuse a Tx in debug mode, so a Tx kept past its transaction
		// is always recognised as ended.
		return &Tx{rng: seedRand(), slot: fromPool}
	}
	h := slotHint()
	for i := range uint32(cacheProbes) {
		k := (h + i) % cacheSlots
		s := &txSlots[k]
		// A load first: no exclusive cache line for a taken slot.
		if s.taken.Load() == 0 && s.taken.CompareAndSwap(0, 1) {
			tx := s.tx
			if tx == nil {
				tx = &Tx{rng: seedRand()}
				s.tx = tx
			}
			tx.slot = k
			return tx
		}
	}
	tx := txPool.Get().(*Tx)
	tx.slot = fromPool
	return tx
}

func putTx(tx *Tx) {
	tx.reset()
	tx.state = txIdle
	if debugOwner {
		return
	}
	if tx.slot != fromPool {
		if cap(tx.reads) > slotReads || cap(tx.writes) > slotWrites || tx.index.size() != 0 {
			tx.keepLargeLogs()
		}
		txSlots[tx.slot].taken.Store(0)
		return
	}
	tx.trimLogs()
	txPool.Put(tx)
}

// keepLargeLogs decides whether a slot's Tx keeps the large logs it has:
// only bigSlots of them may.
func (tx *Tx) keepLargeLogs() {
	if !tx.big {
		if bigKept.Add(1) > bigSlots {
			bigKept.Add(-1)
			tx.reads, tx.writes, tx.undo, tx.index = nil, nil, nil, writeIndex{}
			return
		}
		tx.big = true
	}
	tx.trimLogs()
}

// trimLogs drops logs too large to keep.
func (tx *Tx) trimLogs() {
	if cap(tx.reads) > keepReads {
		tx.reads = nil
	}
	if cap(tx.writes) > keepWrites {
		tx.writes, tx.undo = nil, nil
	}
	if tx.index.size() > 2*keepWrites {
		tx.index = writeIndex{}
	}
}
