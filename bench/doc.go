// Package bench measures gostm against the other ways of sharing state in
// Go — anacrolix/stm, mutexes, channels, atomics — on the standard STM
// workloads, and returns the measurements as values.
//
// A [Workload] is a problem (a bank, an integer set, a queue) with
// integer parameters and an invariant; an [Engine] is one way of solving
// it. The [Registry] holds both, plus the [Demo]s that other packages add
// to the stmbench tour. [Registry.Run] sweeps goroutine counts for one
// workload and a set of engines, repeating each point and checking the
// workload's invariant after every repetition.
//
// The package prints nothing: cmd/stmbench formats what Run returns.
//
// The engine counters (aborts by cause, blocks in Retry) that a point
// reports are process-wide, so Run measures one point at a time and no
// other transactions should run in the process meanwhile.
package bench
