// Package stmtest records histories of gostm transactions and checks that
// they are serializable and opaque, or shows the anomaly.
//
// Run the transactional code under test through a Recorder (one Client per
// goroutine), then check the History it returns:
//
//	rec := stmtest.NewRecorder()
//	defer rec.Stop()
//	... rec.Client(g).Atomically(func(tx *stm.Tx) error { ... }) on each goroutine ...
//	stmtest.Check(t, rec.History())
//
// The recorder logs every attempt of every transaction (committed,
// aborted, retried, failed, panicked), each read with its value and the
// engine's version, each write, OrElse rollbacks, and invocation and
// completion ticks of a logical clock. Client.View records stm.View. A
// Var's pending commutes (Var.Commute, stm.Add), applied by the commit to
// the Var's latest value, are logged as one Commuted operation: a blind
// read-modify-write at the commit's point in the serial order, outside the
// attempt's snapshot. Two checkers read a History:
//
//   - CheckWhiteBox uses the versions: every attempt, aborted ones too,
//     read one snapshot (opacity), and a committed one the snapshot at its
//     reported version, old versions included (snapshot); each update
//     commit's reads were current at its commit (serializability in commit
//     order), and each commute was applied to the Var's latest version
//     below it; commit order agrees with real time (strict
//     serializability); reads see the attempt's own writes. It runs in
//     O(n log n).
//   - CheckBlackBox trusts only values, which must be unique per write: it
//     builds the Adya dependency graph (write-write, write-read, read-write
//     and real-time edges), finds its cycles and names them G0, G1c,
//     G-single or G2, with reads of aborted and intermediate writes as G1a
//     and G1b, and explains each: "T3 < T7 because T7 read T3's write of x".
//     A commute is a read-modify-write there: one applied to a stale value
//     is a lost update.
//
// Histories are plain values, stored as JSON Lines (WriteJSONL, ReadJSONL),
// so a failure can be saved, replayed and written by hand (see testdata/).
//
// For property tests, GenWorkload generates (with gopter) random
// transaction programs over a few Vars for 2 to 8 goroutines (Get, Set,
// Modify, Commute, Await, OrElse, Retry, errors, panics, and read-only
// programs run as View or Atomically), RunWorkload runs one under a
// Recorder with a watchdog that cancels transactions blocked for good,
// detects lost wake-ups and gives up, with a report of where, on an
// engine stuck inside transactions, and checks its history with both
// checkers and a sequential reference interpreter; Property wraps it as a
// gopter property whose failures shrink and print a Replay line.
//
// Written values must come from recorded transactions only: a Var.Store or
// an unrecorded transaction on a recorded Var shows up as a read of an
// unknown version or value.
package stmtest
