package pacer

import "time"

// Clock is the source of time for every wait pacer makes: budgets, backoff,
// the tracker and the test server all read the same clock, so a test can run
// an hourly window in milliseconds.
//
// NewTimer returns a channel that receives once, after d has passed on this
// clock, and a stop function with the semantics of (*time.Timer).Stop. The
// signature uses only standard types so that any package (pacertest, a test
// helper) can implement Clock without importing pacer.
//
// Implementations must be safe for concurrent use by multiple goroutines.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// SystemClock returns the wall clock: time.Now and time.NewTimer.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// clockOrSystem returns c, or the system clock when c is nil.
func clockOrSystem(c Clock) Clock {
	if c == nil {
		return systemClock{}
	}
	return c
}
