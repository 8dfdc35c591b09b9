package lockfree

// The variants (all but StripedMap) implement two primitives, Load and
// update, and derive most of the rest of the Map API from them here. In
// the lock-free variants update may call its function more than once for a
// present key (a failed CAS retries it with the value then current; only
// the call whose result was installed takes effect), so the closures below
// recompute everything they report on every call; for an absent key it
// calls it once (absentAnswer). BucketMap's update calls it once, under
// the bucket lock.
//
// Store, Swap and LoadOrStore are not here: a closure passed to update
// through these generic helpers escapes to the heap (the call goes through
// the type parameter's dictionary, which escape analysis cannot see into),
// so each variant calls its own update for them and saves an allocation
// per write. The helpers below keep the rarer operations in one place.

// updResult is what an update did: the value before (old, loaded) and
// after (cur, ok).
type updResult[V any] struct {
	old, cur   V
	loaded, ok bool
}

type updater[K comparable, V any] interface {
	Load(key K) (V, bool)
	update(key K, f func(old V, loaded bool) (V, ComputeOp)) updResult[V]
}

// storeIfAbsent is LoadOrStore's update function. Each variant's
// LoadOrStore passes it to its own update (not through a generic helper):
// this small function inlines, so the closure stays on the caller's stack.
func storeIfAbsent[V any](value V) func(old V, loaded bool) (V, ComputeOp) {
	return func(old V, loaded bool) (V, ComputeOp) {
		if loaded {
			return old, CancelOp
		}
		return value, UpdateOp
	}
}

// absentAnswer holds f's answer for an absent key during one update, so
// that f runs once for it however often the update must start again: after
// a failed CAS, and in ClickMap when the insert starts or meets a resize
// and moves to the next table. Reusing the answer is exact: f is a function
// of (old, loaded), every call for an absent key is f(zero, false), and the
// update takes effect at an instant when the key is absent.
type absentAnswer[V any] struct {
	nv   V
	op   ComputeOp
	have bool
}

// get returns f(zero, false), calling f the first time only.
func (a *absentAnswer[V]) get(f func(old V, loaded bool) (V, ComputeOp)) (V, ComputeOp) {
	if !a.have {
		var zero V
		a.nv, a.op = f(zero, false)
		a.have = true
	}
	return a.nv, a.op
}

func doLoadAndDelete[K comparable, V any, M updater[K, V]](m M, key K) (V, bool) {
	if v, ok := m.Load(key); !ok {
		return v, false
	}
	r := m.update(key, func(old V, _ bool) (V, ComputeOp) { return old, DeleteOp })
	return r.old, r.loaded
}

func doCompareAndSwap[K comparable, V any, M updater[K, V]](m M, eq func(a, b V) bool, key K, old, new V) bool {
	eq = mustEqual(eq)
	if cur, ok := m.Load(key); !ok || !eq(cur, old) {
		return false
	}
	swapped := false
	m.update(key, func(cur V, loaded bool) (V, ComputeOp) {
		swapped = loaded && eq(cur, old)
		if swapped {
			return new, UpdateOp
		}
		return cur, CancelOp
	})
	return swapped
}

func doCompareAndDelete[K comparable, V any, M updater[K, V]](m M, eq func(a, b V) bool, key K, old V) bool {
	eq = mustEqual(eq)
	if cur, ok := m.Load(key); !ok || !eq(cur, old) {
		return false
	}
	deleted := false
	m.update(key, func(cur V, loaded bool) (V, ComputeOp) {
		deleted = loaded && eq(cur, old)
		if deleted {
			return cur, DeleteOp
		}
		return cur, CancelOp
	})
	return deleted
}

func doCompute[K comparable, V any, M updater[K, V]](m M, key K, f func(old V, loaded bool) (V, ComputeOp)) (V, bool) {
	r := m.update(key, f)
	return r.cur, r.ok
}

func doLoadOrCompute[K comparable, V any, M updater[K, V]](m M, key K, f func() (V, bool)) (V, bool) {
	if v, ok := m.Load(key); ok {
		return v, true
	}
	r := m.update(key, func(old V, loaded bool) (V, ComputeOp) {
		if loaded {
			return old, CancelOp
		}
		nv, cancel := f()
		if cancel {
			return nv, CancelOp
		}
		return nv, UpdateOp
	})
	return r.cur, r.loaded
}
