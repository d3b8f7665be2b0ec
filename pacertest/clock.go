package pacertest

import (
	"math"
	"time"
)

// Clock is the server's source of time. Its method set is that of
// pacer.Clock, so the same value can be handed to a pacer client
// (pacer.WithClock(srv.Clock())) and both sides agree on virtual time.
//
// NewTimer returns a channel that receives once, after d has passed on this
// clock, and a stop function with the semantics of (*time.Timer).Stop.
// Implementations must be safe for concurrent use by multiple goroutines.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// realClock is the wall clock, the default when Config.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// ScaledClock is virtual time that starts at the real time of its creation
// and runs Scale times faster than real time: with a scale of 3600, an hour
// of virtual time passes in one real second. It is safe for concurrent use by
// multiple goroutines and starts no goroutines of its own.
type ScaledClock struct {
	scale     float64
	realStart time.Time // carries the monotonic reading
	virtStart time.Time // realStart without the monotonic reading
}

// NewScaledClock returns a clock that runs scale times faster than real time.
// NewScaledClock panics if scale is not a positive finite number, for ease of
// use in tests, where a panic is acceptable.
func NewScaledClock(scale float64) *ScaledClock {
	if !(scale > 0) || math.IsInf(scale, 1) {
		panic("pacertest: NewScaledClock scale must be positive and finite")
	}
	now := time.Now()
	return &ScaledClock{scale: scale, realStart: now, virtStart: now.Round(0)}
}

// Scale reports how many times faster than real time c runs.
func (c *ScaledClock) Scale() float64 { return c.scale }

// Now returns the current virtual time.
func (c *ScaledClock) Now() time.Time {
	elapsed := time.Since(c.realStart)
	return c.virtStart.Add(time.Duration(math.Ceil(float64(elapsed) * c.scale)))
}

// NewTimer returns a timer that fires once d of virtual time has passed, that
// is after d/Scale of real time (rounded up, so it never fires early). The
// value sent is the virtual time of firing. A timer with d <= 0 fires at once.
func (c *ScaledClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.Now()
		return ch, func() bool { return false }
	}
	real := time.Duration(math.Ceil(float64(d) / c.scale))
	t := time.AfterFunc(real, func() { ch <- c.Now() })
	return ch, t.Stop
}
