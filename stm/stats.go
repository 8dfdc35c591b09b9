package stm

import "sync/atomic"

// abortCause says why an attempt aborted.
type abortCause uint8

const (
	causeLockedRead  abortCause = iota // a read found the Var locked by a commit for too long
	causeExtend                        // a read found a newer version and the snapshot could not be extended
	causeLockBusy                      // commit could not lock a Var it writes
	causeValidate                      // commit found a Var it read changed
	causeSerial                        // commit found an irrevocable transaction running
	causePanicStale                    // the body panicked on a snapshot that was no longer current
	causeHistoryGone                   // a snapshot read found the version it needs no longer kept
	causePastWrite                     // an attempt that had read past versions went on to write
	numCauses
	causeReexec // GOSTMDEBUG=reexec runs the body again: not a conflict, not counted
)

// Stats counts the engine's slow-path events since the program started.
// Commits are not counted (that would put a shared write on every commit);
// callers that want aborts per commit count their own commits. Take two
// readings with ReadStats and subtract them to measure an interval.
type Stats struct {
	// Aborts by cause; Aborts is their sum.
	Aborts          uint64
	LockedReads     uint64 // a read found the Var locked by a commit for too long
	ExtendFailures  uint64 // a read found a newer version and a Var read earlier had changed
	LockConflicts   uint64 // commit could not lock a Var it writes
	ValidationFails uint64 // commit found a Var it read changed
	SerialWaits     uint64 // commit had to wait for an irrevocable transaction
	StalePanics     uint64 // a body panicked on a snapshot that was no longer current; it ran again
	HistoryMisses   uint64 // a snapshot read (View, or read-only body) found its version no longer kept
	PastWrites      uint64 // a body that had read past versions wrote; it ran again reading current ones

	Blocks      uint64 // times a transaction blocked in Retry
	Wakeups     uint64 // commits that woke transactions blocked in Retry
	Irrevocable uint64 // attempts run irrevocably after SerialAfter aborts

	// Blocked is how many transactions are parked in Retry at the moment
	// of reading (a gauge, not a count; Sub keeps the newer value).
	Blocked int64
}

// paddedCounter keeps each counter on its own cache line, so that aborts
// counted by one core do not slow down another's.
type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

type counters struct {
	aborts      [numCauses]paddedCounter
	blocks      paddedCounter
	wakeups     paddedCounter
	irrevocable paddedCounter
	blocked     atomic.Int64 // transactions parked in Retry right now
}

var stats counters

func (s *counters) abort(c abortCause) { s.aborts[c].Add(1) }

// ReadStats returns the counters as they are now.
func ReadStats() Stats {
	s := Stats{
		LockedReads:     stats.aborts[causeLockedRead].Load(),
		ExtendFailures:  stats.aborts[causeExtend].Load(),
		LockConflicts:   stats.aborts[causeLockBusy].Load(),
		ValidationFails: stats.aborts[causeValidate].Load(),
		SerialWaits:     stats.aborts[causeSerial].Load(),
		StalePanics:     stats.aborts[causePanicStale].Load(),
		HistoryMisses:   stats.aborts[causeHistoryGone].Load(),
		PastWrites:      stats.aborts[causePastWrite].Load(),
		Blocks:          stats.blocks.Load(),
		Wakeups:         stats.wakeups.Load(),
		Irrevocable:     stats.irrevocable.Load(),
		Blocked:         stats.blocked.Load(),
	}
	s.Aborts = s.LockedReads + s.ExtendFailures + s.LockConflicts + s.ValidationFails + s.SerialWaits + s.StalePanics +
		s.HistoryMisses + s.PastWrites
	return s
}

// Sub returns the counts that happened between reading old and reading s.
func (s Stats) Sub(old Stats) Stats {
	return Stats{
		Aborts:          s.Aborts - old.Aborts,
		LockedReads:     s.LockedReads - old.LockedReads,
		ExtendFailures:  s.ExtendFailures - old.ExtendFailures,
		LockConflicts:   s.LockConflicts - old.LockConflicts,
		ValidationFails: s.ValidationFails - old.ValidationFails,
		SerialWaits:     s.SerialWaits - old.SerialWaits,
		StalePanics:     s.StalePanics - old.StalePanics,
		HistoryMisses:   s.HistoryMisses - old.HistoryMisses,
		PastWrites:      s.PastWrites - old.PastWrites,
		Blocks:          s.Blocks - old.Blocks,
		Wakeups:         s.Wakeups - old.Wakeups,
		Irrevocable:     s.Irrevocable - old.Irrevocable,
		Blocked:         s.Blocked,
	}
}
