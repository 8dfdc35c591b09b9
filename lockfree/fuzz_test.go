package lockfree

import (
	"maps"
	"testing"
)

// FuzzMapOps decodes bytes into an operation sequence and runs it on every
// variant and on a Go map, comparing every result and the final contents.
// Byte 0 picks the hash function and initial size; then each operation
// takes 3 bytes: op, key, argument. Run with
//
//	go test -fuzz FuzzMapOps ./lockfree
func FuzzMapOps(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 0, 1, 0})
	f.Add([]byte{1, 10, 0, 200, 0, 5, 0, 11, 0, 150, 14, 0, 0})
	f.Add([]byte{2, 10, 0, 255, 1, 3, 1, 4, 3, 0, 11, 0, 255, 13, 0, 0})
	f.Add([]byte{3, 2, 7, 3, 6, 7, 9, 8, 7, 5, 9, 7, 6, 7, 7, 2, 7, 1, 12, 0, 0, 10, 0, 40})
	f.Add([]byte{4, 10, 0, 100, 8, 3, 3, 8, 3, 2, 9, 4, 0, 9, 4, 3, 14, 0, 0, 15, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		if len(data) > 600 {
			data = data[:600] // keep executions (and minimization) fast
		}
		mode := int(data[0])
		opts := append([]Option(nil), hashModes[mode%len(hashModes)].opts...)
		if mode/len(hashModes)%2 == 0 {
			opts = append(opts, WithPresize(1))
		}
		for _, v := range variants {
			model := map[int]int{}
			m := v.newII(opts...)
			for i := 1; i+2 < len(data); i += 3 {
				op := opKind(data[i] % byte(numOps))
				k, a := int(data[i+1]%32), int(data[i+2])
				switch op {
				case opRange:
					got, err := contents(m)
					if err != nil || !maps.Equal(got, model) {
						t.Fatalf("%s: op %d Range: %v %v, want %v", v.name, i/3, sorted(got), err, sorted(model))
					}
					continue
				case opRangeBreak:
					n := 0
					for range m.All() {
						if n++; n == a%5+1 {
							break
						}
					}
					if want := min(a%5+1, len(model)); n != want {
						t.Fatalf("%s: op %d RangeBreak yielded %d, want %d", v.name, i/3, n, want)
					}
					continue
				case opStoreRange, opDeleteRange:
					// a is the count; keys up to 32+255 make tables grow.
				default:
					a %= 4
				}
				b := int(data[i+2] >> 4 % 4)
				want := applyModel(model, op, k, a, b)
				if got := applyMap(m, op, k, a, b); got != want {
					t.Fatalf("%s: op %d %v(k=%d a=%d b=%d) = %+v, want %+v", v.name, i/3, op, k, a, b, got, want)
				}
			}
			got, err := contents(m)
			if err != nil || !maps.Equal(got, model) || m.Len() != len(model) {
				t.Fatalf("%s: final contents %v (%v), Len %d; want %v", v.name, sorted(got), err, m.Len(), sorted(model))
			}
		}
	})
}
