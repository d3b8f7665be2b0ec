package pacer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer/internal/route"
)

// call is one RoundTrip across its attempts: the first is sent by run, the
// retries by the retry engine (engine.go), both through attempt, decide,
// pause and fail, so the two paths cannot drift. Attempts run one after
// another on the caller's goroutine, so a call needs no lock (sent is the
// exception: net/http's write loop sets it).
type call struct {
	t          *Transport
	orig       *http.Request // the caller's request, for events (see info)
	ticket     Ticket
	scope      *scopeState   // the Transport's state of the ticket's scope
	req        *http.Request // what every attempt sends (see prepare)
	repeatable bool          // sending it again cannot duplicate work
	replayable bool          // its body can be sent again (see prepare)
	trace      *attemptTrace // nil unless the method is not idempotent
	closer     io.Closer     // the caller's body, when attempts read copies of it

	attempts    int
	refusals    int           // attempts answered 429: the server did nothing
	refusedWait time.Duration // the waits chosen after them
	wait        time.Duration // before the next attempt, set by decide
	prevWait    time.Duration
	server      bool          // wait is the server's word, not backoff
	last        Outcome       // of the latest attempt
	lastErr     error         // the latest attempt's transport error
	hint        time.Duration // the server's wait on the latest response, if any
	hasHint     bool
	// held: the latest answer asked for a hold past one answer's bound,
	// as the one before it did: the store now keeps it (config.bounded).
	held    bool
	refused bool // the latest attempt was refused by pacer before it was sent
	stopped bool // decide gave up on a failed attempt
	// uncertain: an attempt with side effects was cut off after it may have
	// been sent, and the request was retried (under an Idempotency-Key).
	uncertain bool
	permit    permit      // the latest attempt's leave from the breaker
	infoOf    RequestInfo // built on the first event (see info)
}

func (t *Transport) newCall(req *http.Request) *call {
	scope, budgets := t.cfg.scopeOf(req)
	ticket := Ticket{Scope: scope, Budgets: budgets, Pace: t.cfg.pace, Priority: priorityOf(req.Context()),
		Route: route.Key(req.Method, req.URL.Path)}
	return &call{t: t, orig: req, ticket: ticket, scope: t.scopes.enter(scope)}
}

// info is what events say about the request. It is built when the first
// event is sent, once per call, keeping the redacted URL and the route's
// text off the path of requests nobody watches.
func (c *call) info() RequestInfo {
	if c.infoOf.Method == "" && c.infoOf.URL == "" {
		c.infoOf = RequestInfo{Method: c.orig.Method, URL: redactURL(c.orig.URL), Scope: c.ticket.Scope,
			Route: c.t.routes.name(c.ticket.Route, c.orig), Context: c.orig.Context()}
	}
	return c.infoOf
}

// run sends the first attempt and, if decide asks for more, hands the
// retries to the retry engine after the first wait. A request answered at
// once never pays for the engine's inner http.Client.
func (c *call) run() (*http.Response, error) {
	resp, err := c.attempt(c.req)
	retry, cerr := c.decide(c.req.Context(), resp, err)
	switch {
	case retry:
	case cerr != nil:
		return c.fail(resp, cerr)
	case err != nil:
		return c.fail(resp, err)
	default:
		return resp, nil
	}
	if err := c.pause(c.req); err != nil {
		return c.fail(nil, err)
	}
	return c.retries()
}

// attempt sends the request once: it waits for a slot (the breaker's
// check, then the store's) and sends under it. A request it does not send
// has its body closed, as a RoundTripper must, and c.refused set.
func (c *call) attempt(req *http.Request) (*http.Response, error) {
	start := c.t.cfg.clock.Now()
	c.refused, c.lastErr = true, nil
	slot, err := c.reserve(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	return c.send(req, slot, start)
}

// send sends req under slot (granted after a wait since start, if any) and
// reports the outcome to the store, the breaker and the tracker.
//
// The deferred guard frees the slot and the permit of an attempt that ends
// without releasing them — the caller's context ended first, or user code
// (a hook, the base RoundTripper) panicked — and closes a response the
// caller will never see: a recovered panic cannot wedge the scope or leak
// a connection.
func (c *call) send(req *http.Request, slot Slot, start time.Time) (resp *http.Response, err error) {
	clk := c.t.cfg.clock
	sent, released, handed := false, false, false
	defer func() {
		if !released {
			c.t.store.Observe(slot, Outcome{Sent: sent, At: clk.Now()})
			c.unsent()
		}
		if !handed && resp != nil {
			resp.Body.Close()
		}
	}()
	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	if slot.Waited {
		c.t.tracker.waited(c.scope, c.info, clk.Now().Sub(start))
	}
	c.attempts++
	c.refused = false
	c.t.tracker.sent(c.scope)
	c.trace.reset()
	sent = true
	sentAt := clk.Now()
	resp, err = c.t.base.RoundTrip(req)
	c.lastErr = err
	ev := c.settleBreaker(req, resp, err)
	c.refundRetry(resp)
	o := c.observe(resp)
	far := c.t.cfg.far(o)
	c.held = c.scope.farAgain(far) && far
	c.t.store.Observe(slot, c.t.cfg.bounded(o, c.held))
	released = true
	c.t.tracker.attempted(c.scope, c.info, c.attempts, o, err, o.At.Sub(sentAt))
	c.breakerEvent(ev)
	handed = true
	return resp, err
}

// observe reads what the response says about the server's limit (and the
// wait it asks for) into the slot's outcome.
func (c *call) observe(resp *http.Response) Outcome {
	now := c.t.cfg.clock.Now()
	out := Outcome{Sent: true, At: now}
	c.hint, c.hasHint = 0, false
	if resp != nil {
		out.Status = resp.StatusCode
		out.RateLimit, out.HasRateLimit = ParseRateLimit(resp.Header, now)
		if resp.StatusCode >= 400 { // only failures are retried after a wait
			c.hint, c.hasHint = serverWait(resp, out, now)
		}
		if c.hasHint {
			out.RetryAfter = c.hint
		}
	}
	c.last = out
	if out.Status == http.StatusTooManyRequests {
		c.refusals++
	}
	return out
}

// bounded is what the store is told of outcome o: a hold the server asks
// for (a Retry-After, a reset) lasts at most the max wait, or the window
// the server names if that is longer, after which the scope probes with
// one request to see whether the server still means it. One hostile or
// broken answer ("Retry-After: 999999999", a reset in 2100) cannot park a
// scope — in every process sharing its store — for longer. When the
// previous answer of the scope asked for a hold past the bound too
// (confirmed), the server means it, as an exhausted hourly window does for
// its hour: the hold is trusted up to maxTrustedHold, so the scope is not
// probed (and refused) every max wait.
func (c *config) bounded(o Outcome, confirmed bool) Outcome {
	hold := c.holdBound(o)
	if confirmed {
		hold = max(hold, maxTrustedHold)
	}
	o.RetryAfter = min(o.RetryAfter, hold)
	if rl := &o.RateLimit; rl.Reset.After(o.At.Add(hold)) {
		rl.Reset = o.At.Add(hold)
	}
	return o
}

// holdBound is the longest hold one answer alone can put on a scope.
func (c *config) holdBound(o Outcome) time.Duration { return max(c.maxWait, o.RateLimit.Window) }

// far reports whether o asks for a hold past the bound of one answer.
func (c *config) far(o Outcome) bool {
	hold := c.holdBound(o)
	return o.RetryAfter > hold || o.RateLimit.Reset.After(o.At.Add(hold))
}

// maxTrustedHold bounds a confirmed hold: the longest window vendors
// document is a day.
const maxTrustedHold = 24 * time.Hour

// serverWait is the server's word on how long to wait before the next
// attempt: Retry-After, else (on a 429) a JSON body hint, else the reset time
// of an exhausted window.
func serverWait(resp *http.Response, out Outcome, now time.Time) (time.Duration, bool) {
	if d, ok := ParseRetryAfter(resp.Header, now); ok {
		return d, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := peekBodyHint(resp, now); ok {
			return d, true
		}
	}
	if rl := out.RateLimit; out.HasRateLimit && rl.Remaining == 0 && rl.Reset.After(now) {
		return rl.Reset.Sub(now), true
	}
	return 0, false
}

// reserve is the attempt's wait for a slot, behind the scope's breaker when
// one is on: a refused attempt returns a *CircuitOpenError at once, and a
// waiting one is released with it when the circuit opens. A store that
// fails for its own reasons gives a *StoreError. c.permit is set for
// settleBreaker.
func (c *call) reserve(ctx context.Context) (Slot, error) {
	b := c.t.breakers
	if b == nil {
		return c.reserveSlot(ctx)
	}
	c.permit = permit{}
	p, ev, err := b.allow(c.scope)
	if err != nil {
		c.breakerEvent(ev)
		return Slot{}, err
	}
	c.permit = p
	c.guarded(func() { c.breakerEvent(ev) })
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(p.opened, func() { cancel(context.Cause(p.opened)) })
	slot, err := c.reserveSlot(rctx)
	stop()
	var open *CircuitOpenError
	if errors.As(context.Cause(rctx), &open) && ctx.Err() == nil {
		if err == nil {
			c.t.store.Observe(slot, Outcome{At: c.t.cfg.clock.Now()})
		}
		err = open
	}
	cancel(nil)
	if err != nil {
		c.unsent()
	}
	return slot, err
}

// reserveSlot asks the store for a slot. Errors other than the caller's
// context and the store's documented refusals mean the store could not
// answer: they become a *StoreError.
func (c *call) reserveSlot(ctx context.Context) (Slot, error) {
	slot, err := c.t.store.Reserve(ctx, c.ticket)
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrQueueFull) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, ErrCircuitOpen) {
		return slot, err
	}
	return slot, &StoreError{Scope: c.ticket.Scope, Err: err}
}

// guarded runs user code f while the attempt holds its permit and no slot:
// if f panics, the permit is given back before the panic goes on.
func (c *call) guarded(f func()) {
	ok := false
	defer func() {
		if !ok {
			c.unsent()
		}
	}()
	f()
	ok = true
}

// unsent gives back the attempt's permit: it never reached the server.
func (c *call) unsent() {
	if c.permit.st != nil {
		c.t.breakers.release(c.permit)
		c.permit.st = nil
	}
}

// settleBreaker reports the attempt's outcome to the scope's breaker and
// returns the change of state it caused, if any, for the caller to report
// once the slot is released. An attempt ended by the caller's own context
// counts as unsent.
func (c *call) settleBreaker(req *http.Request, resp *http.Response, err error) *BreakerEvent {
	if c.permit.st == nil {
		return nil
	}
	if err != nil && req.Context().Err() != nil {
		c.unsent()
		return nil
	}
	b := c.t.breakers
	ev := b.settle(c.permit, b.cfg.failure(resp, err))
	c.permit.st = nil // settled; its context still serves pause
	return ev
}

func (c *call) breakerEvent(ev *BreakerEvent) {
	if ev != nil {
		c.t.tracker.breaker(*ev)
	}
}

// pause is the wait decide chose before the next attempt of req: sleep on
// pacer's clock, except that when the breaker is on and the circuit opens
// during the wait, or opened after the previous attempt was let through, it
// ends at once with the *CircuitOpenError; a retry would be refused anyway.
func (c *call) pause(req *http.Request) error {
	ctx, d := req.Context(), c.wait
	opened := c.permit.opened
	if opened == nil {
		return sleep(ctx, c.t.cfg.clock, d)
	}
	if cause := context.Cause(opened); cause != nil {
		return cause
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(opened, func() { cancel(context.Cause(opened)) })
	defer stop()
	return sleep(wctx, c.t.cfg.clock, d)
}

// sleep waits d on clk, or until ctx ends.
func sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	ch, stop := clk.NewTimer(d)
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		stop()
		return context.Cause(ctx)
	}
}

// attemptTrace tells, for a request with side effects, whether an attempt
// that failed had begun to write the request: net/http reports GetConn when
// it asks for a connection and WroteHeaders once the request's headers are
// written. A failure after GetConn and before WroteHeaders (a dial or TLS
// handshake that failed) sent nothing the server could act on. A base
// RoundTripper that reports neither gives no evidence, and the failure
// counts as maybe sent.
type attemptTrace struct {
	conn, wrote atomic.Bool
}

// traced returns req with t reporting on its attempts, keeping any trace
// the caller set.
func (t *attemptTrace) traced(req *http.Request) *http.Request {
	ct := &httptrace.ClientTrace{
		GetConn:      func(string) { t.conn.Store(true) },
		WroteHeaders: func() { t.wrote.Store(true) },
	}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), ct))
}

func (t *attemptTrace) reset() {
	if t != nil {
		t.conn.Store(false)
		t.wrote.Store(false)
	}
}

// unsent reports whether the latest attempt provably sent nothing.
func (t *attemptTrace) unsent() bool {
	return t != nil && t.conn.Load() && !t.wrote.Load()
}

func needsKey(r *http.Request) bool {
	return (r.Method == http.MethodPost || r.Method == http.MethodPatch) &&
		r.Header.Get(IdempotencyKeyHeader) == ""
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
