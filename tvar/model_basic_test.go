package tvar_test

import (
	"fmt"
	"slices"
	"testing"

	"gostm.dev/stm"
	"gostm.dev/tvar"
)

type mvarModel struct {
	v    int
	full bool
}

func TestMVarModel(t *testing.T) {
	checkModel(t, spec[*tvar.MVar[int], mvarModel]{
		kinds: []string{"Take", "TryTake", "Put", "TryPut", "Read", "TryRead", "Swap", "IsEmpty", "Write"},
		sizes: [2]int{0, 1},
		args:  10,
		newSUT: func(full int) *tvar.MVar[int] {
			return map[bool]*tvar.MVar[int]{true: tvar.NewMVar(0), false: tvar.NewEmptyMVar[int]()}[full == 1]
		},
		newModel: func(full int) mvarModel { return mvarModel{0, full == 1} },
		clone:    func(m mvarModel) mvarModel { return m },
		sut: func(tx *stm.Tx, m *tvar.MVar[int], o op) string {
			switch o.k {
			case 0:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(m.Take(tx)) })
			case 1:
				return str(m.TryTake(tx))
			case 2:
				return blocking(tx, func(tx *stm.Tx) string { m.Put(tx, o.a); return "ok" })
			case 3:
				return fmt.Sprint(m.TryPut(tx, o.a))
			case 4:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(m.Read(tx)) })
			case 5:
				return str(m.TryRead(tx))
			case 6:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(m.Swap(tx, o.a)) })
			case 7:
				return fmt.Sprint(m.IsEmpty(tx))
			default:
				m.Write(tx, o.a)
				return "ok"
			}
		},
		model: func(m *mvarModel, o op) string {
			switch o.k {
			case 0, 1:
				if !m.full {
					return map[bool]string{true: "blocked", false: "none"}[o.k == 0]
				}
				m.full = false
				return fmt.Sprint(m.v)
			case 2, 3:
				if m.full {
					return map[bool]string{true: "blocked", false: "false"}[o.k == 2]
				}
				m.v, m.full = o.a, true
				return map[bool]string{true: "ok", false: "true"}[o.k == 2]
			case 4, 5:
				if !m.full {
					return map[bool]string{true: "blocked", false: "none"}[o.k == 4]
				}
				return fmt.Sprint(m.v)
			case 6:
				if !m.full {
					return "blocked"
				}
				old := m.v
				m.v = o.a
				return fmt.Sprint(old)
			case 7:
				return fmt.Sprint(!m.full)
			default:
				m.v, m.full = o.a, true
				return "ok"
			}
		},
	})
}

// queueOps are shared by the Queue and BoundedQueue models; a BoundedQueue
// adds TryPush, IsFull, Cap and TryUnGet.
var queueOps = []string{"Push", "Pop", "TryPop", "Peek", "TryPeek", "Len", "IsEmpty", "Drain", "UnGet", "TryPush", "IsFull", "Cap", "TryUnGet"}

type queueModel struct {
	items []int
	cap   int // 0 for unbounded
}

func (m *queueModel) step(o op) string {
	full := m.cap > 0 && len(m.items) == m.cap
	switch o.k {
	case 0, 9:
		if full {
			return map[bool]string{true: "blocked", false: "false"}[o.k == 0]
		}
		m.items = append(m.items, o.a)
		return map[bool]string{true: "ok", false: "true"}[o.k == 0]
	case 1, 2:
		if len(m.items) == 0 {
			return map[bool]string{true: "blocked", false: "none"}[o.k == 1]
		}
		v := m.items[0]
		m.items = m.items[1:]
		return fmt.Sprint(v)
	case 3, 4:
		if len(m.items) == 0 {
			return map[bool]string{true: "blocked", false: "none"}[o.k == 3]
		}
		return fmt.Sprint(m.items[0])
	case 5:
		return fmt.Sprint(len(m.items))
	case 6:
		return fmt.Sprint(len(m.items) == 0)
	case 7:
		s := m.items
		m.items = nil
		if len(s) == 0 {
			s = nil
		}
		return fmt.Sprint(s)
	case 8, 12:
		if full {
			return map[bool]string{true: "blocked", false: "false"}[o.k == 8]
		}
		m.items = append([]int{o.a}, m.items...)
		return map[bool]string{true: "ok", false: "true"}[o.k == 8]
	case 10:
		return fmt.Sprint(full)
	default:
		return fmt.Sprint(m.cap)
	}
}

func cloneQueue(m queueModel) queueModel { m.items = slices.Clone(m.items); return m }

func TestQueueModel(t *testing.T) {
	checkModel(t, spec[*tvar.Queue[int], queueModel]{
		kinds:    queueOps[:9],
		sizes:    [2]int{0, 0},
		args:     100,
		newSUT:   func(int) *tvar.Queue[int] { return tvar.NewQueue[int]() },
		newModel: func(int) queueModel { return queueModel{} },
		clone:    cloneQueue,
		sut: func(tx *stm.Tx, q *tvar.Queue[int], o op) string {
			switch o.k {
			case 0:
				q.Push(tx, o.a)
				return "ok"
			case 1:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(q.Pop(tx)) })
			case 2:
				return str(q.TryPop(tx))
			case 3:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(q.Peek(tx)) })
			case 4:
				return str(q.TryPeek(tx))
			case 5:
				return fmt.Sprint(q.Len(tx))
			case 6:
				return fmt.Sprint(q.IsEmpty(tx))
			case 7:
				return fmt.Sprint(q.Drain(tx))
			default:
				q.UnGet(tx, o.a)
				return "ok"
			}
		},
		model: (*queueModel).step,
	})
}

func TestBoundedQueueModel(t *testing.T) {
	checkModel(t, spec[*tvar.BoundedQueue[int], queueModel]{
		kinds: queueOps,
		sizes: [2]int{1, 4},
		args:  100,
		newSUT: func(c int) *tvar.BoundedQueue[int] {
			q, err := tvar.NewBoundedQueue[int](c)
			if err != nil {
				panic(err)
			}
			return q
		},
		newModel: func(c int) queueModel { return queueModel{cap: c} },
		clone:    cloneQueue,
		sut: func(tx *stm.Tx, q *tvar.BoundedQueue[int], o op) string {
			switch o.k {
			case 0:
				return blocking(tx, func(tx *stm.Tx) string { q.Push(tx, o.a); return "ok" })
			case 1:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(q.Pop(tx)) })
			case 2:
				return str(q.TryPop(tx))
			case 3:
				return blocking(tx, func(tx *stm.Tx) string { return fmt.Sprint(q.Peek(tx)) })
			case 4:
				return str(q.TryPeek(tx))
			case 5:
				return fmt.Sprint(q.Len(tx))
			case 6:
				return fmt.Sprint(q.IsEmpty(tx))
			case 7:
				return fmt.Sprint(q.Drain(tx))
			case 8:
				return blocking(tx, func(tx *stm.Tx) string { q.UnGet(tx, o.a); return "ok" })
			case 9:
				return fmt.Sprint(q.TryPush(tx, o.a))
			case 10:
				return fmt.Sprint(q.IsFull(tx))
			case 11:
				return fmt.Sprint(q.Cap())
			default:
				return fmt.Sprint(q.TryUnGet(tx, o.a))
			}
		},
		model: (*queueModel).step,
	})
}

func TestSemModel(t *testing.T) {
	checkModel(t, spec[*tvar.Sem, int]{
		kinds: []string{"Acquire", "TryAcquire", "Release", "Available"},
		sizes: [2]int{0, 3},
		args:  4,
		newSUT: func(n int) *tvar.Sem {
			s, err := tvar.NewSem(n)
			if err != nil {
				panic(err)
			}
			return s
		},
		newModel: func(n int) int { return n },
		clone:    func(n int) int { return n },
		sut: func(tx *stm.Tx, s *tvar.Sem, o op) string {
			switch o.k {
			case 0:
				return blocking(tx, func(tx *stm.Tx) string { s.Acquire(tx, o.a); return "ok" })
			case 1:
				return fmt.Sprint(s.TryAcquire(tx, o.a))
			case 2:
				s.Release(tx, o.a)
				return "ok"
			default:
				return fmt.Sprint(s.Available(tx))
			}
		},
		model: func(n *int, o op) string {
			switch o.k {
			case 0, 1:
				if *n < o.a {
					return map[bool]string{true: "blocked", false: "false"}[o.k == 0]
				}
				*n -= o.a
				return map[bool]string{true: "ok", false: "true"}[o.k == 0]
			case 2:
				*n += o.a
				return "ok"
			default:
				return fmt.Sprint(*n)
			}
		},
	})
}

func TestArrayModel(t *testing.T) {
	checkModel(t, spec[*tvar.Array[int], []int]{
		kinds: []string{"Get", "Set", "Modify", "Swap", "Snapshot", "Len"},
		sizes: [2]int{1, 5},
		args:  5,
		newSUT: func(n int) *tvar.Array[int] {
			a, err := tvar.NewArray(n, 7)
			if err != nil {
				panic(err)
			}
			return a
		},
		newModel: func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = 7
			}
			return s
		},
		clone: slices.Clone[[]int],
		sut: func(tx *stm.Tx, a *tvar.Array[int], o op) string {
			i := o.a % a.Len()
			switch o.k {
			case 0:
				return fmt.Sprint(a.Get(tx, i))
			case 1:
				a.Set(tx, i, o.b)
				return "ok"
			case 2:
				a.Modify(tx, i, func(v int) int { return v*2 + o.b })
				return "ok"
			case 3:
				return fmt.Sprint(a.Swap(tx, i, o.b))
			case 4:
				return fmt.Sprint(a.Snapshot(tx))
			default:
				return fmt.Sprint(a.Len())
			}
		},
		model: func(s *[]int, o op) string {
			a := *s
			i := o.a % len(a)
			switch o.k {
			case 0:
				return fmt.Sprint(a[i])
			case 1:
				a[i] = o.b
				return "ok"
			case 2:
				a[i] = a[i]*2 + o.b
				return "ok"
			case 3:
				old := a[i]
				a[i] = o.b
				return fmt.Sprint(old)
			case 4:
				return fmt.Sprint(a)
			default:
				return fmt.Sprint(len(a))
			}
		},
	})
}
