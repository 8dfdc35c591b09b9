package stm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The index finds every entry, misses every Var not written, and empties
// by generation, including across the generation counter's wrap-around.
func TestWriteIndexGenerations(t *testing.T) {
	vars := make([]varBase, 3000)
	var x writeIndex
	x.gen = ^uint32(0) - 2 // wrap within the loop below
	for round := range 6 {
		n := 40 + round*500
		writes := make([]writeEntry, 0, n)
		for i := range n {
			writes = append(writes, writeEntry{v: &vars[(i*7+round)%len(vars)]})
			if len(writes) == indexAbove+1 {
				x.build(writes)
			} else if x.on {
				x.add(writes[i].v, i, writes)
			}
		}
		written := make(map[*varBase]int, n)
		for i := range writes {
			written[writes[i].v] = i
		}
		for i := range vars {
			want, ok := written[&vars[i]]
			if !ok {
				want = -1
			}
			require.Equal(t, want, x.find(&vars[i], writes), "round %d var %d (generation %d)", round, i, x.gen)
		}
		x.reset()
		require.False(t, x.on)
	}
	require.NotZero(t, x.gen, "generation 0 is never current: zeroed slots are empty")
}

// A large transaction reads its own writes through the index, keeps the
// index for the next one, and an OrElse rollback of part of a large write
// set leaves the index exact.
func TestLargeWriteSets(t *testing.T) {
	vars := make([]*Var[int], 5000)
	for i := range vars {
		vars[i] = NewVar(i)
	}
	for round := range 3 {
		Atomically(func(tx *Tx) error {
			for i, v := range vars {
				v.Set(tx, i+round)
			}
			for i, v := range vars {
				if got := v.Get(tx); got != i+round {
					t.Fatalf("round %d: var %d reads %d, wrote %d", round, i, got, i+round)
				}
			}
			OrElse(tx, func(tx *Tx) int {
				for _, v := range vars[:2000] {
					v.Set(tx, -1)
				}
				extra := NewVar(0)
				extra.Set(tx, 1)
				tx.Retry()
				return 0
			}, func(tx *Tx) int { return 0 })
			for i, v := range vars {
				if got := v.Get(tx); got != i+round {
					t.Fatalf("round %d after rollback: var %d reads %d", round, i, got)
				}
			}
			return nil
		})
		for i, v := range vars {
			require.Equal(t, i+round, v.Load())
		}
	}
}

// The budget: a 1024-write transaction allocates nothing in steady state
// (its logs and index are kept by the Tx).
func TestLargeWriteSetAllocatesNothing(t *testing.T) {
	if debug {
		t.Skip("debug mode (race detector or GOSTMDEBUG) never reuses a Tx or tracks bodies in a map")
	}
	vars := make([]*Var[int], 1024)
	for i := range vars {
		vars[i] = NewVar(i)
	}
	body := func(tx *Tx) error {
		for _, v := range vars {
			v.Set(tx, v.Get(tx)+1)
		}
		return nil
	}
	// sync.Pool may drop a Tx at a garbage collection; AllocsPerRun's
	// average over many runs shows what steady state costs.
	require.Less(t, testing.AllocsPerRun(200, func() { Atomically(body) }), 1.0)
}
