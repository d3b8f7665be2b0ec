package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultIdleTTL is how long a Store keeps an idle scope by default.
const DefaultIdleTTL = 10 * time.Minute

// Store is the in-memory budget store of one process, behind the root
// package's MemoryStore. The zero value is ready to use. Set the fields
// before the first call and do not change them afterwards. A Store is safe
// for concurrent use by multiple goroutines.
//
// # Windows
//
// Each valid Budget of a ticket is an exact sliding window: in no interval
// of length Window does the server receive more than Limit requests of the
// scope, all budgets holding at once (100 per minute AND 1000 per hour). A
// slot counts from the moment Reserve grants it until Window after its
// response arrived (Outcome.At); while the request is in flight it counts.
// The server received the request somewhere in between, so no server-side
// window can see more than Limit of them, whatever the latency. A slot
// observed with Outcome.Sent false never reached the server and is freed at
// once; so is one answered 5xx without rate-limit headers, which the
// server's limiter did not speak for (see Outcome.Counted). A window keeps at most Limit release times (8 bytes each) whatever
// the traffic, so its memory does not grow with time. A scope's windows are
// those of its latest ticket.
//
// With Ticket.Pace, sends are also spread evenly: one every Window/Limit of
// the tightest budget (a rate.Limiter with a burst of 1).
//
// # Queue
//
// Requests that cannot be granted wait in their scope's queue: higher
// Ticket.Priority first, first come first served among equals. Scopes are
// independent: a request never waits behind another scope's requests, nor
// behind requests of its scope that draw from another server-side pool
// (see classQueues). Each
// waiter waits on its own context and in its own goroutine; one that gives
// up leaves at once and takes no slot. When the earliest possible grant
// (assuming the requests in flight were sent) is later than the context's
// deadline, Reserve returns a *RateLimitError wrapping
// context.DeadlineExceeded at once instead of waiting.
//
// # Learned limits
//
// Every response carrying rate-limit headers bounds how many more requests
// the scope may send before the Reset it names: "3 remaining until T" lets at
// most 3 more out before T, counting those in flight (see learnedLimits for
// why this stays safe with concurrent requests and answers out of order).
// Answers naming different limits (one per endpoint, as on
// vendor-docs/campaigns-api.txt) are told apart: each route learns the pool
// it draws from, and a pool that ran out holds back its own routes only,
// in the queue too (see learnedLimits). When every such bound has expired and the latest response (status below
// 500) carried headers, the scope sends one request at a time until a
// response brings fresh headers; a scope with no configured budget does the
// same until its first response. So a client with no budget at all gets no
// 429 from a server that sends its headers on successful responses. When
// responses stop carrying headers, only the configured budgets apply. A 429
// with a Retry-After holds the scope back until it has passed; a bare 429
// holds it for a growing time, then lets one probe through at a time (see
// bareHold). After 5xx answers without headers the server may not have
// counted, a scope its learned bounds hold back probes one request at a time
// rather than wait for the reset, so a 503 storm does not park it for a
// window once the server has recovered.
//
// # Adaptive mode
//
// For servers that answer only a bare 429, the scope's send rate is cut on
// each 429 and raised on each success (AIMD); see AdaptiveMode.
//
// # Memory
//
// A scope holding no slot, no waiter and no learned limit in force is
// forgotten IdleTTL after its last use, during later calls, so a stream of
// distinct scopes does not grow memory without bound. The calls forget them
// a few at a time (see evict.go): no call stalls the store for a sweep of
// every scope. An idle scope that learned one pool on one route takes about
// 1 KB (BenchmarkIdleScopeMemory).
type Store struct {
	// Clock is the time source of windows and waits; nil means SystemClock().
	Clock Clock
	// QueueLimit bounds how many requests may wait for a slot in one scope:
	// Reserve returns ErrQueueFull at once when it is reached. 0 or less
	// means no bound.
	QueueLimit int
	// IdleTTL is how long an idle scope stays in memory after its last use;
	// 0 means DefaultIdleTTL and a negative value keeps scopes forever.
	IdleTTL time.Duration
	// IgnoreServerLimits turns learned limits off: response headers and
	// Retry-After no longer hold a scope back; only its budgets (and adaptive
	// mode, unless AdaptiveOff) apply. The default (false) learns.
	IgnoreServerLimits bool
	// Adaptive selects adaptive mode; the zero value is AdaptiveAuto.
	Adaptive AdaptiveMode

	mu     sync.RWMutex
	scopes map[string]*memScope
	// order lists the scopes of the map, for the incremental sweep (see
	// evict.go): sweepAt is its position in the current round.
	order     []*memScope
	sweepAt   int
	sweeping  atomic.Bool  // a round is under way
	nextSweep atomic.Int64 // Unix nanoseconds of the next round
}

// Reserve waits until t's scope may send one more request and holds a slot
// for it; see Store for the rules and the errors.
func (st *Store) Reserve(ctx context.Context, t Ticket) (Slot, error) {
	if err := ctx.Err(); err != nil {
		return Slot{}, err
	}
	clk := clockOrSystem(st.Clock)
	now := clk.Now()
	s := st.acquire(t.Scope, now)
	defer s.refs.Add(-1)
	return s.reserve(ctx, &t, now, st, clk)
}

// Observe releases slot sl into its scope's windows (freeing it at once if
// o.Sent is false), learns from o, and wakes the scope's next waiter. o.At
// must be on the store's clock; zero means now. A slot unknown to the store
// is ignored.
func (st *Store) Observe(sl Slot, o Outcome) {
	st.mu.RLock()
	s := st.scopes[sl.Scope]
	if s != nil {
		s.refs.Add(1)
	}
	st.mu.RUnlock()
	if s == nil {
		return
	}
	defer s.refs.Add(-1)
	if o.At.IsZero() {
		o.At = clockOrSystem(st.Clock).Now()
	}
	s.mu.Lock()
	s.release(sl, o, st)
	s.mu.Unlock()
}

// Usage returns a snapshot of every scope in memory, by scope name. It
// copies the list of scopes under the map's read lock (a copy of pointers,
// not a walk of the map), then locks one scope at a time: it never holds
// up the store as a whole, nor any scope for longer than its own snapshot.
func (st *Store) Usage() []Usage {
	now := clockOrSystem(st.Clock).Now()
	st.mu.RLock()
	list := slices.Clone(st.order)
	st.mu.RUnlock()
	out := make([]Usage, 0, len(list))
	for _, s := range list {
		s.mu.Lock()
		out = append(out, s.usage(now))
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Usage) int { return strings.Compare(a.Scope, b.Scope) })
	return out
}

// acquire returns the scope named name, created if needed, with its refs
// incremented; the caller decrements them when done.
func (st *Store) acquire(name string, now time.Time) *memScope {
	st.maybeSweep(now)
	st.mu.RLock()
	s := st.scopes[name]
	if s != nil {
		s.refs.Add(1)
	}
	st.mu.RUnlock()
	if s != nil {
		return s
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.scopes == nil {
		st.scopes = make(map[string]*memScope)
	}
	s = st.scopes[name]
	if s == nil {
		// The store keeps its own copy of the name, so that the ticket
		// it came in (and the budgets beside it, which escape analysis
		// does not tell apart) can stay on the caller's stack.
		own := strings.Clone(name)
		s = &memScope{name: own, lastUsed: now}
		st.scopes[own] = s
		st.order = append(st.order, s)
	}
	s.refs.Add(1)
	return s
}
