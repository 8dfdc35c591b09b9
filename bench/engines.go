package bench

// Names of the engines the built-in workloads provide. The global mutex is
// the baseline that the tour's ratios divide by.
const (
	Gostm        = "gostm"         // gostm.dev/stm
	GostmCommute = "gostm-commute" // gostm, with the update a blind commutative one (stm.Add)
	Anacrolix    = "anacrolix"     // github.com/anacrolix/stm v0.2.0
	Mutex        = "mutex"         // one global sync.Mutex
	FineLock     = "finelock"      // a mutex per item, locked in a global order
	RWMutex      = "rwmutex"       // one global sync.RWMutex, readers shared
	Channel      = "channel"       // one goroutine owns the state; others send it requests
	Atomic       = "atomic"        // sync/atomic, where one word holds the state
)

// The built-in workloads, registered in the order the tour shows them.
func init() {
	for _, w := range []Workload{
		counterWorkload(),
		bankWorkload(),
		readMostlyWorkload(),
		intsetWorkload("intset-list", 1),
		intsetWorkload("intset-skip", skipMaxLevel),
		longShortWorkload(),
		queueWorkload(),
		pingPongWorkload(),
		mapWorkload(),
	} {
		Register(w)
	}
}

// sum adds per-worker counts; workers write only their own slot and the
// runner reads them after every worker returned, so plain ints suffice.
func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
