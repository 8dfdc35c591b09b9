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
	strKey bool           // K's kind is string: equal compares data pointers first
	seed   uint64         // for intKey
	mseed  maphash.Seed   // for maphash.Comparable
}

func newKeyHasher[K comparable](c *config) keyHasher[K] {
	var h keyHasher[K]
	t := reflect.TypeFor[K]()
	h.strKey = t.Kind() == reflect.String
	switch {
	case c.hasher != nil:
		h.fn = injectedHasher[K](c)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uintptr:
		h.seed = rand.Uint64() | 1
		if h.intKey = t.Size() == 8; !h.intKey {
			h.fn = smallIntHasher[K](t.Size(), h.seed)
		}
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

// equal reports whether the keys at a and b are equal. String keys are
// compared by length and then by data pointer before their bytes, as the
// runtime's own string-keyed maps do: a lookup with the very string a key
// was stored with (common when keys come from one place) then makes no
// call to memequal. The call costs more than its few instructions in a
// lookup loop: every value live across it is spilled and reloaded, on the
// path that found the key too, and a longer path leaves the processor less
// room to overlap one lookup's cache misses with the next one's.
func (h *keyHasher[K]) equal(a, b *K) bool {
	if h.strKey {
		x, y := *(*string)(unsafe.Pointer(a)), *(*string)(unsafe.Pointer(b))
		if len(x) != len(y) {
			return false
		}
		if unsafe.StringData(x) == unsafe.StringData(y) {
			return true
		}
	}
	return *a == *b
}

// injectedHasher returns WithHasher's function, checked against K.
func injectedHasher[K comparable](c *config) func(K) uint64 {
	h, ok := c.hasher.(func(K) uint64)
	if !ok {
		panic("lockfree: WithHasher function has type " + reflect.TypeOf(c.hasher).String() +
			", want func(" + reflect.TypeFor[K]().String() + ") uint64")
	}
	return h
}

// smallIntHasher mixes integer keys narrower than 8 bytes (size 1, 2 or
// 4) with the per-map seed. Integer keys spread well this way but are not
// as resistant to deliberate collision attacks as maphash.
func smallIntHasher[K comparable](size uintptr, seed uint64) func(K) uint64 {
	switch size {
	case 4:
		return func(k K) uint64 { return mix64(uint64(*(*uint32)(unsafe.Pointer(&k))), seed) }
	case 2:
		return func(k K) uint64 { return mix64(uint64(*(*uint16)(unsafe.Pointer(&k))), seed) }
	}
	return func(k K) uint64 { return mix64(uint64(*(*uint8)(unsafe.Pointer(&k))), seed) }
}

// mix64 hashes an integer key with a per-map seed in two rounds. Every
// map indexes its table by the hash's low bits, so those must depend on
// every bit of the key and on the seed; otherwise keys that differ in a
// few chosen bits share a bucket whatever the seed, and a crafted key set
// defeats it.
//
//  1. g: fold the 64x64->128 product of key^seed and a constant (high half
//     xor low half). The high half carries the key's upper bits down, but
//     a product's difference is nearly linear in the key's: keys differing
//     by XOR 0x130000 shared g's low 8 bits 12% of the time, 31 times the
//     1/256 expected, for any seed, when this round was the whole hash.
//  2. Multiply g by an odd constant, so that bit i of the product depends
//     nonlinearly (through the carries) on g's bits 0..i, and rotate by 32,
//     so that the low bits come from the middle of the product, which
//     depends on g's bits 0..39, each of them on every bit of key^seed.
//     (BucketMap's tag, the top 7 bits, comes from product bits 25..31.)
//
// TestMixDifferentialBias measures the result: no key or seed difference
// of 1-3 bits makes a low-8-bit collision measurably likelier than 1/256.
// Round 2 costs two instructions (a multiply and a rotate) on every
// integer-keyed operation. A xorshift (h ^ h>>32) in place of the rotate,
// and the seed xored in again before the multiply, passed the test too,
// for three instructions more; cheaper variants with one multiply (both
// factors taken from the key, or a xorshift of g) did not.
func mix64(x, seed uint64) uint64 {
	hi, lo := bits.Mul64(x^seed, 0xa0761d6478bd642f)
	return bits.RotateLeft64((hi^lo)*0x9e3779b97f4a7c15, 32)
}
