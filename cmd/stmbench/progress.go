package main

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is a bar on stderr, or nothing: it is drawn only when stderr is
// a terminal and -q was not given, so that redirected output and CI logs
// stay clean. Its line always fits the terminal: a line that wraps leaves
// its first part behind when the bar redraws.
type progress struct {
	bar     *progressbar.ProgressBar
	descMax int // the longest description that fits
}

// Layout of the bar's line: description, then " 100% |", the bar, "| " and
// "[elapsed:left] " (up to "[1h23m45s:1h23m45s] ").
const (
	barFixed    = len(" 100% |") + len("| ") + len("[1h23m45s:1h23m45s] ")
	barMinWidth = 10
	barMaxWidth = 30
	// minTermWidth is the narrowest terminal that gets a bar at all.
	minTermWidth = barFixed + barMinWidth + 1
)

func (a *app) newProgress(quiet bool, total int, desc string) *progress {
	cols := a.width
	if cols <= 0 {
		cols = 80
	}
	if quiet || !a.tty || total <= 0 || cols < minTermWidth {
		return &progress{}
	}
	// The bar takes a quarter of the line; the description what is left,
	// less one column so that the cursor never reaches the edge.
	w := min(barMaxWidth, max(barMinWidth, cols/4))
	p := &progress{descMax: cols - 1 - barFixed - w}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(p.fit(desc)),
		progressbar.OptionSetWidth(w),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

// fit shortens a description to the room the terminal leaves.
func (p *progress) fit(desc string) string {
	r := []rune(desc)
	if len(r) <= p.descMax {
		return desc
	}
	if p.descMax <= 1 {
		return ""
	}
	return string(r[:p.descMax-1]) + "…"
}

// set moves the bar to done units, naming what runs now.
func (p *progress) set(done int, what string) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(p.fit(what))
	p.bar.Set(done)
}

// clear erases the bar, so that results can be printed on a clean line;
// the next set draws it again.
func (p *progress) clear() {
	if p.bar == nil {
		return
	}
	p.bar.Clear()
}

// finish clears the bar for good.
func (p *progress) finish() {
	if p.bar == nil {
		return
	}
	p.bar.Finish()
}
