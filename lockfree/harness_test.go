package lockfree

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"gostm.dev/internal/watchdog"
)

// This file holds the pieces every check shares: the table of variants, the
// seed handling, and a tester that records instead of failing (for the
// negative control).

var seedFlag = flag.Int64("lockfree.seed", 0, "seed for randomised tests (0: from LOCKFREE_SEED or the clock)")

// testSeed returns the seed for a randomised test and logs how to replay it.
func testSeed(t tester) int64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		if s := os.Getenv("LOCKFREE_SEED"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("bad LOCKFREE_SEED %q: %v", s, err)
			}
			seed = v
		}
	}
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay: LOCKFREE_SEED=%d go test -run '%s')", seed, seed, t.Name())
	return seed
}

// longMode is set by GOSTM_LONG=1 (CI sets it: .ci/run). Without it the
// randomised tests run a tenth of their workloads, so that an ordinary
// `go test ./lockfree` takes seconds; every check still runs, on fewer
// histories, sequences and rounds.
var longMode = os.Getenv("GOSTM_LONG") == "1"

// scale sizes a randomised workload whose full size is n. GOSTM_LONG=1
// runs the full size, a quarter of it under -race or -short (so that CI's
// race run of the whole repository stays within its time budget); without
// GOSTM_LONG, a tenth.
func scale(n int) int {
	switch {
	case !longMode:
		n /= 10
	case raceEnabled || testing.Short():
		n /= 4
	}
	if n < 1 {
		n = 1
	}
	return n
}

// opSet is the set of operations a variant supports; the negative control
// lacks some.
type opSet uint32

const (
	opLoad opKind = iota
	opStore
	opLoadOrStore
	opLoadAndDelete
	opDelete
	opSwap
	opCAS
	opCAD
	opCompute
	opLoadOrCompute
	opStoreRange
	opDeleteRange
	opClear
	opLen
	opRange
	opRangeBreak
	numOps
)

type opKind uint8

var opNames = [...]string{"Load", "Store", "LoadOrStore", "LoadAndDelete", "Delete", "Swap",
	"CompareAndSwap", "CompareAndDelete", "Compute", "LoadOrCompute", "StoreRange", "DeleteRange",
	"Clear", "Len", "Range", "RangeBreak"}

func (o opKind) String() string { return opNames[o] }

const allOps = opSet(1<<numOps - 1)

func (s opSet) has(o opKind) bool { return s&(1<<o) != 0 }

// variant describes one map implementation under test.
type variant struct {
	name  string
	newII func(opts ...Option) Map[int, int]
	newSI func(opts ...Option) Map[string, int]
	ops   opSet
	// linearRange: Range and Len are linearizable (snapshot based).
	linearRange bool
	// linearClear: Clear is linearizable with respect to the other ops.
	linearClear bool
	// control: a negative control; its findings are logged, never fatal.
	control bool
	// testOnly: a configuration for the tests, not benchmarked.
	testOnly bool
}

func (v variant) supports(ops ...opKind) bool {
	for _, o := range ops {
		if !v.ops.has(o) {
			return false
		}
	}
	return true
}

// variants lists the maps of this package. The negative control is added
// only by its own test (haxmap_test.go).
var variants = []variant{
	{
		name:        "Bucket",
		newII:       func(o ...Option) Map[int, int] { return NewBucketMap[int, int](o...) },
		newSI:       func(o ...Option) Map[string, int] { return NewBucketMap[string, int](o...) },
		ops:         allOps,
		linearClear: true,
	},
	{
		name:        "Click",
		newII:       func(o ...Option) Map[int, int] { return NewClickMap[int, int](o...) },
		newSI:       func(o ...Option) Map[string, int] { return NewClickMap[string, int](o...) },
		ops:         allOps,
		linearClear: true,
	},
	{
		name:        "Ctrie",
		newII:       func(o ...Option) Map[int, int] { return NewCtrie[int, int](o...) },
		newSI:       func(o ...Option) Map[string, int] { return NewCtrie[string, int](o...) },
		ops:         allOps,
		linearRange: true,
		linearClear: true,
	},
	{
		// The Ctrie with its Load cache in use from the first operation
		// (at level 6; by default it starts at 8K entries, which few
		// tests reach).
		name:        "CtrieCache",
		newII:       func(o ...Option) Map[int, int] { return newCachedCtrie[int, int](ctBits, o...) },
		newSI:       func(o ...Option) Map[string, int] { return newCachedCtrie[string, int](ctBits, o...) },
		ops:         allOps,
		linearRange: true,
		linearClear: true,
		testOnly:    true,
	},
	{
		name:        "SOList",
		newII:       func(o ...Option) Map[int, int] { return NewSOList[int, int](o...) },
		newSI:       func(o ...Option) Map[string, int] { return NewSOList[string, int](o...) },
		ops:         allOps,
		linearClear: true,
	},
	{
		name:  "Striped",
		newII: func(o ...Option) Map[int, int] { return NewStripedMap[int, int](o...) },
		newSI: func(o ...Option) Map[string, int] { return NewStripedMap[string, int](o...) },
		ops:   allOps,
	},
}

// tester is the part of testing.TB the checks use; *testing.T satisfies it,
// and so does recorder, which collects failures instead of reporting them.
type tester interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
}

// recorder is a tester for the negative control: it keeps the findings,
// and Fatalf ends the checking goroutine instead of the test.
type recorder struct {
	name string
	mu   sync.Mutex
	logs []string
	errs []string
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}

// record runs check against a recorder in its own goroutine, turning a
// panic or a hang (past timeout) into a finding. A hung goroutine is
// abandoned: there is no way to stop it.
func record(name string, timeout time.Duration, check func(tester)) (r *recorder, hung bool) {
	r = &recorder{name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				r.Errorf("panic: %v", p)
			}
		}()
		check(r)
	}()
	select {
	case <-done:
		return r, false
	case <-time.After(timeout):
		r.Errorf("did not finish within %v (hang or livelock)", timeout)
		return r, true
	}
}

// within runs f in a goroutine and fails if it does not return within d: a
// wedged lock must fail the test, not hang it.
func within(t tester, d time.Duration, what string, f func()) {
	t.Helper()
	watchdog.Within(t, d, what, f)
}

// newCachedCtrie returns a Ctrie whose Load cache is fixed at level lev.
func newCachedCtrie[K comparable, V any](lev uint, opts ...Option) *Ctrie[K, V] {
	c := NewCtrie[K, V](opts...)
	c.cacheLevel = lev
	c.cache.Store(newCtCache[K, V](lev))
	return c
}
