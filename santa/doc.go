// Package santa solves the Santa Claus problem with gostm transactions and checks every run's trace for the classic bugs.
//
// Nine reindeer and ten elves share Santa: he wakes when all reindeer are
// back (he harnesses them and delivers toys) or when a group of three elves
// needs him (he consults with them), and a waiting reindeer group is served
// first. The solution follows Peyton Jones's "Beautiful concurrency": a
// [Gate] lets a fixed number of helpers through once Santa operates it, and
// a [Group] collects helpers and hands Santa a fresh pair of gates per
// generation. [Group.Await] is a transaction fragment, so Santa's choice is
// one transaction, [Choose], built with [stm.OrElse] with the reindeer
// first: priority comes from the order of the alternatives, not from timing.
//
// [Run] runs a bounded, seeded session of the whole problem, in the STM
// version, in a channel-and-select version for comparison, or in one of
// three deliberately broken versions, and records a [Trace]. [Check] checks
// a trace against the properties S1 to S9 (group sizes, all reindeer, one
// session at a time, the group acts together, no sneaking in, one group per
// helper, reindeer priority, Santa never idle, progress) and reports the
// first counterexample of each property that fails. Traces round-trip
// through JSON Lines ([WriteTrace], [ReadTrace]) so a saved run can be
// checked again.
//
// # The channel version and priority
//
// Go's select picks uniformly at random among ready cases, so a Santa that
// selects between a reindeer channel and an elf channel has no priority,
// and checking the reindeer channel first without blocking still loses
// when both groups become ready while Santa is blocked in the second
// select. The channel version gets priority right only by giving all the
// group state to one coordinator goroutine: helpers and Santa send it
// requests, and it decides Santa's next session from its own counts, so
// "both groups are full" is a fact about one goroutine's state rather than
// a race between two channels. That coordinator is a hand-written monitor;
// in the STM version the same guarantee is the left bias of OrElse.
package santa
