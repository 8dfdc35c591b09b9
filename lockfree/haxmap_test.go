package lockfree

import (
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/alphadose/haxmap"
)

// The negative control: github.com/alphadose/haxmap v1.4.0 run through the
// same checks. Its findings are logged (go test -v -run NegativeControl),
// never fatal: CI must not depend on a third party's bugs. What it found
// when this was written is in README.md.

// haxAdapter maps the operations haxmap has with the same meaning as ours.
// Swap is left out (haxmap's Swap does nothing for an absent key), and so
// are CompareAndDelete, Compute and LoadOrCompute (haxmap has no such
// operations); composing them from other calls would test the adapter, not
// haxmap.
type haxAdapter struct{ m *haxmap.Map[int, int] }

const haxOps = allOps &^ (1<<opSwap | 1<<opCAD | 1<<opCompute | 1<<opLoadOrCompute)

func newHax(opts ...Option) Map[int, int] {
	c := buildConfig(opts)
	var m *haxmap.Map[int, int]
	if c.presize > 0 {
		m = haxmap.New[int, int](uintptr(c.presize))
	} else {
		m = haxmap.New[int, int]()
	}
	if c.hasher != nil {
		h := c.hasher.(func(int) uint64)
		m.SetHasher(func(k int) uintptr { return uintptr(h(k)) })
	}
	return haxAdapter{m}
}

func (a haxAdapter) Load(k int) (int, bool)              { return zeroIfAbsent(a.m.Get(k)) }
func (a haxAdapter) Store(k, v int)                      { a.m.Set(k, v) }
func (a haxAdapter) LoadOrStore(k, v int) (int, bool)    { return a.m.GetOrSet(k, v) }
func (a haxAdapter) LoadAndDelete(k int) (int, bool)     { return zeroIfAbsent(a.m.GetAndDel(k)) }
func (a haxAdapter) Delete(k int)                        { a.m.Del(k) }
func (a haxAdapter) CompareAndSwap(k, old, new int) bool { return a.m.CompareAndSwap(k, old, new) }
func (a haxAdapter) Range(f func(int, int) bool)         { a.m.ForEach(f) }
func (a haxAdapter) All() iter.Seq2[int, int]            { return seqOf(a.Range) }
func (a haxAdapter) Len() int                            { return int(a.m.Len()) }
func (a haxAdapter) Clear()                              { a.m.Clear() }
func (a haxAdapter) Swap(int, int) (int, bool)           { panic("not adapted") }
func (a haxAdapter) CompareAndDelete(int, int) bool      { panic("not adapted") }
func (a haxAdapter) Compute(int, func(int, bool) (int, ComputeOp)) (int, bool) {
	panic("not adapted")
}
func (a haxAdapter) LoadOrCompute(int, func() (int, bool)) (int, bool) { panic("not adapted") }

// zeroIfAbsent normalises a miss to the zero value: haxmap's Get can return
// a deleted entry's stale value with ok false, which our model (like
// sync.Map) does not allow; that difference is recorded, not re-tested.
func zeroIfAbsent(v int, ok bool) (int, bool) {
	if !ok {
		return 0, false
	}
	return v, true
}

var haxVariant = variant{name: "haxmap", newII: newHax, ops: haxOps, control: true}

func TestNegativeControlHaxmap(t *testing.T) {
	// Deterministic sanity check that the adapter is wired: this must hold.
	m := newHax()
	m.Store(1, 10)
	if v, ok := m.Load(1); !ok || v != 10 {
		t.Fatalf("haxmap adapter: Load(1) = %d, %v", v, ok)
	}

	seed := testSeed(t)
	v := haxVariant
	checks := []struct {
		name string
		f    func(tester)
	}{
		{"model/default", func(r tester) { checkModel(r, v, []Option{WithPresize(1)}, seed, scale(200), 80) }},
		{"model/const-hash", func(r tester) {
			checkModel(r, v, append([]Option{WithPresize(1)}, hashModes[1].opts...), seed, scale(200), 80)
		}},
		{"linearizable", func(r tester) {
			checkLinearizable(r, v, []Option{WithPresize(1)}, seed, linConfig{histories: scale(120), opsPerClient: 100, noise: true})
		}},
		// Narrower histories, to tell which operations and conditions
		// break linearizability.
		{"linearizable/Load+Store/fixed-size", linSubset(v, seed, 1024, opLoad, opStore)},
		{"linearizable/Load+Store/growing", linSubset(v, seed, 1, opLoad, opStore)},
		{"linearizable/Load+Store+Delete/fixed-size", linSubset(v, seed, 1024, opLoad, opStore, opDelete)},
		{"linearizable/Load+Store+CompareAndSwap/fixed-size", linSubset(v, seed, 1024, opLoad, opStore, opCAS)},
		{"linearizable/LoadOrStore+LoadAndDelete/fixed-size", linSubset(v, seed, 1024, opLoad, opLoadOrStore, opLoadAndDelete)},
		{"range-concurrent", func(r tester) { checkRange(r, v, []Option{WithPresize(1)}, seed, scale(200)) }},
		{"range-mutating", func(r tester) { checkRangeMutating(r, v, nil) }},
		{"ownership", func(r tester) { checkOwnership(r, v, []Option{WithPresize(1)}, scale(4000)) }},
	}
	// A sequence gopter found and shrank: Get of a deleted key returns the
	// deleted value (with ok false), where sync.Map returns the zero value.
	// The adapter normalises this so that the checks above look further.
	h := haxmap.New[int, int](1)
	h.GetOrSet(4, 3)
	for k := 296; k < 296+148; k++ {
		h.Set(k, k)
	}
	h.Del(4)
	v4, ok4 := h.Get(4)
	t.Logf("haxmap Get after Del: (%d, %v); sync.Map semantics: (0, false)", v4, ok4)

	for _, c := range checks {
		r, hung := record("haxmap/"+c.name, 20*time.Second, c.f)
		switch {
		case hung:
			t.Logf("haxmap %s: HUNG: %s", c.name, strings.Join(r.errs, "; "))
		case r.Failed():
			t.Logf("haxmap %s: FAILED: %s", c.name, firstLines(strings.Join(r.errs, "; "), 6))
		default:
			t.Logf("haxmap %s: passed", c.name)
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

func linSubset(v variant, seed int64, presize int, ops ...opKind) func(tester) {
	var set opSet
	for _, o := range ops {
		set |= 1 << o
	}
	v.ops = set
	return func(r tester) {
		checkLinearizable(r, v, []Option{WithPresize(presize)}, seed, linConfig{histories: scale(80), opsPerClient: 100})
	}
}
