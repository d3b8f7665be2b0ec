package pacer

import (
	"context"
	"time"

	"github.com/pacerhq/pacer/internal/memstore"
)

// Ticket is a request for one slot, as the transport hands it to a Store.
type Ticket struct {
	// Scope identifies the pool the request draws from: a host, a hashed
	// credential, a route template, or a user key. It never holds a raw
	// secret, so stores may log it or use it in keys.
	Scope string
	// Budgets are the configured budgets of the scope, headroom already
	// applied. Empty means only learned limits apply.
	Budgets []Budget
	// Pace asks the store to spread the scope's sends evenly over each
	// budget's window instead of letting them out in a burst.
	Pace bool
	// Priority orders waiters: a higher priority is served first; equal
	// priorities are served first-in first-out.
	Priority int
	// Route names the request's route: a hash of its method and path with
	// identifier-like segments folded ("GET /v1/campaigns/:id"), never 0.
	// Requests on one route draw from the same server-side pools, so a
	// store can learn per route which of the server's limits applies.
	Route uint64
}

// Slot is a reservation granted by a Store. The transport passes it back,
// unchanged, to Observe exactly once.
type Slot struct {
	// Scope is the scope the slot was granted in.
	Scope string
	// ID identifies the slot within its store; stores that need no identity
	// leave it empty.
	ID string
	// Granted is when the store granted the slot (the send time).
	Granted time.Time
	// Mark is store-private bookkeeping, returned unchanged to Observe.
	Mark uint64
	// Waited reports that the request could not be granted on arrival and
	// waited for its slot (the tracker counts such waits in Stats).
	Waited bool

	mem memstore.Slot // a MemoryStore's grant
}

// Outcome is what happened to the request sent under a slot.
type Outcome struct {
	// Sent is false when the request never reached the network (the caller
	// gave up between Reserve and send); the slot is then freed at once.
	Sent bool
	// At is when the response headers (or the transport error) arrived.
	At time.Time
	// Status is the HTTP status code, or 0 after a transport error.
	Status int
	// RateLimit is what the response's headers said, when HasRateLimit.
	RateLimit    RateLimit
	HasRateLimit bool
	// RetryAfter is the server's Retry-After (or body hint) on this
	// response, 0 if none.
	RetryAfter time.Duration
}

// Counted reports whether the request must stay counted in a store's
// windows after its answer: it was sent, and its answer is not a 5xx without
// rate-limit headers. Such an answer means the server failed before its
// limiter spoke; a window held for an hour by a 503 storm would stall the
// scope long after the server recovered. If the server did count the
// request, the rate-limit headers of its next answers say so, and learned
// limits hold the scope back. Every Store applies this rule.
func (o Outcome) Counted() bool {
	return o.Sent && !(o.Status >= 500 && !o.HasRateLimit)
}

// Store holds the budget state of every scope: configured windows, limits
// learned from responses, and the queue of requests waiting for a slot.
// Reserve and Observe are the only calls the transport makes into a store,
// so a store shared across processes (see the redisbudget module) is a
// drop-in replacement for the in-memory one.
//
// A slot is held from the moment Reserve grants it until Window after the
// response arrives (Observe's Outcome.At): the server's arrival time lies
// between the two, so no server-side window of length Window can see more
// than Limit requests, whatever the latency.
//
// A store that can also report its scopes' state has a method
//
//	Usage() []Usage
//
// and (*Transport).Stats includes what it returns.
//
// Implementations must be safe for concurrent use by multiple goroutines.
type Store interface {
	// Reserve blocks until the ticket's scope may send one more request and
	// holds a slot for it. It returns early with ctx's error when ctx ends
	// (consuming no slot), with ErrQueueFull when the scope's queue is full,
	// or with a *RateLimitError when the earliest possible slot is later than
	// ctx's deadline.
	Reserve(ctx context.Context, t Ticket) (Slot, error)
	// Observe reports the outcome of the request sent under s and releases
	// it into its windows; it updates the scope's learned limits.
	Observe(s Slot, o Outcome)
}

// Usage is a snapshot of one scope's budget state, for Stats.
type Usage struct {
	Scope string
	// InWindow is the number of slots counted in the scope's shortest
	// configured window right now (held or in flight).
	InWindow int
	// InFlight is the number of requests sent and not yet answered.
	InFlight int
	// Queued is the number of requests waiting for a slot.
	Queued int
	// Learned is the server's latest word on the scope's limit, if any.
	Learned RateLimit
	// AdaptiveRate is the adaptive mode's current send rate in requests per
	// second, 0 when adaptive mode is inactive for the scope.
	AdaptiveRate float64
}
