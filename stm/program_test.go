package stm_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"gostm.dev/stm"
)

// Random transaction programs, a sequential reference interpreter for them
// and a runner on the engine: shared by the model-based property test and
// the fuzz target.

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
