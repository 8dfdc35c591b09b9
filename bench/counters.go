package bench

import (
	"expvar"
	"runtime/metrics"

	"gostm.dev/stm"
)

// Counters are an engine's process-wide event counts: aborts by cause and
// blocking in Retry. The causes are gostm's; an engine that tells less
// fills in what it knows (anacrolix/stm only counts failed commits, which
// are validation failures).
type Counters struct {
	Aborts      uint64 `json:"aborts"` // the sum of the causes
	LockedRead  uint64 `json:"locked_read"`
	Extend      uint64 `json:"extend"`
	LockBusy    uint64 `json:"lock_busy"`
	Validate    uint64 `json:"validate"`
	Serial      uint64 `json:"serial"`
	StalePanic  uint64 `json:"stale_panic"`
	HistoryMiss uint64 `json:"history_miss"` // a snapshot read found its version no longer kept
	PastWrite   uint64 `json:"past_write"`   // a body that had read past versions wrote
	Blocks      uint64 `json:"blocks"`       // transactions that blocked in Retry
	Wakeups     uint64 `json:"wakeups"`      // commits that woke blocked transactions
	Irrevocable uint64 `json:"irrevocable"`  // attempts run in serial irrevocable mode
}

// Sub returns c − old, field by field.
func (c Counters) Sub(old Counters) Counters {
	return Counters{
		Aborts:      c.Aborts - old.Aborts,
		LockedRead:  c.LockedRead - old.LockedRead,
		Extend:      c.Extend - old.Extend,
		LockBusy:    c.LockBusy - old.LockBusy,
		Validate:    c.Validate - old.Validate,
		Serial:      c.Serial - old.Serial,
		StalePanic:  c.StalePanic - old.StalePanic,
		HistoryMiss: c.HistoryMiss - old.HistoryMiss,
		PastWrite:   c.PastWrite - old.PastWrite,
		Blocks:      c.Blocks - old.Blocks,
		Wakeups:     c.Wakeups - old.Wakeups,
		Irrevocable: c.Irrevocable - old.Irrevocable,
	}
}

// Add returns c + o, field by field.
func (c Counters) Add(o Counters) Counters {
	return Counters{
		Aborts:      c.Aborts + o.Aborts,
		LockedRead:  c.LockedRead + o.LockedRead,
		Extend:      c.Extend + o.Extend,
		LockBusy:    c.LockBusy + o.LockBusy,
		Validate:    c.Validate + o.Validate,
		Serial:      c.Serial + o.Serial,
		StalePanic:  c.StalePanic + o.StalePanic,
		HistoryMiss: c.HistoryMiss + o.HistoryMiss,
		PastWrite:   c.PastWrite + o.PastWrite,
		Blocks:      c.Blocks + o.Blocks,
		Wakeups:     c.Wakeups + o.Wakeups,
		Irrevocable: c.Irrevocable + o.Irrevocable,
	}
}

// Causes returns the abort causes in a fixed order, for output.
func (c Counters) Causes() []Cause {
	return []Cause{
		{"locked-read", c.LockedRead},
		{"extend", c.Extend},
		{"lock-busy", c.LockBusy},
		{"validate", c.Validate},
		{"serial", c.Serial},
		{"stale-panic", c.StalePanic},
		{"history-miss", c.HistoryMiss},
		{"past-write", c.PastWrite},
	}
}

// Cause is one abort cause and its count.
type Cause struct {
	Name  string
	Count uint64
}

// GostmCounters reads gostm's counters (stm.ReadStats).
func GostmCounters() Counters {
	s := stm.ReadStats()
	return Counters{
		Aborts:      s.Aborts,
		LockedRead:  s.LockedReads,
		Extend:      s.ExtendFailures,
		LockBusy:    s.LockConflicts,
		Validate:    s.ValidationFails,
		Serial:      s.SerialWaits,
		StalePanic:  s.StalePanics,
		HistoryMiss: s.HistoryMisses,
		PastWrite:   s.PastWrites,
		Blocks:      s.Blocks,
		Wakeups:     s.Wakeups,
		Irrevocable: s.Irrevocable,
	}
}

// AnacrolixCounters reads the expvar counters anacrolix/stm keeps: its
// failed commits are aborts found by validation, its "retries" are
// transactions that blocked in Retry.
func AnacrolixCounters() Counters {
	m, _ := expvar.Get("stm").(*expvar.Map)
	if m == nil {
		return Counters{}
	}
	get := func(key string) uint64 {
		if v, ok := m.Get(key).(*expvar.Int); ok {
			return uint64(v.Value())
		}
		return 0
	}
	failed := get("failed commits")
	return Counters{Aborts: failed, Validate: failed, Blocks: get("retries")}
}

// allocSample reads the heap allocation counters. Tiny allocations (small
// pointer-free objects packed into one block) are counted apart by the
// runtime, so both are read to get every allocation.
type allocSample struct {
	samples [3]metrics.Sample
}

func newAllocSample() *allocSample {
	s := &allocSample{}
	s.samples[0].Name = "/gc/heap/allocs:bytes"
	s.samples[1].Name = "/gc/heap/allocs:objects"
	s.samples[2].Name = "/gc/heap/tiny/allocs:objects"
	return s
}

// read returns the bytes and objects allocated since the program started.
func (s *allocSample) read() (bytes, objects uint64) {
	metrics.Read(s.samples[:])
	val := func(i int) uint64 {
		if s.samples[i].Value.Kind() == metrics.KindUint64 {
			return s.samples[i].Value.Uint64()
		}
		return 0
	}
	return val(0), val(1) + val(2)
}
