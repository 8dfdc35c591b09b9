package lockfree

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"unsafe"
)

// keyHasher is how every variant hashes its keys. Hashing sits on every
// operation's path, so the common cases avoid a call through a function
// value, which the compiler cannot inline: 8-byte integer keys are mixed
// inline with a per-map seed, and other keys without WithHasher go straight
// to maphash.Comparable (which the compiler specialises for the key type).
type keyHasher[K comparable] struct {
	fn     func(K) uint64 // WithHasher's function, or a mixer for small integers; nil otherwise
	intKey bool           // K is an 8-byte integer: mix64 inline
	seed   uint64         // for intKey
	mseed  maphash.Seed   // for maphash.Comparable
}

func newKeyHasher[K comparable](c *config) keyHasher[K] {
	var h keyHasher[K]
	if h.seed, h.intKey = intSeed[K](c); h.intKey {
		return h
	}
	switch t := reflect.TypeFor[K](); {
	case c.hasher != nil:
		h.fn = hasherFor[K](c)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uintptr:
		h.fn = hasherFor[K](c)
	default:
		h.mseed = maphash.MakeSeed()
	}
	return h
}

func (h *keyHasher[K]) hash(key K) uint64 {
	if h.intKey {
		return mix64(*(*uint64)(unsafe.Pointer(&key)), h.seed)
	}
	if h.fn == nil {
		// A direct call, not through a function value: it inlines, and
		// the compiler specialises it for K.
		return maphash.Comparable(h.mseed, key)
	}
	return h.fn(key)
}

// hasherFor returns the hash function that keyHasher calls through a
// function value: the injected one (checked against K), or a multiply-mix
// for integer keys narrower than 8 bytes. Integer keys are mixed with a
// random per-map seed, which spreads keys well but is not as resistant to
// deliberate collision attacks as maphash.
func hasherFor[K comparable](c *config) func(K) uint64 {
	if c.hasher != nil {
		h, ok := c.hasher.(func(K) uint64)
		if !ok {
			panic("lockfree: WithHasher function has type " + reflect.TypeOf(c.hasher).String() +
				", want func(" + reflect.TypeFor[K]().String() + ") uint64")
		}
		return h
	}
	seed := maphash.MakeSeed()
	s := rand.Uint64() | 1
	t := reflect.TypeFor[K]()
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		if t.Size() == 8 {
			return func(k K) uint64 { return mix64(*(*uint64)(unsafe.Pointer(&k)), s) }
		}
	case reflect.Int32, reflect.Uint32:
		return func(k K) uint64 { return mix64(uint64(*(*uint32)(unsafe.Pointer(&k))), s) }
	case reflect.Int16, reflect.Uint16:
		return func(k K) uint64 { return mix64(uint64(*(*uint16)(unsafe.Pointer(&k))), s) }
	case reflect.Int8, reflect.Uint8:
		return func(k K) uint64 { return mix64(uint64(*(*uint8)(unsafe.Pointer(&k))), s) }
	}
	return func(k K) uint64 { return maphash.Comparable(seed, k) }
}

// intSeed reports whether K is an 8-byte integer kind hashed by the default
// mixer (no WithHasher), and returns a seed for it, so that hot paths can
// hash inline instead of through a function value.
func intSeed[K comparable](c *config) (seed uint64, ok bool) {
	if c.hasher != nil {
		return 0, false
	}
	t := reflect.TypeFor[K]()
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return rand.Uint64() | 1, t.Size() == 8
	}
	return 0, false
}

// mix64 is a wyhash-style 64x64->128 multiply folded to 64 bits: a few
// nanoseconds, against 15-20 for maphash.Comparable on an int.
func mix64(x, seed uint64) uint64 {
	hi, lo := bits.Mul64(x^seed, 0xa0761d6478bd642f)
	return hi ^ lo
}
