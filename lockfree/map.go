package lockfree

import (
	"iter"
	"reflect"
	"sync/atomic"
)

// Map is the method set shared by every map in this package. The names and
// meanings follow [sync.Map]; Len, Compute and LoadOrCompute follow
// github.com/puzpuzpuz/xsync.
//
// Every single-key method is linearizable in every variant: it takes effect
// at one instant between its call and its return. A write "synchronizes
// before" any read that observes it, as in the Go memory model's description
// of [sync.Map]. Range, All, Len and Clear are whole-map operations; their
// guarantees differ between variants and are documented on each type.
type Map[K comparable, V any] interface {
	// Load returns the value stored for key, and whether it was present.
	Load(key K) (value V, ok bool)
	// Store sets the value for key.
	Store(key K, value V)
	// LoadOrStore returns the existing value for key if present (loaded is
	// true). Otherwise it stores value and returns it (loaded is false).
	LoadOrStore(key K, value V) (actual V, loaded bool)
	// LoadAndDelete deletes key, returning the previous value if any.
	LoadAndDelete(key K) (value V, loaded bool)
	// Delete deletes key.
	Delete(key K)
	// Swap stores value for key and returns the previous value if any.
	Swap(key K, value V) (previous V, loaded bool)
	// CompareAndSwap stores new for key if the stored value equals old.
	// See the package documentation for how values are compared.
	CompareAndSwap(key K, old, new V) (swapped bool)
	// CompareAndDelete deletes key if its value equals old.
	CompareAndDelete(key K, old V) (deleted bool)
	// Range calls f for each key and value until f returns false.
	Range(f func(key K, value V) bool)
	// All returns an iterator over the map with Range's semantics.
	All() iter.Seq2[K, V]
	// Len returns the number of entries.
	Len() int
	// Clear deletes every entry.
	Clear()
	// Compute calls f with the current value of key (loaded reports
	// whether there was one) and then, depending on the returned op,
	// stores the returned value, deletes the key, or leaves it alone.
	// It returns the value present afterwards and whether there is one.
	Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool)
	// LoadOrCompute returns the existing value for key if present.
	// Otherwise it calls f and stores its result unless f cancels, in
	// which case the zero value is returned and the map is unchanged.
	LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool)
}

// ComputeOp tells Compute what to do with the value its function returned.
type ComputeOp int

const (
	// CancelOp leaves the map unchanged.
	CancelOp ComputeOp = iota
	// UpdateOp stores the returned value.
	UpdateOp
	// DeleteOp deletes the key.
	DeleteOp
)

// Option configures a map at construction. Options that a variant has no use
// for are ignored.
type Option func(*config)

type config struct {
	presize  int
	growOnly bool
	hasher   any // func(K) uint64
	equal    any // func(V, V) bool
}

// WithPresize sizes the map for about n entries, so that it need not grow
// until it holds more. Maps never shrink below their initial size.
func WithPresize(n int) Option {
	return func(c *config) { c.presize = n }
}

// WithGrowOnly stops the map from shrinking after deletes (useful when the
// number of entries swings widely and resizes would repeat).
func WithGrowOnly() Option {
	return func(c *config) { c.growOnly = true }
}

// WithHasher replaces the hash function. It must be deterministic and
// consistent with == on K. It exists mainly for tests: a constant hash
// forces every key into one collision chain. The map's key type must be K,
// or the constructor panics.
func WithHasher[K comparable](h func(K) uint64) Option {
	return func(c *config) { c.hasher = h }
}

// WithEqual sets the function CompareAndSwap and CompareAndDelete use to
// compare values. It makes them usable with a value type that == cannot
// compare (slices, maps, funcs). The map's value type must be V, or the
// constructor panics.
func WithEqual[V any](eq func(a, b V) bool) Option {
	return func(c *config) { c.equal = eq }
}

func buildConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// equalFor returns the value comparison for CompareAndSwap and
// CompareAndDelete: the injected one, or == through an interface
// conversion when V is comparable (which, as with sync.Map, panics at run
// time if V is an interface type holding an incomparable dynamic value), or
// nil when V cannot be compared at all.
func equalFor[V any](c *config) func(a, b V) bool {
	if c.equal != nil {
		eq, ok := c.equal.(func(a, b V) bool)
		if !ok {
			panic("lockfree: WithEqual function has type " + reflect.TypeOf(c.equal).String() +
				", want func(" + reflect.TypeFor[V]().String() + ", " + reflect.TypeFor[V]().String() + ") bool")
		}
		return eq
	}
	if !reflect.TypeFor[V]().Comparable() {
		return nil
	}
	return func(a, b V) bool { return any(a) == any(b) }
}

func mustEqual[V any](eq func(a, b V) bool) func(a, b V) bool {
	if eq == nil {
		panic("lockfree: CompareAndSwap/CompareAndDelete on an incomparable value type " +
			reflect.TypeFor[V]().String() + "; construct the map WithEqual")
	}
	return eq
}

// noCopy lets go vet's copylocks check report maps copied by value.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// seqOf adapts a Range method to an iterator.
func seqOf[K comparable, V any](rangeFn func(func(K, V) bool)) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) { rangeFn(yield) }
}

const cacheLineSize = 64

// counter is a striped counter: adds go to one of several cache-line-padded
// cells so concurrent writers do not contend on one word; reads sum them.
type counter struct {
	cells []counterCell
	mask  uint64
}

type counterCell struct {
	n atomic.Int64
	_ [cacheLineSize - 8]byte
}

func newCounter(stripes int) *counter {
	n := 1
	for n < stripes {
		n <<= 1
	}
	return &counter{cells: make([]counterCell, n), mask: uint64(n - 1)}
}

func (c *counter) add(hint uint64, d int64) { c.cells[hint&c.mask].n.Add(d) }

func (c *counter) sum() int64 {
	var s int64
	for i := range c.cells {
		s += c.cells[i].n.Load()
	}
	return s
}

// addAndTest adds d and reports whether the stripe's new value is a
// multiple of every: a cheap way to do something on about one add in every.
func (c *counter) addAndTest(hint uint64, d, every int64) bool {
	return c.cells[hint&c.mask].n.Add(d)%every == 0
}

// reset sets the count to 0; adds racing with it may or may not count.
func (c *counter) reset() {
	for i := range c.cells {
		c.cells[i].n.Store(0)
	}
}

// testHook, when set (only by tests, before any map is used), runs at
// points where a lock-free algorithm is between two steps, to widen the
// windows in which other goroutines can interleave.
var testHook func()

func hook() {
	if testHook != nil {
		testHook()
	}
}
