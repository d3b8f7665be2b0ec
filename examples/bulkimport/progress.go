package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress modes (Config.Progress).
const (
	// ProgressAuto draws the bar when the output is a terminal and prints
	// lines otherwise (a redirected or piped run, a CI log).
	ProgressAuto = ""
	// ProgressBar always draws the live bar.
	ProgressBar = "bar"
	// ProgressLines prints one summary line per interval.
	ProgressLines = "lines"
)

// progress reports records answered as the import runs. Its methods are
// safe for concurrent use.
type progress interface {
	add(n int)
	// finish stops the reports; a finished bar stays drawn, lines end with
	// a last one.
	finish()
}

// isTerminal reports whether w is a terminal: only then does redrawing a
// line with carriage returns show a bar rather than hundreds of frames.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress starts the reports in the given mode (resolved already: bar
// or lines).
func newProgress(mode string, out io.Writer, total int, tr *pacer.Transport, watch demo.Stopwatch, scaled bool) progress {
	if mode == ProgressLines {
		return newLines(out, total, tr, watch, lineInterval)
	}
	return newBar(out, total, tr, watch, scaled)
}

// bar is the live progress bar: done/total and the real-time ETA from
// the progressbar library, and in its description the import rate (per
// minute of the API's clock) and the server's remaining budget, as the
// transport's Stats report it.
type bar struct {
	bar  *progressbar.ProgressBar
	stop func()
}

// refresh is how often the bar's description is redrawn, in real time.
const refresh = 250 * time.Millisecond

func newBar(out io.Writer, total int, tr *pacer.Transport, watch demo.Stopwatch, scaled bool) *bar {
	if scaled {
		fmt.Fprintln(out, "rates are per minute of the API's (scaled) clock; the ETA is real time")
	}
	pb := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(refresh/2),
		progressbar.OptionSetDescription(describe(tr, watch, 0)),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
	)
	b := &bar{bar: pb}
	b.stop = demo.Every(refresh, func() {
		pb.Describe(describe(tr, watch, pb.State().CurrentNum))
	})
	return b
}

func (b *bar) add(n int) { _ = b.bar.Add(n) }

// finish stops the refresh and completes the bar (a cancelled run leaves
// it where it stopped).
func (b *bar) finish() {
	b.stop()
	if !b.bar.IsFinished() {
		_ = b.bar.Exit()
	}
}

// describe is the bar's description: rate and server budget.
func describe(tr *pacer.Transport, watch demo.Stopwatch, done int64) string {
	return fmt.Sprintf("%6.1f rec/min · %-18s", rate(watch, done), budget(tr))
}

// rate is the import rate per minute of the API's clock.
func rate(watch demo.Stopwatch, done int64) float64 {
	virtual, _ := watch.Elapsed()
	if virtual <= 0 {
		return 0
	}
	return float64(done) / virtual.Minutes()
}

// budget is what the server last said about its remaining budget.
func budget(tr *pacer.Transport) string {
	if rl, ok := demo.LatestServer(tr.Stats()); ok {
		return fmt.Sprintf("budget %d/%d left", rl.Remaining, rl.Limit)
	}
	return "budget ?"
}

// lineInterval is how often, in real time, lines mode prints a line.
const lineInterval = time.Second

// lines prints one self-contained line per interval, for output that is
// not a terminal: a log keeps every line, so each says everything.
type lines struct {
	out   io.Writer
	total int
	tr    *pacer.Transport
	watch demo.Stopwatch
	done  atomic.Int64
	stop  func()
}

func newLines(out io.Writer, total int, tr *pacer.Transport, watch demo.Stopwatch, every time.Duration) *lines {
	l := &lines{out: out, total: total, tr: tr, watch: watch}
	l.stop = demo.Every(every, l.print)
	return l
}

func (l *lines) add(n int) { l.done.Add(int64(n)) }

func (l *lines) finish() {
	l.stop()
	l.print()
}

// print writes one line: elapsed virtual and real time, records done,
// the rate, the server's budget, and the transport's 429s, retries and
// queue.
func (l *lines) print() {
	done := l.done.Load()
	virtual, wall := l.watch.Elapsed()
	t := demo.Sum(l.tr.Stats())
	width := len(strconv.Itoa(l.total))
	fmt.Fprintf(l.out, "%8s virtual %6s real  %*d/%d records (%3.0f%%)  %5.1f rec/min  %s  429s %d  retries %d  queued %d\n",
		virtual.Round(time.Second), wall.Round(100*time.Millisecond), width, done, l.total,
		100*float64(done)/float64(max(l.total, 1)), rate(l.watch, done), budget(l.tr), t.RateLimited, t.Retries, t.Queued)
}
