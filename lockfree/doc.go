// Package lockfree provides five concurrent hash maps of different designs
// behind one API, so that they can be compared, measured and chosen
// between.
//
// # Variants
//
//   - [BucketMap]: cache-line buckets with hash-tag meta words (CLHT-LB,
//     xsync style). Wait-free Load, a mutex per bucket chain for writes,
//     cooperative resize. The fast one; use it unless you need one of the
//     properties below.
//   - [ClickMap]: Cliff Click's non-blocking open-addressing table. Lock-free
//     everything, resize included: a value-slot state machine and
//     incremental, cooperative migration.
//   - [Ctrie]: a lock-free hash trie with O(1) [Ctrie.Snapshot]; its Range
//     and Len are linearizable (they work on a snapshot).
//   - [SOList]: Shalev–Shavit split-ordered list over a Harris–Michael
//     lock-free list with marker-node deletion; lock-free growth with no
//     entry ever moved.
//   - [StripedMap]: Go maps behind striped sync.Mutexes, the control group.
//
// Each type's documentation states its progress guarantee, resize strategy
// and iteration semantics. In short:
//
//	variant     Load       writes       resize                                  Range; Len
//	BucketMap   wait-free  bucket lock  ×2/÷2, cooperative; writers wait        per-bucket copy; striped counter
//	ClickMap    lock-free  lock-free    any size, incremental, helped           weakly consistent; striped counter
//	Ctrie       lock-free  lock-free    none (a trie grows and contracts)       linearizable snapshot; counts one
//	SOList      lock-free  lock-free    ×2 by one CAS, entries never move       weakly consistent; striped counter
//	StripedMap  blocking   blocking     each shard's Go map                     per-shard copy; locked sum
//
// # API
//
// All variants implement [Map]: the method names and meanings of
// [sync.Map] (Load, Store, LoadOrStore, LoadAndDelete, Delete, Swap,
// CompareAndSwap, CompareAndDelete, Range, Clear) plus All (an
// [iter.Seq2]), Len, and xsync's Compute and LoadOrCompute. Every
// single-key operation is linearizable in every variant. As with
// sync.Map, a write "synchronizes before" any read that observes it. In no
// variant does Range yield a key twice, and Range's callback may itself use
// the map.
//
// CompareAndSwap and CompareAndDelete need to compare values, but the maps
// are generic over V any. Rather than a second set of types for comparable
// values, every map compares with a function fixed at construction:
// the one given by [WithEqual], or else Go's == applied through an
// interface conversion. The default works for any comparable V and, like
// sync.Map, panics when V is an interface type holding an incomparable
// dynamic value; for a V that can never be compared (slices, maps, funcs)
// the two methods panic with a message pointing to WithEqual, and every
// other method works.
//
// Compute and LoadOrCompute run their function exactly once, under a lock,
// in the lock-based maps (BucketMap, StripedMap): other writers to the same
// bucket or shard wait meanwhile, and the function must not use the map. In
// the lock-free maps the function runs without locks. LoadOrCompute calls
// it at most once per call in every map, and with no other goroutine
// writing, Compute calls it exactly once, resizes included; a lock-free
// Compute calls it again only when its result loses a race with another
// goroutine (each type's documentation says which races), so it should be
// free of side effects. In all of them a panicking function leaves the map
// unchanged and usable.
//
// Hashing: integer keys use a two-round multiply mix with a random per-map
// seed (inline for 8-byte integers), whose low bits, which every map
// indexes by, depend on every key bit and on the seed; every other key,
// strings included, uses [hash/maphash.Comparable], which the compiler
// specialises per key type.
// [WithHasher] replaces the hash (tests use constant hashes to force
// collisions). Maps must be created with their New function (zero values
// are not usable) and must not be copied after first use.
//
// README.md in this directory describes the shared test suite, the
// findings of running it against github.com/alphadose/haxmap as a negative
// control, and benchmark results.
package lockfree
