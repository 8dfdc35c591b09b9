// Package dstm runs gostm-style transactions on etcd: typed Vars named by
// keys, Atomically with blocking Retry, OrElse and AfterCommit, on a
// replicated store that outlives the process and can be shared by machines.
//
// A transaction looks as it does with package stm, with a context and a
// Client added:
//
//	from := dstm.NewVar("bank/acct/1", int64(0))
//	to := dstm.NewVar("bank/acct/2", int64(0))
//	err := dstm.Atomically(ctx, c, func(tx *dstm.Tx) error {
//		bal := from.Get(tx)
//		tx.Check(bal >= amount) // block (on an etcd watch) until the balance suffices
//		from.Set(tx, bal-amount)
//		to.Set(tx, to.Get(tx)+amount)
//		return nil
//	})
//
// For a server to run on, StartEmbedded starts a single-member etcd inside the
// process (the default for demos and tests); Dial connects to an existing
// cluster.
//
// # Guarantees, and how etcd gives them
//
// Every attempt reads one snapshot: its first read is linearizable and fixes
// the attempt's revision, and every later read (Get or Prefetch) is served at
// that revision. A body therefore never sees a state that did not exist, even
// on an attempt that will abort: transactions are opaque, as in stm.
//
// A transaction that wrote nothing commits with no round trip: it is
// serialized at its snapshot revision. An update commits with one etcd Txn
// whose comparisons say that every key read still has the mod-revision it had
// in the snapshot (keys read as absent: still absent); its Then branch holds
// the writes, its Else branch re-reads the read set so that the next attempt
// starts from a fresh snapshot without another round trip. Under repeated
// conflicts attempts back off for a random, growing time.
//
// Retry watches every key the attempt read, those read by OrElse alternatives
// that retried included, from the snapshot revision + 1: a commit between the
// read and the watch cannot be missed, and watches survive a leader change.
// The body runs again when one of those keys changes.
//
// # Outcomes the network makes uncertain
//
// When the reply to a commit is lost (a broken connection, a leader change,
// the context ending while the commit is in flight), the transaction may or
// may not have committed. Each commit therefore also creates a marker key
// unique to it, and the resolution fences the marker: one Txn creates it as
// "aborted" if it does not exist (so that the original commit, should it still
// arrive, fails its comparison) or reads it. Markers live under a prefix of
// their own (WithMarkerPrefix) with a lease; later commits delete those no
// longer needed. A caller is never told that a
// committed transaction failed, and AfterCommit hooks run only for a commit
// that is proven. If the outcome cannot be learnt (the cluster stays
// unreachable for the resolution timeout), Atomically returns an error
// wrapping ErrOutcomeUnknown. Every request is bounded (WithRequestTimeout):
// a member whose leader has died holds a commit until its own timeout of
// about five seconds, and the bound lets the marker settle it on another
// member after about one. Reads that fail transiently ("future revision" on
// a lagging member, no leader, unavailable, the bound) are retried until
// the context ends.
//
// # What etcd cannot give
//
//   - Latency: a commit is a consensus round with an fsync, about a
//     millisecond on one local member and more across machines, where stm
//     takes nanoseconds. Batch reads with Prefetch.
//   - Values must be encodable (JSON by default, see WithCodec), and they are
//     copies: a Var holds no pointer to shared memory.
//   - Vars are named by keys chosen by the program; there are no anonymous
//     Vars created inside a transaction (NewVar only names a key).
//   - An update transaction's read set and write set are bounded by the
//     server's --max-txn-ops (128 by default; StartEmbedded sets 4096).
//   - No irrevocable mode: a transaction that keeps conflicting only backs
//     off. A long read-only transaction never conflicts, since it commits at
//     its snapshot.
//   - Compaction: a snapshot older than the compacted revision cannot be
//     read, and a Retry cannot watch from it; both restart the attempt on a
//     fresh snapshot, so compaction costs time, never correctness.
//   - Misuse is only partly detected: a Tx used after its transaction ended
//     panics, but a nested Atomically inside a body is not detected (it would
//     commit on its own).
package dstm
