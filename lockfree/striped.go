package lockfree

import (
	"iter"
	"runtime"
	"sync"
)

// StripedMap is the control group: a fixed array of Go maps, each guarded by
// its own sync.Mutex, chosen by the key's hash. It is what people write by
// hand, and the baseline the lock-free variants must beat.
//
// Progress: blocking. Every operation takes one shard lock; readers and
// writers of the same shard wait for each other.
//
// Resize: there are 4×GOMAXPROCS shards (at construction), fixed for the
// map's life; each shard's Go map grows by itself under its lock and never
// shrinks (Clear keeps the Go map's storage).
//
// Iteration: Range copies one shard at a time under its lock and calls f
// with no lock held, so f may use the map. No key is yielded twice; a key
// present and unmodified for the whole call is yielded; a key changed
// during the call may be seen with any value it had or not at all. Len
// sums the shards one lock at a time: exact when no writes run. Clear
// empties the shards one at a time, so a concurrent writer's key may
// survive it.
//
// Compute and LoadOrCompute run f once, under the shard lock: f must not
// use the map, and keys in the same shard wait while it runs. A panic in f
// releases the lock and leaves the map unchanged.
//
// Use NewStripedMap; the zero value is not usable.
type StripedMap[K comparable, V any] struct {
	_      noCopy
	hasher keyHasher[K]
	eq     func(a, b V) bool
	shards []stripedShard[K, V]
	mask   uint64
}

type stripedShard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
	_  [cacheLineSize - 16]byte
}

// NewStripedMap returns an empty StripedMap.
func NewStripedMap[K comparable, V any](opts ...Option) *StripedMap[K, V] {
	c := buildConfig(opts)
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	m := &StripedMap[K, V]{
		hasher: newKeyHasher[K](&c),
		eq:     equalFor[V](&c),
		shards: make([]stripedShard[K, V], n),
		mask:   uint64(n - 1),
	}
	per := c.presize / n
	for i := range m.shards {
		m.shards[i].m = make(map[K]V, per)
	}
	return m
}

func (m *StripedMap[K, V]) shard(key K) *stripedShard[K, V] {
	h := m.hasher.hash(key)
	return &m.shards[(h^h>>32)&m.mask]
}

// Load returns the value stored for key, and whether it was present.
func (m *StripedMap[K, V]) Load(key K) (value V, ok bool) {
	s := m.shard(key)
	s.mu.Lock()
	value, ok = s.m[key]
	s.mu.Unlock()
	return
}

// Store sets the value for key.
func (m *StripedMap[K, V]) Store(key K, value V) {
	s := m.shard(key)
	s.mu.Lock()
	s.m[key] = value
	s.mu.Unlock()
}

// LoadOrStore returns the existing value for key if present; otherwise it
// stores and returns value. loaded reports which.
func (m *StripedMap[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	s := m.shard(key)
	s.mu.Lock()
	actual, loaded = s.m[key]
	if !loaded {
		s.m[key] = value
		actual = value
	}
	s.mu.Unlock()
	return
}

// LoadAndDelete deletes key, returning the previous value if any.
func (m *StripedMap[K, V]) LoadAndDelete(key K) (value V, loaded bool) {
	s := m.shard(key)
	s.mu.Lock()
	value, loaded = s.m[key]
	if loaded {
		delete(s.m, key)
	}
	s.mu.Unlock()
	return
}

// Delete deletes key.
func (m *StripedMap[K, V]) Delete(key K) {
	s := m.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// Swap stores value for key and returns the previous value if any.
func (m *StripedMap[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	s := m.shard(key)
	s.mu.Lock()
	previous, loaded = s.m[key]
	s.m[key] = value
	s.mu.Unlock()
	return
}

// CompareAndSwap stores new for key if its value equals old. It panics if
// values cannot be compared (see the package documentation).
func (m *StripedMap[K, V]) CompareAndSwap(key K, old, new V) (swapped bool) {
	eq := mustEqual(m.eq)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[key]; ok && eq(cur, old) {
		s.m[key] = new
		return true
	}
	return false
}

// CompareAndDelete deletes key if its value equals old. It panics if values
// cannot be compared (see the package documentation).
func (m *StripedMap[K, V]) CompareAndDelete(key K, old V) (deleted bool) {
	eq := mustEqual(m.eq)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[key]; ok && eq(cur, old) {
		delete(s.m, key)
		return true
	}
	return false
}

// Compute runs f on the current value of key under the shard lock and
// applies the returned op. See [Map] and the type documentation.
func (m *StripedMap[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, loaded := s.m[key]
	nv, op := f(old, loaded)
	switch op {
	case UpdateOp:
		s.m[key] = nv
		return nv, true
	case DeleteOp:
		if loaded {
			delete(s.m, key)
		}
		var zero V
		return zero, false
	}
	return old, loaded
}

// LoadOrCompute returns the value of key if present; otherwise it stores
// the result of f unless f cancels. See [Map].
func (m *StripedMap[K, V]) LoadOrCompute(key K, f func() (newValue V, cancel bool)) (actual V, loaded bool) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[key]; ok {
		return v, true
	}
	nv, cancel := f()
	if cancel {
		var zero V
		return zero, false
	}
	s.m[key] = nv
	return nv, false
}

// Range calls f for each entry until f returns false. See the type
// documentation for what it guarantees under concurrent writes.
func (m *StripedMap[K, V]) Range(f func(key K, value V) bool) {
	var keys []K
	var vals []V
	for i := range m.shards {
		s := &m.shards[i]
		keys, vals = keys[:0], vals[:0]
		s.mu.Lock()
		for k, v := range s.m {
			keys = append(keys, k)
			vals = append(vals, v)
		}
		s.mu.Unlock()
		for j := range keys {
			if !f(keys[j], vals[j]) {
				return
			}
		}
	}
}

// All returns an iterator with Range's semantics.
func (m *StripedMap[K, V]) All() iter.Seq2[K, V] { return seqOf(m.Range) }

// Len returns the number of entries; see the type documentation.
func (m *StripedMap[K, V]) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Clear deletes every entry, one shard at a time.
func (m *StripedMap[K, V]) Clear() {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}
