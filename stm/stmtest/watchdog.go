package stmtest

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// watchdog keeps runs moving. When every goroutine not finished is
// blocked in Retry, either all their reads are current, and no commit can
// ever wake them (the workload deadlocked: cancel those transactions at
// once and let the goroutines go on), or one of them read a Var that has
// changed since and must have been woken; if the run still makes no
// progress after the grace period, the wake-up was lost and the run ends.
//
// And when some goroutine is running but nothing at all happens (no
// transaction or attempt begins or ends) for the hang timeout, the engine
// is stuck inside a transaction (a deadlock of commit locks, a reader
// waiting out a lock nobody releases): no cancellation can reach it, so
// the watchdog gives up on the run and says where each goroutine is,
// instead of letting the test hang until go test's timeout.
type watchdog struct {
	rec      *Recorder
	done     []atomic.Bool
	cancels  []atomic.Pointer[context.CancelFunc]
	gids     []atomic.Uint64 // each worker's goroutine id, for hang reports
	stop     *atomic.Bool
	grace    time.Duration
	hang     time.Duration
	finished chan struct{}

	deadlocks int
	lost      []staleRead
	hung      string // where the goroutines were stuck, if the run hung
}

// cancelBlocked cancels the transaction of every unfinished goroutine.
func (wd *watchdog) cancelBlocked() {
	for g := range wd.cancels {
		if c := wd.cancels[g].Load(); c != nil && !wd.done[g].Load() {
			(*c)()
		}
	}
}

type staleRead struct {
	client       int
	v            *varInfo
	read, latest uint64
}

func (wd *watchdog) run() {
	var timer *time.Timer
	var timerC <-chan time.Time
	var armedAt uint64
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	ticker := time.NewTicker(wd.hang / 4)
	defer ticker.Stop()
	lastClock, lastChange := wd.rec.clock.Load(), time.Now()
	for {
		fired := false
		select {
		case <-wd.finished:
			return
		case <-wd.rec.notify:
		case <-timerC:
			fired = true
			timerC = nil
		case now := <-ticker.C:
			if c := wd.rec.clock.Load(); c != lastClock {
				lastClock, lastChange = c, now
				continue
			}
			if now.Sub(lastChange) < wd.hang {
				continue
			}
			if running := wd.running(); len(running) > 0 {
				wd.hung = fmt.Sprintf("nothing happened for %v while goroutines %v were running (not blocked in Retry): "+
					"the engine is stuck inside a transaction (a deadlock or livelock); they were at:%s",
					wd.hang, running, wd.stacks(running))
				wd.stop.Store(true)
				return
			}
			continue
		}
		stale, blocked := wd.inspect()
		switch {
		case blocked == 0:
			continue // someone is running, or everyone has finished
		case len(stale) == 0:
			wd.deadlocks++
			wd.cancelBlocked()
		case fired && wd.rec.clock.Load() == armedAt:
			wd.lost = stale
			wd.stop.Store(true)
			wd.cancelBlocked()
			return
		case timerC == nil:
			armedAt = wd.rec.clock.Load()
			timer = time.NewTimer(wd.grace)
			timerC = timer.C
		}
	}
}

// running returns the workers that have not finished and are not blocked
// in Retry.
func (wd *watchdog) running() []int {
	wd.rec.stateMu.Lock()
	defer wd.rec.stateMu.Unlock()
	var gs []int
	for g := range wd.done {
		if !wd.done[g].Load() && wd.rec.Client(g).state.Load() != clientBlocked {
			gs = append(gs, g)
		}
	}
	return gs
}

// goroutineID returns the calling goroutine's id, as its stack trace
// header ("goroutine 7 [running]:") shows it; 0 if it cannot be read.
func goroutineID() uint64 {
	var buf [64]byte
	f := strings.Fields(string(buf[:runtime.Stack(buf[:], false)]))
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(f[1], 10, 64)
	return id
}

// stacks describes where the given workers are, one line each: the
// goroutine's state and its call chain inside the engine, innermost first.
func (wd *watchdog) stacks(workers []int) string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var b strings.Builder
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		lines := strings.Split(string(block), "\n")
		f := strings.Fields(lines[0])
		if len(f) < 3 || f[0] != "goroutine" {
			continue
		}
		id, _ := strconv.ParseUint(f[1], 10, 64)
		g := slices.IndexFunc(workers, func(g int) bool { return wd.gids[g].Load() == id })
		if g < 0 {
			continue
		}
		var chain []string
		for _, l := range lines[1:] {
			if fn, ok := strings.CutPrefix(l, "gostm.dev/stm."); ok {
				if i := strings.LastIndexByte(fn, '('); i > 0 {
					fn = fn[:i]
				}
				chain = append(chain, "stm."+fn)
			}
		}
		fmt.Fprintf(&b, "\n    goroutine %d %s: %s", workers[g], strings.TrimSuffix(strings.Join(f[2:], " "), ":"), strings.Join(chain, " < "))
	}
	return b.String()
}

// inspect returns how many goroutines are blocked in Retry, or 0 unless
// every unfinished one is, and which of their reads are stale.
func (wd *watchdog) inspect() (stale []staleRead, blocked int) {
	wd.rec.stateMu.Lock()
	defer wd.rec.stateMu.Unlock()
	for g := range wd.done {
		if wd.done[g].Load() {
			continue
		}
		c := wd.rec.Client(g)
		if c.state.Load() != clientBlocked {
			return nil, 0
		}
		blocked++
		for _, r := range *c.blocked.Load() {
			if l := r.v.latest.Load(); l > r.ver {
				stale = append(stale, staleRead{g, r.v, r.ver, l})
			}
		}
	}
	return stale, blocked
}
