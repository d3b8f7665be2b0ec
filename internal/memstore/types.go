package memstore

import (
	"context"
	"errors"
	"time"
)

// The types below mirror the root package's Store seam (pacer.Ticket,
// pacer.Slot, pacer.Outcome, …) field for field; the root's Store
// converts between the two, by value and without allocating. They are
// separate types because the root package imports this one.

// Budget is at most Limit requests in any interval of length Window, or,
// Fixed, in each of the server's fixed windows of length Window (see
// fixed.go); one with Limit <= 0 or Window <= 0 limits nothing.
type Budget struct {
	Limit  int
	Window time.Duration
	Fixed  bool
}

// RateLimit is what a server said about one of its limits (see
// pacer.RateLimit).
type RateLimit struct {
	Limit, Remaining int
	Reset            time.Time
	Window           time.Duration
	Pool             string // the server's name for the pool, "" if none
}

// Ticket asks for one slot (see pacer.Ticket). Route is the request's route
// key (see internal/route), 0 if unknown.
type Ticket struct {
	Scope    string
	Budgets  []Budget
	Pace     bool
	Priority int
	Route    uint64
}

// Slot is a grant; pass it back to Observe exactly once.
type Slot struct {
	Scope   string
	Granted time.Time
	Waited  bool

	rec grantRecord
}

// Outcome is what became of the request sent under a slot (see
// pacer.Outcome).
type Outcome struct {
	Sent         bool
	At           time.Time
	Status       int
	RateLimit    RateLimit
	HasRateLimit bool
	RetryAfter   time.Duration
}

// Counted reports whether the request stays counted in the windows after
// its answer: it was sent, and its answer is not a 5xx without rate-limit
// headers (see pacer.Outcome.Counted).
func (o Outcome) Counted() bool {
	return o.Sent && !(o.Status >= 500 && !o.HasRateLimit)
}

// Usage is a snapshot of one scope (see pacer.Usage).
type Usage struct {
	Scope                      string
	InWindow, InFlight, Queued int
	Learned                    RateLimit
	AdaptiveRate               float64
}

// Clock is pacer.Clock, repeated so that this package need not import it.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// ErrQueueFull is returned by Reserve when the scope's queue is full.
var ErrQueueFull = errors.New("memstore: wait queue full")

// LateError is returned by Reserve when the earliest grant the waiter can
// expect, counting the waiters ahead of it, is past its context's deadline.
type LateError struct {
	// At is the waiter's estimated turn; Latest what the server last said.
	At     time.Time
	Latest RateLimit
}

func (e *LateError) Error() string {
	return "memstore: no slot before the deadline (next at " + e.At.Format(time.RFC3339Nano) + ")"
}

// Unwrap returns context.DeadlineExceeded.
func (e *LateError) Unwrap() error { return context.DeadlineExceeded }

// systemClock is the wall clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return systemClock{}
	}
	return c
}

// pastDeadline reports whether waiting d would pass ctx's deadline. Context
// deadlines are on the wall clock, so d is compared with the wall-clock time
// left (with a scaled or fake Clock, d is taken as wall-clock time, which
// errs on the side of returning early).
func pastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// positiveOr returns v when it is positive, else def.
func positiveOr[T ~int | ~int64 | ~float64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
