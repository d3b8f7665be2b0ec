package pacer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// call is the state of one RoundTrip across its attempts. The retry engine
// runs the attempts of a request one after another on one goroutine, so a
// call needs no lock. It travels in the request's context.
type call struct {
	t          *Transport
	orig       *http.Request // the caller's request, for events (see id)
	ticket     Ticket
	req        *http.Request // the clone being sent
	repeatable bool          // repeating it cannot duplicate work

	attempts int
	wait     time.Duration // before the next attempt, set by decide
	prevWait time.Duration
	last     Outcome       // of the latest attempt
	hint     time.Duration // the server's wait on the latest response, if any
	hasHint  bool
	stopped  bool // decide gave up on a failed attempt
	// uncertain: an attempt with side effects was cut off after it was
	// sent, and the request was retried (under an Idempotency-Key).
	uncertain bool
	permit    permit // the latest attempt's leave from the breaker
}

type callKey struct{}

func callOf(ctx context.Context) *call { return ctx.Value(callKey{}).(*call) }

func (t *Transport) newCall(req *http.Request) *call {
	scope, budgets := t.cfg.scopeOf(req)
	ticket := Ticket{Scope: scope, Budgets: budgets, Pace: t.cfg.pace, Priority: PriorityOf(req.Context()),
		route: routeKey(req.Method, req.URL.Path)}
	return &call{t: t, orig: req, ticket: ticket}
}

// id is what events say about the request. It is built only when an event
// is sent, keeping the redacted URL off the path of every request.
func (c *call) id() Request {
	return Request{Method: c.orig.Method, URL: redactURL(c.orig.URL), Scope: c.ticket.Scope}
}

// prepare returns the request every attempt sends: req itself when it can
// be sent as it is, else a copy with an Idempotency-Key (WithIdempotencyKeys)
// or a replayable body. A body without GetBody is read into memory once, so
// that a retry can send it again byte for byte; the caller's body is closed,
// as RoundTrip must. The caller's request is never modified.
func (c *call) prepare(req *http.Request) (*http.Request, error) {
	out := req
	if c.t.cfg.idempotencyKeys && needsKey(out) {
		out = out.Clone(out.Context()) // its own headers: the caller's stay untouched
		out.Header.Set(IdempotencyKeyHeader, newKey())
	}
	if out.RequestURI != "" || hasBody(out) && out.GetBody == nil {
		if out == req {
			out = out.WithContext(out.Context()) // a shallow copy
		}
		out.RequestURI = ""
	}
	if hasBody(out) && out.GetBody == nil {
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return nil, err
		}
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	c.req, c.repeatable = out, mayRepeat(out)
	return out, nil
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// engineRequest is the retry engine's request for the attempts after the
// first: c.req with the call in its context and its body taken from GetBody
// before each attempt.
func (c *call) engineRequest() (*retryablehttp.Request, error) {
	out := c.req.WithContext(context.WithValue(c.req.Context(), callKey{}, c))
	getBody := out.GetBody
	out.Body, out.GetBody = nil, nil
	rr, err := retryablehttp.FromRequest(out)
	if err != nil || getBody == nil {
		return rr, err
	}
	err = rr.SetBody(retryablehttp.ReaderFunc(func() (io.Reader, error) { return getBody() }))
	rr.ContentLength, rr.GetBody = c.req.ContentLength, getBody
	return rr, err
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

// attempt sends the request once: it waits for a slot, sends, and reports
// the outcome to the store and the tracker. A request it does not send has
// its body closed, as a RoundTripper must.
func (c *call) attempt(req *http.Request) (*http.Response, error) {
	clk, ctx := c.t.cfg.clock, req.Context()
	start := clk.Now()
	slot, err := c.reserve(ctx) // the breaker's check, then the store's
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if slot.Waited {
		c.t.tracker.waited(c.id(), clk.Now().Sub(start))
	}
	if err := ctx.Err(); err != nil {
		c.t.store.Observe(slot, Outcome{At: clk.Now()})
		c.unsent()
		closeBody(req)
		return nil, err
	}
	c.attempts++
	c.t.tracker.sent(c.ticket.Scope)
	resp, err := c.t.base.RoundTrip(req)
	c.settleBreaker(req, resp, err)
	c.refundRetry(resp)
	c.observe(slot, resp)
	return resp, err
}

// observe reads what the response says about the server's limit, then
// releases the slot with it.
func (c *call) observe(slot Slot, resp *http.Response) {
	now := c.t.cfg.clock.Now()
	out := Outcome{Sent: true, At: now}
	c.hint, c.hasHint = 0, false
	if resp != nil {
		out.Status = resp.StatusCode
		out.RateLimit, out.HasRateLimit = ParseRateLimit(resp.Header, now)
		out.RateLimit.Reset = capReset(out.RateLimit.Reset, now)
		if resp.StatusCode >= 400 { // only failures are retried after a wait
			c.hint, c.hasHint = serverWait(resp, out, now)
		}
		if c.hasHint {
			out.RetryAfter = c.hint
		}
		if out.HasRateLimit || out.Status == http.StatusTooManyRequests {
			c.t.tracker.rateLimit(c.ticket.Scope, out, c.id)
		}
	}
	c.last = out
	c.t.store.Observe(slot, out)
}

// serverWait is the server's word on how long to wait before the next
// attempt: Retry-After, else (on a 429) a JSON body hint, else the reset time
// of an exhausted window.
func serverWait(resp *http.Response, out Outcome, now time.Time) (time.Duration, bool) {
	if d, ok := ParseRetryAfter(resp.Header, now); ok {
		return min(d, MaxRetryAfter), true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := peekBodyHint(resp, now); ok {
			return min(d, MaxRetryAfter), true
		}
	}
	if rl := out.RateLimit; out.HasRateLimit && rl.Remaining == 0 && rl.Reset.After(now) {
		return rl.Reset.Sub(now), true
	}
	return 0, false
}

// capReset keeps a server's reset within [now, now+MaxRetryAfter], as every
// wait pacer takes from a server is; the zero Time (no reset) stays zero.
func capReset(t, now time.Time) time.Time {
	switch {
	case t.IsZero():
		return t
	case t.Before(now):
		return now
	case t.After(now.Add(MaxRetryAfter)):
		return now.Add(MaxRetryAfter)
	}
	return t
}
