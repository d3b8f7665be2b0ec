package pacer

import (
	"context"
	"net/http"
	"time"
)

// Breaker configures a circuit breaker per scope (see WithScope; per host by
// default). A scope's circuit is
//
//   - closed: requests pass; the outcome of every attempt is counted in a
//     rolling window. When the window holds at least MinRequests attempts and
//     at least FailureRate of them failed, the circuit opens.
//   - open: attempts fail at once with a *CircuitOpenError, without being
//     sent; requests waiting for a slot in the scope's queue, or waiting to
//     retry, are released with the same error. After CoolDown the circuit is
//     half-open.
//   - half-open: Probes attempts are let through, the others fail as if
//     open. When every probe succeeds the circuit closes; when one fails it
//     opens again for another CoolDown.
//
// Failures are transport errors and 5xx statuses; a 429 is not a failure
// (the server is up and pacing the client: the budgets and the retry budget
// deal with it) unless FailOn429 is set. Attempts ended by the caller's own
// context count as nothing.
//
// Scopes are the transport's (WithScope, and one per route with
// WithRouteBudget): with ScopeByBearer, each key has its own circuit.
//
// Breaker starts no goroutine and no timer: time is read from the
// transport's Clock when requests arrive, so the open → half-open change
// happens when the first request after the cool-down asks to pass.
//
// The zero value means the defaults listed with each field; non-positive
// fields mean their default.
type Breaker struct {
	// FailureRate is the fraction of failed attempts in the window, in
	// (0, 1], that opens the circuit. Default 0.5.
	FailureRate float64
	// MinRequests is how many attempts the window must hold before the
	// failure rate is judged. Default 20.
	MinRequests int
	// Window is the length of the rolling window. Default 10 s.
	Window time.Duration
	// Buckets is how many time buckets the window is kept in: outcomes
	// leave it Window/Buckets at a time. Default 10.
	Buckets int
	// CoolDown is how long the circuit stays open before it lets probes
	// through. Default 5 s.
	CoolDown time.Duration
	// Probes is how many attempts a half-open circuit lets through, all of
	// which must succeed to close it. Probes that have not answered after
	// CoolDown no longer hold their place. Default 3.
	Probes int
	// FailOn429 counts 429 responses as failures.
	FailOn429 bool
}

// Breaker defaults.
const (
	defaultBreakerFailureRate = 0.5
	defaultBreakerMinRequests = 20
	defaultBreakerWindow      = 10 * time.Second
	defaultBreakerBuckets     = 10
	defaultBreakerCoolDown    = 5 * time.Second
	defaultBreakerProbes      = 3
)

// WithCircuitBreaker puts a circuit breaker configured by b in front of
// every scope (see Breaker). Without it no request is refused for the
// server's health.
func WithCircuitBreaker(b Breaker) Option {
	return func(c *config) { c.breaker = &b }
}

func (b Breaker) withDefaults() Breaker {
	if b.FailureRate <= 0 || b.FailureRate > 1 {
		b.FailureRate = defaultBreakerFailureRate
	}
	b.MinRequests = positiveOr(b.MinRequests, defaultBreakerMinRequests)
	b.Window = positiveOr(b.Window, defaultBreakerWindow)
	b.Buckets = positiveOr(b.Buckets, defaultBreakerBuckets)
	b.CoolDown = positiveOr(b.CoolDown, defaultBreakerCoolDown)
	b.Probes = positiveOr(b.Probes, defaultBreakerProbes)
	return b
}

// failure reports whether an attempt's outcome counts against the server.
func (b Breaker) failure(resp *http.Response, err error) bool {
	if err != nil || resp == nil {
		return true
	}
	return resp.StatusCode >= 500 || (b.FailOn429 && resp.StatusCode == http.StatusTooManyRequests)
}

// BreakerState is the state of a scope's circuit.
type BreakerState int

const (
	// BreakerClosed lets requests through and counts their outcomes.
	BreakerClosed BreakerState = iota
	// BreakerOpen refuses requests until the cool-down ends.
	BreakerOpen
	// BreakerHalfOpen lets a few probes through to test the server.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "closed"
}

// BreakerEvent reports a change of a scope's circuit.
type BreakerEvent struct {
	Scope    string
	From, To BreakerState
	// At is when the change happened (pacer's clock).
	At time.Time
	// Until is, when To is BreakerOpen, the end of the cool-down.
	Until time.Time
	// Requests and Failures are the window's counts when a closed circuit
	// opened; zero otherwise.
	Requests, Failures int
}

// breakers is the circuit breaker of every scope: the policy, with each
// scope's circuit kept in its scopeState (under its lock). A nil *breakers
// allows all.
type breakers struct {
	cfg   Breaker
	clock Clock
}

// circuit is one scope's breaker; its scopeState's mu guards it.
type circuit struct {
	scope  string
	state  BreakerState
	gen    uint64 // bumped on every change: outcomes of older permits are ignored
	window rolling
	until  time.Time // open: end of the cool-down

	probesAt         time.Time // half-open: when the current probes were let through
	admitted, passed int       // half-open: probes let through, probes succeeded

	// opened is cancelled, with a *CircuitOpenError as its cause, when the
	// circuit opens; permits carry it so that waiting requests are released.
	opened  context.Context
	cancel  context.CancelCauseFunc
	pending int // permits not yet settled
}

// permit is an attempt's leave to pass; settle or release it exactly once.
type permit struct {
	st     *scopeState
	gen    uint64
	probe  bool
	opened context.Context
}

func newBreakers(c *config) *breakers {
	if c.breaker == nil {
		return nil
	}
	return &breakers{cfg: c.breaker.withDefaults(), clock: c.clock}
}

// circuit returns st's circuit, creating a closed one; st.mu is held.
func (b *breakers) circuit(st *scopeState) *circuit {
	if st.circuit == nil {
		c := &circuit{scope: st.name, window: newRolling(b.cfg)}
		c.opened, c.cancel = context.WithCancelCause(context.Background())
		st.circuit = c
	}
	return st.circuit
}

// allow asks for an attempt in st's scope to pass. It returns the permit,
// or a *CircuitOpenError; ev is set when the call changed the circuit's
// state.
func (b *breakers) allow(st *scopeState) (p permit, ev *BreakerEvent, err error) {
	now := b.clock.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	c := b.circuit(st)
	if c.state == BreakerOpen && !now.Before(c.until) {
		ev = c.halfOpen(now)
	}
	switch c.state {
	case BreakerOpen:
		return p, ev, &CircuitOpenError{Scope: st.name, Until: c.until}
	case BreakerHalfOpen:
		if now.Sub(c.probesAt) >= b.cfg.CoolDown {
			c.probesAt, c.admitted = now, c.passed // silent probes lose their place
		}
		if c.admitted >= b.cfg.Probes {
			return p, ev, &CircuitOpenError{Scope: st.name, Until: c.probesAt.Add(b.cfg.CoolDown)}
		}
		c.admitted++
	}
	c.pending++
	return permit{st: st, gen: c.gen, probe: c.state == BreakerHalfOpen, opened: c.opened}, ev, nil
}

// settle records the outcome of the attempt sent under p.
func (b *breakers) settle(p permit, failed bool) *BreakerEvent {
	now := b.clock.Now()
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	c := p.st.circuit
	c.pending--
	if c.gen != p.gen {
		return nil // the circuit changed since: the outcome is stale
	}
	switch c.state {
	case BreakerClosed:
		c.window.add(now, failed)
		if failed {
			return b.judge(c, now)
		}
	case BreakerHalfOpen:
		if failed {
			return c.open(now, b.cfg.CoolDown)
		}
		if c.passed++; c.passed >= b.cfg.Probes {
			return c.change(BreakerClosed, now)
		}
	}
	return nil
}

// judge opens a closed circuit whose window holds enough attempts and too
// many failures; its scope's mu is held.
func (b *breakers) judge(c *circuit, now time.Time) *BreakerEvent {
	n, f := c.window.counts(now)
	if n < b.cfg.MinRequests || float64(f) < b.cfg.FailureRate*float64(n) {
		return nil
	}
	ev := c.open(now, b.cfg.CoolDown)
	ev.Requests, ev.Failures = n, f
	return ev
}

// release gives back a permit whose attempt was never sent.
func (b *breakers) release(p permit) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	c := p.st.circuit
	c.pending--
	if p.probe && c.gen == p.gen && c.admitted > c.passed {
		c.admitted--
	}
}

// change moves c to state to; its scope's mu is held.
func (c *circuit) change(to BreakerState, now time.Time) *BreakerEvent {
	ev := &BreakerEvent{Scope: c.scope, From: c.state, To: to, At: now}
	c.state = to
	c.gen++
	c.window.reset()
	return ev
}

// open opens c for coolDown and releases the requests waiting under it.
func (c *circuit) open(now time.Time, coolDown time.Duration) *BreakerEvent {
	ev := c.change(BreakerOpen, now)
	c.until = now.Add(coolDown)
	ev.Until = c.until
	c.cancel(&CircuitOpenError{Scope: c.scope, Until: c.until})
	c.opened, c.cancel = context.WithCancelCause(context.Background())
	return ev
}

func (c *circuit) halfOpen(now time.Time) *BreakerEvent {
	ev := c.change(BreakerHalfOpen, now)
	c.probesAt, c.admitted, c.passed = now, 0, 0
	return ev
}

// state is st's circuit state as seen at now (BreakerClosed when the
// breaker is off or has not seen the scope): an open circuit past its
// cool-down shows as half-open, the state the next request will see. st.mu
// is held.
func (b *breakers) state(st *scopeState, now time.Time) BreakerState {
	c := st.circuit
	if b == nil || c == nil {
		return BreakerClosed
	}
	if c.state == BreakerOpen && !now.Before(c.until) {
		return BreakerHalfOpen
	}
	return c.state
}

// rolling counts attempts and failures in a window of time buckets.
type rolling struct {
	width   time.Duration
	buckets []rollBucket // ring, indexed by bucket number modulo its length
}

type rollBucket struct {
	n         int64 // bucket number: time since the epoch / width
	ok, fails int
}

func newRolling(cfg Breaker) rolling {
	return rolling{width: max(cfg.Window/time.Duration(cfg.Buckets), 1), buckets: make([]rollBucket, cfg.Buckets)}
}

func (r *rolling) number(now time.Time) int64 { return now.UnixNano() / int64(r.width) }

func (r *rolling) add(now time.Time, failed bool) {
	n := r.number(now)
	b := &r.buckets[n%int64(len(r.buckets))]
	if b.n != n {
		*b = rollBucket{n: n}
	}
	if failed {
		b.fails++
	} else {
		b.ok++
	}
}

// counts returns the attempts and failures of the buckets within the window.
func (r *rolling) counts(now time.Time) (total, fails int) {
	n := r.number(now)
	for _, b := range r.buckets {
		if n-b.n < int64(len(r.buckets)) {
			total += b.ok + b.fails
			fails += b.fails
		}
	}
	return total, fails
}

func (r *rolling) reset() { clear(r.buckets) }
