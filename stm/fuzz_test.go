package stm_test

import (
	"encoding/binary"
	"testing"

	"gostm.dev/stm"
)

// FuzzSequentialMatchesModel decodes the input into a few transaction
// programs (reads, writes, nested OrElse with rollbacks, errors, panics),
// runs them one after another on the engine and on the reference
// interpreter, and requires the same reads, outcomes and final state.
//
//	go test -fuzz FuzzSequentialMatchesModel ./stm/
func FuzzSequentialMatchesModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{26, 0, 90, 1, 28, 4, 200, 0, 13, 7, 3, 0, 27, 1, 60, 2, 29, 0, 9, 0})
	f.Add([]byte{24, 0, 24, 0, 24, 0, 29, 0, 15, 0, 17, 1, 30, 0, 31, 0, 11, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ints []int
		for len(data) >= 2 {
			ints = append(ints, int(binary.LittleEndian.Uint16(data)))
			data = data[2:]
		}
		var programs [][]op
		for len(ints) > 0 && len(programs) < 4 {
			n := min(len(ints), 1+ints[0]%8)
			d := decoder{ints[:n]}
			programs = append(programs, d.program(6, 0, false))
			ints = ints[n:]
		}
		vars := make([]*stm.Var[int], modelVars)
		for i := range vars {
			vars[i] = stm.NewVar(0)
		}
		var state [modelVars]int
		for i, p := range programs {
			want, after := modelRun(p, state)
			got := execute(p, vars)
			if !got.equal(want) {
				t.Fatalf("program %d %s: engine read %v outcome %d, model read %v outcome %d",
					i, programString(p), got.reads, got.outcome, want.reads, want.outcome)
			}
			state = after
			for j, v := range vars {
				if v.Load() != state[j] {
					t.Fatalf("after program %d %s: v%d = %d, model says %d", i, programString(p), j, v.Load(), state[j])
				}
			}
		}
	})
}
