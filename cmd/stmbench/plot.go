package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"gostm.dev/bench"
)

// goroutineTicks puts a tick at each goroutine count swept, starred when
// oversubscribed, instead of gonum's decade ticks.
type goroutineTicks struct {
	gs    []int
	procs int
}

func (t goroutineTicks) Ticks(_, _ float64) []plot.Tick {
	ticks := make([]plot.Tick, len(t.gs))
	for i, g := range t.gs {
		label := strconv.Itoa(g)
		if g > t.procs {
			label += "*"
		}
		ticks[i] = plot.Tick{Value: float64(g), Label: label}
	}
	return ticks
}

// siTicks relabels another ticker's labelled ticks as 1k, 1M...: easier
// to read than 1e+06.
type siTicks struct{ plot.Ticker }

func (t siTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := t.Ticker.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = si(ts[i].Value)
		}
	}
	return ts
}

// errPoints are a line's points with min–max error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// writePlot draws throughput against goroutines, one line per engine with
// min–max bars over the repetitions, above a panel of aborts per committed
// transaction for the engines that count them.
func writePlot(path string, env bench.Env, res *bench.Result) error {
	var gs []int
	for _, p := range res.Points {
		if !slices.Contains(gs, p.Goroutines) {
			gs = append(gs, p.Goroutines)
		}
	}
	slices.Sort(gs)
	ticks := goroutineTicks{gs, env.GOMAXPROCS}
	xlabel := "goroutines"
	if gs[len(gs)-1] > env.GOMAXPROCS {
		xlabel = fmt.Sprintf("goroutines (* oversubscribed: more than GOMAXPROCS=%d)", env.GOMAXPROCS)
	}

	tp := plot.New()
	tp.Title.Text = fmt.Sprintf("%s (%s): throughput, median of %d", res.Workload, paramString(res.Params), res.Count)
	if res.Partial {
		tp.Title.Text += " — PARTIAL"
	}
	tp.X.Label.Text = xlabel
	tp.Y.Label.Text = "committed tx/s (log; bars: min–max)"
	ap := plot.New()
	ap.Title.Text = fmt.Sprintf("aborts per committed tx — %s, %s, NumCPU %d", env.GoVersion, env.CPU, env.NumCPU)
	ap.X.Label.Text = xlabel
	ap.Y.Label.Text = "aborts/tx"
	for _, p := range []*plot.Plot{tp, ap} {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = ticks
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
	}
	logY := true
	for _, p := range res.Points {
		if p.TxPerSec.Min <= 0 {
			logY = false // a log axis cannot show zero throughput
		}
	}
	if logY {
		tp.Y.Scale = plot.LogScale{}
		tp.Y.Tick.Marker = siTicks{plot.LogTicks{Prec: -1}}
	}

	counted := 0
	for i, engine := range res.Engines {
		var pts errPoints
		var aborts plotter.XYs
		hasCounters := false
		for _, p := range res.Points {
			if p.Engine != engine {
				continue
			}
			x := float64(p.Goroutines)
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: p.TxPerSec.Median})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{p.TxPerSec.Median - p.TxPerSec.Min, p.TxPerSec.Max - p.TxPerSec.Median})
			if p.HasCounters {
				hasCounters = true
				aborts = append(aborts, plotter.XY{X: x, Y: p.AbortsPerCommit()})
			}
		}
		if len(pts.XYs) == 0 {
			continue
		}
		line, marks, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		style(line, marks, i)
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return err
		}
		bars.LineStyle.Color = plotutil.Color(i)
		tp.Add(line, marks, bars)
		tp.Legend.Add(engine, line, marks)
		if hasCounters {
			l, m, err := plotter.NewLinePoints(aborts)
			if err != nil {
				return err
			}
			style(l, m, i)
			ap.Add(l, m)
			ap.Legend.Add(engine, l, m)
			counted++
		}
	}
	if counted == 0 {
		ap.Title.Text = "aborts per committed tx: none of these engines counts aborts"
	}
	for _, p := range []*plot.Plot{tp, ap} {
		if gs[0] == gs[len(gs)-1] { // one point: give the log axis a width
			p.X.Min, p.X.Max = float64(gs[0])/2, float64(gs[0])*2
		}
	}
	ap.Y.Min = 0
	ap.Legend.Left = true // abort rates grow to the right, under a right-hand legend

	const w, h = 8 * vg.Inch, 9 * vg.Inch
	var c vg.CanvasSizer
	var write func(f *os.File) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		sc := vgsvg.New(w, h)
		c = sc
		write = func(f *os.File) error { _, err := sc.WriteTo(f); return err }
	case ".png":
		ic := vgimg.New(w, h)
		c = ic
		write = func(f *os.File) error { _, err := vgimg.PngCanvas{Canvas: ic}.WriteTo(f); return err }
	default:
		return fmt.Errorf("plot %s: want a .svg or .png file", path)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10), PadY: vg.Points(18)}
	plots := [][]*plot.Plot{{tp}, {ap}}
	canvases := plot.Align(plots, tiles, dc)
	tp.Draw(canvases[0][0])
	ap.Draw(canvases[1][0])

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func style(l *plotter.Line, m *plotter.Scatter, i int) {
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.5)
	m.Color = plotutil.Color(i)
	m.Shape = plotutil.Shape(i)
}
