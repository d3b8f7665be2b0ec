// Package clocktest provides a manual clock for pacer's own tests. It
// implements pacer.Clock structurally, so it does not import pacer.
package clocktest

import (
	"sort"
	"sync"
	"time"
)

// Manual is a clock that moves only when told to. Timers fire when Advance or
// Set moves the clock past their deadline. Manual is safe for concurrent use.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
	added  chan struct{} // signalled (non-blocking) whenever a timer is created
}

type timer struct {
	at      time.Time
	c       chan time.Time
	stopped bool
}

// Epoch is the instant a NewManual clock starts at unless told otherwise.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// NewManual returns a Manual clock reading start (Epoch if start is zero).
func NewManual(start time.Time) *Manual {
	if start.IsZero() {
		start = Epoch
	}
	return &Manual{now: start, added: make(chan struct{}, 1)}
}

// Now returns the clock's current reading.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
// A timer with d <= 0 fires at once.
func (m *Manual) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	m.mu.Lock()
	t := &timer{at: m.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- m.now
		t.stopped = true
	} else {
		m.timers = append(m.timers, t)
	}
	m.mu.Unlock()
	select {
	case m.added <- struct{}{}:
	default:
	}
	return t.c, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock forward by d and fires every timer now due.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }

// Set moves the clock to t (never backwards) and fires every timer now due,
// in deadline order.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.now) {
		m.now = t
	}
	sort.SliceStable(m.timers, func(i, j int) bool { return m.timers[i].at.Before(m.timers[j].at) })
	keep := m.timers[:0]
	for _, tm := range m.timers {
		switch {
		case tm.stopped:
		case !tm.at.After(m.now):
			tm.stopped = true
			tm.c <- m.now
		default:
			keep = append(keep, tm)
		}
	}
	m.timers = keep
}

// Pending reports how many timers are waiting to fire.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, tm := range m.timers {
		if !tm.stopped {
			n++
		}
	}
	return n
}

// WaitForTimers blocks until at least n timers are pending or the real-time
// limit passes; it reports whether n were reached. Tests use it to know that
// a goroutine has started waiting before they advance the clock.
func (m *Manual) WaitForTimers(n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for m.Pending() < n {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-m.added:
		case <-time.After(time.Millisecond):
		}
	}
	return true
}
