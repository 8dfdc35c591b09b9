package tvar

import (
	"fmt"
	"math/bits"

	"gostm.dev/stm"
)

// Test-only access to internals.

// SetHasher makes m hash keys with f instead of maphash, so that tests can
// force full-hash collisions and deep tries. Call it before m is used.
func SetHasher[K comparable, V any](m *Map[K, V], f func(K) uint64) { m.hasher = f }

// SetSetHasher is SetHasher for a Set.
func SetSetHasher[K comparable](s *Set[K], f func(K) uint64) { s.m.hasher = f }

// CheckMap verifies m's trie in tx: every bitmap matches its children,
// every key sits on its own hash's path, lists share one hash and hold
// distinct keys, no node but the root is empty or a lone entry list (the
// canonical form Delete maintains), no node is deeper than maxDepth, and
// the size stripes add up to the number of keys. It returns the first
// violation, or nil, and the number of nodes.
func CheckMap[K comparable, V any](tx *stm.Tx, m *Map[K, V]) (nodes int, err error) {
	keys := 0
	var visit func(n *stm.Var[branch[K, V]], depth int, prefix uint64) error
	visit = func(n *stm.Var[branch[K, V]], depth int, prefix uint64) error {
		nodes++
		if depth >= maxDepth {
			return fmt.Errorf("node at depth %d", depth)
		}
		b := n.Get(tx)
		if bits.OnesCount32(b.bitmap) != len(b.kids) {
			return fmt.Errorf("depth %d: bitmap %b has %d kids", depth, b.bitmap, len(b.kids))
		}
		if depth > 0 && (len(b.kids) == 0 || len(b.kids) == 1 && b.kids[0].sub == nil) {
			return fmt.Errorf("depth %d: non-canonical node with %d kids", depth, len(b.kids))
		}
		mask := uint64(1)<<(uint(depth)*levelBits) - 1
		i := 0
		for slot := range 32 {
			bit := uint32(1) << slot
			if b.bitmap&bit == 0 {
				continue
			}
			kd := b.kids[i]
			i++
			if (kd.sub == nil) == (kd.first == nil) {
				return fmt.Errorf("depth %d slot %d: kid is both or neither node and list", depth, slot)
			}
			p := prefix | uint64(slot)<<(uint(depth)*levelBits)
			if kd.sub != nil {
				if err := visit(kd.sub, depth+1, p); err != nil {
					return err
				}
				continue
			}
			seen := map[K]bool{}
			for e := kd.first; e != nil; e = e.next {
				keys++
				if e.hash != kd.first.hash {
					return fmt.Errorf("list with hashes %x and %x", kd.first.hash, e.hash)
				}
				if seen[e.key] {
					return fmt.Errorf("key %v twice in a list", e.key)
				}
				seen[e.key] = true
				if m.hash(e.key) != e.hash {
					return fmt.Errorf("key %v stored with hash %x, hashes to %x", e.key, e.hash, m.hash(e.key))
				}
				if want := p & (mask<<levelBits | levelMask); e.hash&(mask<<levelBits|levelMask) != want {
					return fmt.Errorf("key %v (hash %x) is on the path %x at depth %d", e.key, e.hash, want, depth)
				}
			}
		}
		return nil
	}
	if err := visit(m.root, 0, 0); err != nil {
		return nodes, err
	}
	if n := m.Len(tx); n != keys {
		return nodes, fmt.Errorf("Len %d, but %d keys in the trie", n, keys)
	}
	return nodes, nil
}
