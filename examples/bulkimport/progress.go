package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/schollz/progressbar/v3"
)

// progress is the live progress bar: done/total and the real-time ETA from
// the progressbar library, and in its description the import rate (per
// minute of the API's clock) and the server's remaining budget, as the
// transport's Stats report it. Its methods are safe for concurrent use.
type progress struct {
	bar  *progressbar.ProgressBar
	stop func()
}

// refresh is how often the description is redrawn, in real time.
const refresh = 250 * time.Millisecond

func newProgress(out io.Writer, total int, tr *pacer.Transport, watch demo.Stopwatch, scaled bool) *progress {
	if scaled {
		fmt.Fprintln(out, "rates are per minute of the API's (scaled) clock; the ETA is real time")
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(refresh/2),
		progressbar.OptionSetDescription(describe(tr, watch, 0)),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
	)
	p := &progress{bar: bar}
	p.stop = demo.Every(refresh, func() {
		bar.Describe(describe(tr, watch, bar.State().CurrentNum))
	})
	return p
}

// add records n more records answered.
func (p *progress) add(n int) { _ = p.bar.Add(n) }

// finish stops the refresh and completes the bar (a cancelled run leaves
// it where it stopped).
func (p *progress) finish() {
	p.stop()
	if !p.bar.IsFinished() {
		_ = p.bar.Exit()
	}
}

// describe is the bar's description: rate and server budget.
func describe(tr *pacer.Transport, watch demo.Stopwatch, done int64) string {
	virtual, _ := watch.Elapsed()
	rate := 0.0
	if virtual > 0 {
		rate = float64(done) / virtual.Minutes()
	}
	budget := "budget ?"
	if rl, ok := demo.LatestServer(tr.Stats()); ok {
		budget = fmt.Sprintf("budget %d/%d left", rl.Remaining, rl.Limit)
	}
	return fmt.Sprintf("%6.1f rec/min · %-18s", rate, budget)
}
