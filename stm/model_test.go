package stm_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"gostm.dev/stm"
)

// Serializability by model checking: gopter generates random transaction
// programs for 2–4 goroutines; they run concurrently on the engine, and the
// run passes only if some serial order of the transactions (keeping each
// goroutine's order) makes a sequential reference interpreter produce every
// value each transaction read, each one's outcome and the final state.

type workload [][][]op // goroutine -> transactions -> program

func decodeWorkload(goroutines int, raw [][]int) workload {
	w := make(workload, goroutines)
	for i, r := range raw {
		d := decoder{r}
		w[i%goroutines] = append(w[i%goroutines], d.program(6, 0, false))
	}
	return w
}

// runWorkload runs w concurrently and returns each transaction's result and
// the final state.
func runWorkload(w workload) ([][]result, [modelVars]int) {
	vars := make([]*stm.Var[int], modelVars)
	for i := range vars {
		vars[i] = stm.NewVar(0)
	}
	results := make([][]result, len(w))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g, txs := range w {
		wg.Go(func() {
			<-start
			for _, p := range txs {
				results[g] = append(results[g], execute(p, vars))
			}
		})
	}
	close(start)
	wg.Wait()
	var final [modelVars]int
	for i, v := range vars {
		final[i] = v.Load()
	}
	return results, final
}

// serialOrderExists searches the interleavings of the goroutines'
// transactions for one under which the model reproduces every result.
func serialOrderExists(w workload, results [][]result, final [modelVars]int) bool {
	type key struct {
		pos   [4]int
		state [modelVars]int
	}
	seen := map[key]bool{}
	pos := make([]int, len(w))
	var search func(state [modelVars]int) bool
	search = func(state [modelVars]int) bool {
		var k key
		copy(k.pos[:], pos)
		k.state = state
		if seen[k] {
			return false
		}
		seen[k] = true
		done := true
		for g := range w {
			if pos[g] == len(w[g]) {
				continue
			}
			done = false
			res, after := modelRun(w[g][pos[g]], state)
			if !res.equal(results[g][pos[g]]) {
				continue
			}
			pos[g]++
			ok := search(after)
			pos[g]--
			if ok {
				return true
			}
		}
		return done && state == final
	}
	return search([modelVars]int{})
}

func serializabilityProperties(t *testing.T, seed uint64, cases int) *gopter.Properties {
	params := gopter.DefaultTestParametersWithSeed(int64(seed))
	params.MinSuccessfulTests = cases
	props := gopter.NewProperties(params)
	props.Property("concurrent runs match a serial order of the model", prop.ForAll(
		func(goroutines int, raw [][]int) string {
			w := decodeWorkload(goroutines, raw)
			for range 3 { // outcomes vary between runs: try a few
				results, final := runWorkload(w)
				if !serialOrderExists(w, results, final) {
					return describeFailure(w, results, final)
				}
			}
			return ""
		},
		gen.IntRange(2, 4),
		gen.SliceOfN(9, gen.SliceOf(gen.IntRange(0, 1<<12))),
	))
	return props
}

func describeFailure(w workload, results [][]result, final [modelVars]int) string {
	var b strings.Builder
	b.WriteString("no serial order explains this run:\n")
	for g, txs := range w {
		for i, p := range txs {
			fmt.Fprintf(&b, "  g%d tx%d %s -> reads %v outcome %d\n", g, i, programString(p), results[g][i].reads, results[g][i].outcome)
		}
	}
	fmt.Fprintf(&b, "  final state %v", final)
	return b.String()
}

func TestSerializableAgainstSequentialModel(t *testing.T) {
	seed := testSeed(t)
	cases := 300
	if testing.Short() {
		cases = 50
	}
	serializabilityProperties(t, seed, cases).TestingRun(t)
}

// The model check can fail: with commit-time validation switched off the
// engine loses updates, and the search finds no serial order.
func TestSerializabilityCheckCatchesLostUpdates(t *testing.T) {
	stm.SetSkipCommitValidation(true)
	defer stm.SetSkipCommitValidation(false)
	seed := testSeed(t)
	var out strings.Builder
	ok := serializabilityProperties(t, seed, 300).Run(gopter.NewFormatedReporter(false, 160, &out))
	if ok {
		t.Fatalf("the engine without commit validation passed 300 cases: the check proves nothing (seed %d)", seed)
	}
	t.Logf("caught, as it should be:\n%s", out.String())
}
