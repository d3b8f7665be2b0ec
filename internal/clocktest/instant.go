package clocktest

import (
	"sync"
	"time"
)

// Instant is a clock whose timers fire at once: NewTimer(d) moves the clock
// forward by d and fires. It records every duration waited, so tests can
// assert the exact waits of code that sleeps, without sleeping. Instant is
// safe for concurrent use; concurrent waits each move the clock.
type Instant struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

// NewInstant returns an Instant clock reading start (Epoch if zero).
func NewInstant(start time.Time) *Instant {
	if start.IsZero() {
		start = Epoch
	}
	return &Instant{now: start}
}

// Now returns the clock's reading.
func (c *Instant) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer moves the clock forward by d (if positive), records d, and
// returns a channel that has already fired.
func (c *Instant) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch, func() bool { return false }
}

// Waits returns the durations waited so far, in order.
func (c *Instant) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}
