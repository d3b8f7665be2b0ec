package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"time"

	"github.com/pacerhq/pacer/pacertest"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writeTimeline draws the bulk runs of one API as a PNG: for each
// contender, the requests it sent (accepted and rejected) in the trailing
// window of the API's limit, as requests per second, against the limit
// (Limit/Window); a cross marks each second-bucket that saw 429s.
func writeTimeline(w io.Writer, a *api, runs []bulkResult) error {
	W := a.primary.Window
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s bulk import: requests sent per second, averaged over the trailing %s, "+
		"against the limit (%d per %s); × = 429s", a.name, W, a.primary.Requests, W)
	limit := float64(a.primary.Requests) / W.Seconds()
	if err := addLimit(p, limit, runs); err != nil {
		return err
	}
	for i, r := range runs {
		line, hits := trailing(r, W)
		if err := addLine(p, line, hits, i, r); err != nil {
			return err
		}
	}
	p.X.Label.Text = "virtual time since the first request (minutes)"
	p.X.Tick.Marker = windowTicks(W.Minutes())
	p.Y.Label.Text = "requests / s (trailing-window average)"
	p.Y.Min, p.Y.Max = 0, p.Y.Max*1.15 // room for the legend
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return render(w, p)
}

// trailing returns, for each bucket of a run's server series, the requests
// sent in the window W ending with it, per second, against minutes since
// the run's first request; and the points of buckets that saw 429s.
func trailing(r bulkResult, W time.Duration) (line, hits plotter.XYs) {
	sentIn := func(b pacertest.Bucket) int { return b.Accepted + b.Rejected + b.Failed }
	var sum int
	for i, b := range r.series { // consecutive buckets of equal width
		sum += sentIn(b)
		if k := int(W / b.Width); i >= k {
			sum -= sentIn(r.series[i-k])
		}
		x := b.Start.Add(b.Width).Sub(r.start).Minutes()
		if x < 0 {
			continue
		}
		xy := plotter.XY{X: x, Y: float64(sum) / W.Seconds()}
		line = append(line, xy)
		if b.Rejected > 0 {
			hits = append(hits, xy)
		}
	}
	return line, hits
}

// addLine adds one contender's line and its 429 marks.
func addLine(p *plot.Plot, line, hits plotter.XYs, i int, r bulkResult) error {
	l, err := plotter.NewLine(line)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.5)
	l.Dashes = plotutil.Dashes(i)
	p.Add(l)
	label := fmt.Sprintf("%s (%d×429)", shortName(r.contender), r.rejected)
	if len(hits) == 0 {
		p.Legend.Add(label, l)
		return nil
	}
	s, err := plotter.NewScatter(hits)
	if err != nil {
		return err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(3), Shape: draw.CrossGlyph{}}
	p.Add(s)
	p.Legend.Add(label, l, s)
	return nil
}

// addLimit draws the limit's average rate as a thick grey line.
func addLimit(p *plot.Plot, rate float64, runs []bulkResult) error {
	var end float64
	for _, r := range runs {
		end = max(end, r.wall.Minutes())
	}
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: rate}, {X: end, Y: rate}})
	if err != nil {
		return err
	}
	l.Color = color.Gray{Y: 120}
	l.Width = vg.Points(3)
	p.Add(l)
	p.Legend.Add(fmt.Sprintf("limit, average (%.2f/s)", rate), l)
	return nil
}

// windowTicks labels the x axis (minutes) at every multiple of the
// window, with unlabelled ticks at the quarters.
func windowTicks(w float64) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ts []plot.Tick
		for x := 0.0; x <= hi; x += w / 4 {
			t := plot.Tick{Value: x}
			if int(math.Round(x/(w/4)))%4 == 0 {
				t.Label = fmt.Sprintf("%g", x)
			}
			ts = append(ts, t)
		}
		return ts
	})
}

// render stacks the plots vertically into one PNG.
func render(w io.Writer, plots ...*plot.Plot) error {
	img := vgimg.New(30*vg.Centimeter, 24*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: 6 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	grid := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		grid[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// shortName is a contender's legend label.
func shortName(name string) string {
	for _, c := range contenders() {
		if c.name == name {
			return c.short
		}
	}
	return name
}
