package stmtest

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"

	"github.com/leanovate/gopter"
)

// Code is the kind of one instruction of a generated transaction program.
type Code string

// The instructions. Values are int64s whose low 10 bits, the payload, are
// what programs compute with; the high bits make every written value unique
// (see CheckBlackBox).
const (
	Get    Code = "get"    // read Var
	Set    Code = "set"    // write Var with payload Arg
	Modify Code = "modify" // Var.Modify: payload (old payload + Arg) mod 1024
	// Commute is Var.Commute with Modify's function: a blind update of
	// Var, applied at commit to its latest value.
	Commute Code = "commute"
	Await   Code = "await"  // read Var; Retry unless its payload has the parity of Arg
	OrElse  Code = "orelse" // stm.OrElse over Alts
	Retry   Code = "retry"  // tx.Retry (generated only inside OrElse alternatives that have a successor)
	Fail    Code = "fail"   // return an error
	Panic   Code = "panic"  // panic
	Yield   Code = "yield"  // runtime.Gosched, to vary interleavings
	// View, as the first instruction of a transaction's program, runs the
	// rest with stm.View: then only Get, Yield and Panic may follow.
	View Code = "view"
)

// Instr is one instruction of a transaction program.
type Instr struct {
	Code Code      `json:"op"`
	Var  int       `json:"var,omitempty"` // index into the workload's Vars
	Arg  int       `json:"arg,omitempty"`
	Alts []Program `json:"alts,omitempty"` // OrElse only
}

// Program is the body of one transaction.
type Program []Instr

// IsView reports whether p runs as stm.View (it starts with View).
func (p Program) IsView() bool { return len(p) > 0 && p[0].Code == View }

// Workload is a generated test case: Vars Vars, all starting at 0, and
// for each goroutine the transactions it runs in order.
type Workload struct {
	Vars       int         `json:"vars"`
	Goroutines [][]Program `json:"goroutines"`
}

const payloadBits = 10

func payload(v int64) int { return int(v & (1<<payloadBits - 1)) }

func varName(i int) string {
	if i < 3 {
		return string(rune('x' + i))
	}
	return fmt.Sprintf("v%d", i)
}

// String shows the instruction as in a workload's listing: "x+=5", "await y%2==1".
func (in Instr) String() string {
	switch in.Code {
	case Get, Yield, Retry, Fail, Panic, View:
		if in.Code == Get {
			return "get " + varName(in.Var)
		}
		return string(in.Code)
	case Set:
		return fmt.Sprintf("%s=%d", varName(in.Var), in.Arg)
	case Modify:
		return fmt.Sprintf("%s+=%d", varName(in.Var), in.Arg)
	case Commute:
		return fmt.Sprintf("commute %s+=%d", varName(in.Var), in.Arg)
	case Await:
		return fmt.Sprintf("await %s%%2==%d", varName(in.Var), in.Arg%2)
	case OrElse:
		alts := make([]string, len(in.Alts))
		for i, a := range in.Alts {
			alts[i] = a.String()
		}
		return "orelse(" + strings.Join(alts, " | ") + ")"
	}
	return string(in.Code) + "?"
}

// String shows the program as a bracketed list of instructions.
func (p Program) String() string {
	s := make([]string, len(p))
	for i, in := range p {
		s[i] = in.String()
	}
	return "[" + strings.Join(s, "; ") + "]"
}

// String shows w readably, one goroutine per line, followed by its JSON
// form for Replay.
func (w Workload) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d vars, %d goroutines:", w.Vars, len(w.Goroutines))
	for g, txs := range w.Goroutines {
		fmt.Fprintf(&b, "\n  g%d:", g)
		for _, p := range txs {
			b.WriteString(" ")
			b.WriteString(p.String())
		}
	}
	j, _ := json.Marshal(w)
	fmt.Fprintf(&b, "\n  replay: stmtest.Replay(t, stmtest.MustParseWorkload(`%s`))", j)
	return b.String()
}

// ParseWorkload parses the JSON form of a workload (as printed by String).
func ParseWorkload(s string) (Workload, error) {
	var w Workload
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return w, fmt.Errorf("stmtest: workload: %w", err)
	}
	if w.Vars < 1 {
		return w, fmt.Errorf("stmtest: workload needs at least one Var")
	}
	for g, txs := range w.Goroutines {
		for i, p := range txs {
			if err := p.validate(w.Vars, true); err != nil {
				return w, fmt.Errorf("stmtest: workload: goroutine %d, transaction %d: %w", g, i, err)
			}
		}
	}
	return w, nil
}

// validate reports what makes p impossible to run: an unknown instruction
// or Var, an OrElse with fewer than two alternatives, a View anywhere but
// at the start of a transaction (top), or a View program that could write
// or block, which stm.View forbids.
func (p Program) validate(vars int, top bool) error {
	view := top && p.IsView()
	for i, in := range p {
		if in.Var < 0 || in.Var >= vars {
			return fmt.Errorf("%s: no Var %d", in, in.Var)
		}
		switch in.Code {
		case Get, Yield, Panic:
		case View:
			if i != 0 || !top {
				return fmt.Errorf("view must be the first instruction of a transaction")
			}
		case Set, Modify, Commute, Await, Retry, Fail, OrElse:
			if view {
				return fmt.Errorf("%s cannot run in a View", in)
			}
			if in.Code != OrElse {
				break
			}
			if len(in.Alts) < 2 {
				return fmt.Errorf("orelse needs two alternatives or more")
			}
			for _, alt := range in.Alts {
				if err := alt.validate(vars, false); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unknown instruction %q", in.Code)
		}
	}
	return nil
}

// MustParseWorkload is ParseWorkload for tests: it panics on an error.
func MustParseWorkload(s string) Workload {
	w, err := ParseWorkload(s)
	if err != nil {
		panic(err)
	}
	return w
}

// GenConfig shapes generated workloads. The zero value of a field means
// its default.
type GenConfig struct {
	Vars          int // Vars per workload (default 3)
	MinGoroutines int // default 2
	MaxGoroutines int // default 8
	MaxTxns       int // transactions per goroutine, at least 1 (default 4)
	MaxLen        int // instructions per program, at least 1 (default 5)
	// NoBlocking leaves out Await and Retry; NoFailures leaves out Fail and
	// Panic.
	NoBlocking, NoFailures bool
	// NoCommute leaves out Commute (its share goes to Set); NoView
	// leaves out View. Otherwise about one transaction in eight is a View
	// and one in sixteen a read-only Atomically of the same shape, the
	// transactions that may read versions older than the newest.
	NoCommute, NoView bool
}

func (c GenConfig) withDefaults() GenConfig {
	def := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&c.Vars, 3)
	def(&c.MinGoroutines, 2)
	def(&c.MaxGoroutines, 8)
	def(&c.MaxTxns, 4)
	def(&c.MaxLen, 5)
	c.MaxGoroutines = max(c.MaxGoroutines, c.MinGoroutines)
	return c
}

// GenWorkload returns a gopter generator of workloads. Its shrinker drops
// goroutines, transactions, instructions and OrElse alternatives.
func GenWorkload(cfg GenConfig) gopter.Gen {
	cfg = cfg.withDefaults()
	return func(p *gopter.GenParameters) *gopter.GenResult {
		return gopter.NewGenResult(cfg.Generate(p.Rng), ShrinkWorkload)
	}
}

// Generate draws one workload from rng.
func (c GenConfig) Generate(rng *rand.Rand) Workload {
	c = c.withDefaults()
	w := Workload{Vars: c.Vars}
	n := c.MinGoroutines + rng.Intn(c.MaxGoroutines-c.MinGoroutines+1)
	for range n {
		txs := make([]Program, 1+rng.Intn(c.MaxTxns))
		for i := range txs {
			switch k := rng.Intn(16); {
			case k < 2 && !c.NoView:
				txs[i] = append(Program{{Code: View}}, c.readOnly(rng)...)
			case k < 3 && !c.NoView:
				txs[i] = c.readOnly(rng)
			default:
				txs[i] = c.program(rng, 0, false)
			}
		}
		w.Goroutines = append(w.Goroutines, txs)
	}
	return w
}

// program draws a program; canRetry says whether an alternative follows
// this one, so that a Retry moves on instead of blocking with perhaps
// nothing read (which the engine rejects with a panic).
func (c GenConfig) program(rng *rand.Rand, depth int, canRetry bool) Program {
	p := make(Program, 1+rng.Intn(c.MaxLen))
	for i := range p {
		in := Instr{Var: rng.Intn(c.Vars), Arg: rng.Intn(1 << payloadBits)}
		switch k := rng.Intn(100); {
		case k < 25:
			in = Instr{Code: Get, Var: in.Var}
		case k < 38:
			in.Code = Set
		case k < 60:
			in.Code = Modify
		case k < 67 && c.NoCommute:
			in.Code = Set
		case k < 67:
			in.Code = Commute
		case k < 70 && !c.NoBlocking:
			in.Code, in.Arg = Await, in.Arg%2
		case k < 80 && depth < 2:
			in = Instr{Code: OrElse}
			alts := 2 + rng.Intn(2)
			for a := range alts {
				in.Alts = append(in.Alts, c.program(rng, depth+1, canRetry || a < alts-1))
			}
		case k < 86 && canRetry && !c.NoBlocking:
			in = Instr{Code: Retry}
		case k < 87 && !c.NoFailures:
			in = Instr{Code: Fail}
		case k < 88 && !c.NoFailures:
			in = Instr{Code: Panic}
		case k < 95:
			in = Instr{Code: Yield}
		default:
			in = Instr{Code: Get, Var: in.Var}
		}
		p[i] = in
	}
	return p
}

// readOnly draws a program that only reads: Gets of random Vars with
// Yields between them, so that writers commit while it runs, and rarely a
// Panic. It is long (up to twice MaxLen), the better to read across
// several commits.
func (c GenConfig) readOnly(rng *rand.Rand) Program {
	p := make(Program, 1+rng.Intn(2*c.MaxLen))
	for i := range p {
		switch k := rng.Intn(100); {
		case k < 70:
			p[i] = Instr{Code: Get, Var: rng.Intn(c.Vars)}
		case k < 99 || c.NoFailures:
			p[i] = Instr{Code: Yield}
		default:
			p[i] = Instr{Code: Panic}
		}
	}
	return p
}

// ShrinkWorkload is the gopter shrinker of workloads: each candidate drops
// one goroutine, one transaction, one instruction (at any depth) or one
// OrElse alternative.
func ShrinkWorkload(v any) gopter.Shrink {
	w := v.(Workload)
	var cands []Workload
	if len(w.Goroutines) > 1 {
		for g := range w.Goroutines {
			c := w.clone()
			c.Goroutines = append(c.Goroutines[:g], c.Goroutines[g+1:]...)
			cands = append(cands, c)
		}
	}
	for g, txs := range w.Goroutines {
		if len(txs) > 1 {
			for i := range txs {
				c := w.clone()
				c.Goroutines[g] = append(c.Goroutines[g][:i], c.Goroutines[g][i+1:]...)
				cands = append(cands, c)
			}
		}
		for i, p := range txs {
			for _, sp := range shrinkProgram(p) {
				c := w.clone()
				c.Goroutines[g][i] = sp
				cands = append(cands, c)
			}
		}
	}
	i := 0
	return func() (any, bool) {
		if i >= len(cands) {
			return nil, false
		}
		i++
		return cands[i-1], true
	}
}

// shrinkProgram returns the programs one step smaller than p.
func shrinkProgram(p Program) []Program {
	var out []Program
	for i, in := range p {
		if len(p) > 1 {
			out = append(out, append(append(Program{}, p[:i]...), p[i+1:]...))
		}
		if in.Code != OrElse {
			continue
		}
		if len(in.Alts) > 2 {
			for a := range in.Alts {
				alts := append(append([]Program{}, in.Alts[:a]...), in.Alts[a+1:]...)
				out = append(out, p.with(i, Instr{Code: OrElse, Alts: alts}))
			}
		}
		for a, alt := range in.Alts {
			for _, sa := range shrinkProgram(alt) {
				alts := append([]Program{}, in.Alts...)
				alts[a] = sa
				out = append(out, p.with(i, Instr{Code: OrElse, Alts: alts}))
			}
		}
	}
	return out
}

func (p Program) with(i int, in Instr) Program {
	q := append(Program{}, p...)
	q[i] = in
	return q
}

func (w Workload) clone() Workload {
	c := Workload{Vars: w.Vars, Goroutines: make([][]Program, len(w.Goroutines))}
	for g, txs := range w.Goroutines {
		c.Goroutines[g] = append([]Program{}, txs...)
	}
	return c
}

// size counts w's instructions, those inside OrElse alternatives included.
func (w Workload) size() int {
	n := 0
	for _, txs := range w.Goroutines {
		for _, p := range txs {
			n += p.size()
		}
	}
	return n
}

func (p Program) size() int {
	n := len(p)
	for _, in := range p {
		for _, a := range in.Alts {
			n += a.size()
		}
	}
	return n
}
