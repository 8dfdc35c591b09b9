package tvar_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"weak"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

type chanSUT struct {
	c       *tvar.Chan[int]
	readers []*tvar.Reader[int]
}

type chanModel struct {
	log     []int        // every value written
	readers []chanReader // each reader's view
}

type chanReader struct {
	pos  int   // the next index into log
	back []int // values put back with UnGet, the next one first
}

func TestChanModel(t *testing.T) {
	reader := func(n, a int) int { return a % n }
	checkModel(t, spec[*chanSUT, chanModel]{
		kinds:    []string{"Write", "NewReader", "Dup", "Read", "TryRead", "Peek", "TryPeek", "IsEmpty", "Write", "UnGet"},
		sizes:    [2]int{0, 0},
		args:     6,
		newSUT:   func(int) *chanSUT { return &chanSUT{c: tvar.NewChan[int]()} },
		newModel: func(int) chanModel { return chanModel{} },
		clone: func(m chanModel) chanModel {
			c := chanModel{slices.Clone(m.log), slices.Clone(m.readers)}
			for i := range c.readers {
				c.readers[i].back = slices.Clone(c.readers[i].back)
			}
			return c
		},
		save: func(s *chanSUT) func() {
			n := len(s.readers)
			return func() { s.readers = s.readers[:n] }
		},
		sut: func(tx *stm.Tx, s *chanSUT, o op) string {
			switch o.k {
			case 0, 8:
				s.c.Write(tx, o.b)
				return "ok"
			case 1:
				s.readers = append(s.readers, s.c.NewReader(tx))
				return "ok"
			}
			if len(s.readers) == 0 {
				return "no reader"
			}
			r := s.readers[reader(len(s.readers), o.a)]
			switch o.k {
			case 2:
				s.readers = append(s.readers, r.Dup(tx))
				return "ok"
			case 3:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(r.Read(tx)) })
			case 4:
				return str(r.TryRead(tx))
			case 5:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(r.Peek(tx)) })
			case 6:
				return str(r.TryPeek(tx))
			case 7:
				return fmt.Sprint(r.IsEmpty(tx))
			default:
				r.UnGet(tx, 100+o.b)
				return "ok"
			}
		},
		model: func(m *chanModel, o op) string {
			switch o.k {
			case 0, 8:
				m.log = append(m.log, o.b)
				return "ok"
			case 1:
				m.readers = append(m.readers, chanReader{pos: len(m.log)})
				return "ok"
			}
			if len(m.readers) == 0 {
				return "no reader"
			}
			i := reader(len(m.readers), o.a)
			r := &m.readers[i]
			empty := len(r.back) == 0 && r.pos == len(m.log)
			next := func() int {
				if len(r.back) > 0 {
					return r.back[0]
				}
				return m.log[r.pos]
			}
			switch o.k {
			case 2:
				m.readers = append(m.readers, chanReader{r.pos, slices.Clone(r.back)})
				return "ok"
			case 3, 4:
				if empty {
					return map[bool]string{true: "blocked", false: "none"}[o.k == 3]
				}
				v := next()
				if len(r.back) > 0 {
					r.back = r.back[1:]
				} else {
					r.pos++
				}
				return fmt.Sprint(v)
			case 5, 6:
				if empty {
					return map[bool]string{true: "blocked", false: "none"}[o.k == 5]
				}
				return fmt.Sprint(next())
			case 7:
				return fmt.Sprint(empty)
			default:
				r.back = append([]int{100 + o.b}, r.back...)
				return "ok"
			}
		},
	})
}

func TestChanBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := tvar.NewChan[string]()
		atomically(func(tx *stm.Tx) { c.Write(tx, "before any reader") })
		r1 := stm.Eval(c.NewReader)
		r2 := stm.Eval(c.NewReader)
		got1 := eventually(func() string { return stm.Eval(r1.Read) })
		got2 := eventually(func() string { return stm.Eval(r2.Read) })
		stillBlocked(t, got1, "Read by reader 1 of an empty Chan")
		stillBlocked(t, got2, "Read by reader 2 of an empty Chan")
		atomically(func(tx *stm.Tx) { c.Write(tx, "hello") })
		woke(t, got1, "hello", "reader 1")
		woke(t, got2, "hello", "reader 2")
		// A clone starts where its original is; a new reader at the end.
		atomically(func(tx *stm.Tx) { c.Write(tx, "x") })
		r3 := stm.Eval(r1.Dup)
		r4 := stm.Eval(c.NewReader)
		if v := stm.Eval(r3.Read); v != "x" {
			t.Fatalf("Dup'd reader read %q, want x", v)
		}
		got4 := eventually(func() string { return stm.Eval(r4.Read) })
		stillBlocked(t, got4, "Read by a reader created after the last write")
		atomically(func(tx *stm.Tx) { c.Write(tx, "y") })
		woke(t, got4, "y", "reader 4")
	})
}

// Values written with no reader, or passed by every reader, are garbage:
// weak pointers to them go nil after a collection. The weak pointers
// target the values themselves, which only the list cells hold.
func TestChanNoRetention(t *testing.T) {
	type payload struct{ _ [256]byte }
	c := tvar.NewChan[*payload]()
	var unread []weak.Pointer[payload]
	for range 100 {
		p := new(payload)
		unread = append(unread, weak.Make(p))
		atomically(func(tx *stm.Tx) { c.Write(tx, p) })
	}
	r := stm.Eval(c.NewReader)
	var kept []weak.Pointer[payload]
	for range 100 {
		p := new(payload)
		kept = append(kept, weak.Make(p))
		atomically(func(tx *stm.Tx) { c.Write(tx, p) })
	}
	runtime.GC()
	for i, w := range unread {
		if w.Value() != nil {
			t.Fatalf("value %d, written before any reader, is still reachable", i)
		}
	}
	for i, w := range kept {
		if w.Value() == nil {
			t.Fatalf("value %d, not yet read by a live reader, was collected", i)
		}
	}
	for range 50 {
		stm.Eval(r.Read)
	}
	runtime.GC()
	for i, w := range kept {
		if (w.Value() == nil) != (i < 50) {
			t.Fatalf("after reading 50: value %d reachable = %v", i, w.Value() != nil)
		}
	}
	runtime.KeepAlive(r)
	r = nil
	runtime.GC()
	for i, w := range kept {
		if w.Value() != nil {
			t.Fatalf("value %d is still reachable after its only reader was dropped", i)
		}
	}
	runtime.KeepAlive(c)
}

// chanSharedSUT runs the queue stress test on a Chan whose one Reader is
// shared by every consumer (competing consumers).
type chanSharedSUT struct {
	c *tvar.Chan[item]
	r *tvar.Reader[item]
}

func (s chanSharedSUT) push(tx *stm.Tx, it item) { s.c.Write(tx, it) }
func (s chanSharedSUT) pop(tx *stm.Tx) item      { return s.r.Read(tx) }
func (s chanSharedSUT) invariant(*stm.Tx) string { return "" }

func TestChanSharedReader(t *testing.T) {
	c := tvar.NewChan[item]()
	stressFIFO(t, chanSharedSUT{c, stm.Eval(c.NewReader)}, 4, 3, scale(3000, 300, 500))
}

// Broadcast under many producers: every reader (some created up front,
// some cloned from them mid-stream) sees the same sequence, which holds
// every item exactly once in per-producer order.
func TestChanBroadcast(t *testing.T) {
	const producers, readers = 4, 3
	per := scale(2000, 200, 300)
	total := producers * per
	c := tvar.NewChan[item]()
	rs := make([]*tvar.Reader[item], readers)
	for i := range rs {
		rs[i] = stm.Eval(c.NewReader)
	}
	seen := make([][]item, readers)
	var clones [readers][]item // what a clone made at the half-way point reads
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				atomically(func(tx *stm.Tx) { c.Write(tx, item{p, i}) })
			}
		})
	}
	for i, r := range rs {
		wg.Go(func() {
			for len(seen[i]) < total {
				if len(seen[i]) == total/2 {
					clone := stm.Eval(r.Dup)
					wg.Go(func() {
						for range total / 2 {
							clones[i] = append(clones[i], stm.Eval(clone.Read))
						}
					})
				}
				seen[i] = append(seen[i], stm.Eval(r.Read))
			}
		})
	}
	wg.Wait()
	next := make([]int, producers)
	for _, it := range seen[0] {
		if it.seq != next[it.producer] {
			t.Fatalf("reader 0 saw item %d of producer %d, expected %d", it.seq, it.producer, next[it.producer])
		}
		next[it.producer]++
	}
	for i := range readers {
		if !slices.Equal(seen[i], seen[0]) {
			t.Fatalf("reader %d saw a different sequence from reader 0", i)
		}
		if !slices.Equal(clones[i], seen[0][total/2:]) {
			t.Fatalf("the clone of reader %d did not see the rest of its sequence", i)
		}
	}
}
