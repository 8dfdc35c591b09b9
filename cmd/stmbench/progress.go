package main

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is a bar on stderr, or nothing: it is drawn only when stderr is
// a terminal and -q was not given, so that redirected output and CI logs
// stay clean.
type progress struct {
	bar *progressbar.ProgressBar
}

func (a *app) newProgress(quiet bool, total int, desc string) *progress {
	if quiet || !a.tty || total <= 0 {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// set moves the bar to done units, naming what runs now.
func (p *progress) set(done int, what string) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(what)
	p.bar.Set(done)
}

// finish clears the bar, so the results start on a clean line.
func (p *progress) finish() {
	if p.bar == nil {
		return
	}
	p.bar.Finish()
}
