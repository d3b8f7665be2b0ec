// Package demo holds what the example journeys share: an embedded pacertest
// API on a scaled clock, a stopwatch for virtual and real time, totals over a
// Transport's Stats, the theoretical minimum time of a run, a periodic
// reporter, and the signal handling and exit status of a journey's main.
//
// Everything in this package is safe for concurrent use by multiple
// goroutines.
package demo

import (
	"context"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// Embedded starts a pacertest server for cfg whose clock runs scale times
// faster than real time. Hand srv.Clock() to the client (pacer.WithClock) so
// both sides agree on virtual time. The caller must Close the server.
func Embedded(cfg pacertest.Config, scale float64) *pacertest.Server {
	cfg.Clock = pacertest.NewScaledClock(scale)
	return pacertest.NewServer(cfg)
}

// AutoScale returns the time scale at which virtual duration d passes in
// real duration target: d/target, but at least min. Use it to make a demo
// whose virtual run time depends on its flags take about target of real time.
func AutoScale(d, target time.Duration, min float64) float64 {
	if target <= 0 {
		return min
	}
	return max(min, float64(d)/float64(target))
}

// MinDuration is the least time in which requests requests can be sent
// under a limit of limit requests per window, starting with an empty
// window: the first limit go at once, and each further full window of
// requests must wait one more window. It is the same for sliding and fixed
// windows. A limit <= 0 or window <= 0 gives 0.
func MinDuration(requests, limit int, window time.Duration) time.Duration {
	if requests <= 0 || limit <= 0 || window <= 0 {
		return 0
	}
	windows := (requests + limit - 1) / limit
	return time.Duration(windows-1) * window
}

// Stopwatch measures elapsed time on a (possibly scaled) clock and on the
// wall clock at once. It is a value: copy it freely.
type Stopwatch struct {
	clk          pacer.Clock
	virt0, real0 time.Time
}

// StartStopwatch starts a stopwatch on clk (nil means the system clock).
func StartStopwatch(clk pacer.Clock) Stopwatch {
	if clk == nil {
		clk = pacer.SystemClock()
	}
	return Stopwatch{clk: clk, virt0: clk.Now(), real0: time.Now()}
}

// Elapsed returns the time passed since the start on the stopwatch's clock
// (virtual) and on the wall clock.
func (s Stopwatch) Elapsed() (virtual, wall time.Duration) {
	return s.clk.Now().Sub(s.virt0), time.Since(s.real0)
}

// SleepUntil waits on clk until t and reports false if ctx ended first
// (also when both happened).
func SleepUntil(ctx context.Context, clk pacer.Clock, t time.Time) bool {
	ch, stop := clk.NewTimer(t.Sub(clk.Now()))
	defer stop()
	select {
	case <-ch:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}
