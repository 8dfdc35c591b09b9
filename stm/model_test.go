package stm_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
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

const modelVars = 3

type opKind uint8

const (
	opRead opKind = iota
	opWrite
	opAdd
	opYield
	opOrElse
	opRetry
	opFail
	opPanic
)

type op struct {
	kind opKind
	v, c int
	alts [][]op // opOrElse only
}

func (o op) String() string {
	switch o.kind {
	case opRead:
		return fmt.Sprintf("read v%d", o.v)
	case opWrite:
		return fmt.Sprintf("v%d=%d", o.v, o.c)
	case opAdd:
		return fmt.Sprintf("v%d+=%d", o.v, o.c)
	case opYield:
		return "yield"
	case opRetry:
		return "retry"
	case opFail:
		return "fail"
	case opPanic:
		return "panic"
	}
	parts := make([]string, len(o.alts))
	for i, a := range o.alts {
		parts[i] = programString(a)
	}
	return "orElse(" + strings.Join(parts, " | ") + ")"
}

func programString(p []op) string {
	s := make([]string, len(p))
	for i, o := range p {
		s[i] = o.String()
	}
	return "[" + strings.Join(s, "; ") + "]"
}

// decoder turns generated integers into a program, so that gopter's
// shrinking of integer slices shrinks programs.
type decoder struct{ in []int }

func (d *decoder) next() (int, bool) {
	if len(d.in) == 0 {
		return 0, false
	}
	n := d.in[0]
	d.in = d.in[1:]
	return n, true
}

// program decodes up to maxLen ops. Retry is generated only where an
// alternative can follow (canRetry), so no top-level transaction blocks
// forever; blocking has deterministic tests of its own.
func (d *decoder) program(maxLen, depth int, canRetry bool) []op {
	var p []op
	for len(p) < maxLen {
		n, ok := d.next()
		if !ok {
			break
		}
		o := op{v: (n >> 5) % modelVars, c: (n >> 7) % 10}
		switch k := n % 32; {
		case k < 10:
			o.kind = opRead
		case k < 16:
			o.kind = opWrite
		case k < 21:
			o.kind = opAdd
		case k < 24:
			o.kind = opYield
		case k < 28 && depth < 2:
			o.kind = opOrElse
			nalts := 2 + (n>>5)%2
			for i := range nalts {
				last := i == nalts-1
				o.alts = append(o.alts, d.program(1+(n>>7)%3, depth+1, canRetry || !last))
			}
		case k < 30 && canRetry:
			o.kind = opRetry
		case k == 30:
			o.kind = opFail
		case k == 31:
			o.kind = opPanic
		default:
			o.kind = opRead
		}
		p = append(p, o)
	}
	return p
}

type outcomeKind uint8

const (
	committed outcomeKind = iota
	failed
	panicked
)

// result is what one transaction observed.
type result struct {
	reads   []int
	outcome outcomeKind
}

func (r result) equal(o result) bool {
	return r.outcome == o.outcome && slices.Equal(r.reads, o.reads)
}

var errModelFail = errors.New("model: fail")

type modelPanic struct{}

// retrySignal unwinds the reference interpreter on Retry.
type modelRetry struct{}

// interpret runs p sequentially on state (mutating it) and appends what it
// reads to reads.
func interpret(p []op, state *[modelVars]int, reads *[]int) (outcome outcomeKind, retried bool) {
	for _, o := range p {
		switch o.kind {
		case opRead:
			*reads = append(*reads, state[o.v])
		case opWrite:
			state[o.v] = o.c
		case opAdd:
			*reads = append(*reads, state[o.v])
			state[o.v] += o.c
		case opRetry:
			return committed, true
		case opFail:
			return failed, false
		case opPanic:
			return panicked, false
		case opOrElse:
			for i, alt := range o.alts {
				saved := *state
				out, r := interpret(alt, state, reads)
				if !r {
					if out != committed {
						return out, false
					}
					break
				}
				*state = saved
				if i == len(o.alts)-1 {
					return committed, true
				}
			}
		}
	}
	return committed, false
}

func modelRun(p []op, state [modelVars]int) (result, [modelVars]int) {
	var res result
	after := state
	out, retried := interpret(p, &after, &res.reads)
	if retried {
		panic("model: top-level retry cannot be generated")
	}
	res.outcome = out
	if out != committed {
		after = state
	}
	return res, after
}

// execute runs p on the engine and returns what its last attempt observed.
func execute(p []op, vars []*stm.Var[int]) (res result) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(modelPanic); !ok {
				panic(r)
			}
			res.outcome = panicked
		}
	}()
	err := stm.Atomically(func(tx *stm.Tx) error {
		res.reads = res.reads[:0] // a new attempt: forget the aborted one
		return engineRun(tx, p, vars, &res.reads)
	})
	if errors.Is(err, errModelFail) {
		res.outcome = failed
	} else if err != nil {
		panic(err)
	}
	return res
}

func engineRun(tx *stm.Tx, p []op, vars []*stm.Var[int], reads *[]int) error {
	for _, o := range p {
		switch o.kind {
		case opRead:
			*reads = append(*reads, vars[o.v].Get(tx))
		case opWrite:
			vars[o.v].Set(tx, o.c)
		case opAdd:
			n := vars[o.v].Get(tx)
			*reads = append(*reads, n)
			vars[o.v].Set(tx, n+o.c)
		case opYield:
			runtime.Gosched()
		case opRetry:
			tx.Retry()
		case opFail:
			return errModelFail
		case opPanic:
			panic(modelPanic{})
		case opOrElse:
			alts := make([]func(*stm.Tx) error, len(o.alts))
			for i, alt := range o.alts {
				alts[i] = func(tx *stm.Tx) error { return engineRun(tx, alt, vars, reads) }
			}
			if err := stm.OrElse(tx, alts[0], alts[1:]...); err != nil {
				return err
			}
		}
	}
	return nil
}

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
