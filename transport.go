package pacer

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Transport is an http.RoundTripper that keeps a client within the rate
// limits of the servers it calls. Each request is
//
//  1. scoped (by host by default; see WithScope) and matched to its budgets;
//  2. held in its scope's fair queue until the budgets and what the server
//     last said about its limit allow one more request (the Store);
//  3. sent through the base RoundTripper; the response's rate-limit headers
//     update the scope;
//  4. retried, when that is safe, after the wait the server asked for
//     (Retry-After, the reset time) or a capped exponential backoff with
//     jitter, never past the context's deadline or the max wait.
//
// go-retryablehttp is the retry engine; pacer supplies its retry decision,
// waits and error handling, and sends the first attempt itself (see run).
// The response reaches the caller with its body intact, or a typed error
// does: *RateLimitError, *OutcomeUnknownError, *RetryBudgetError,
// ErrQueueFull, *CircuitOpenError, or the transport's own error.
//
// A Transport is safe for concurrent use by multiple goroutines. Its zero
// value is not usable: call NewTransport.
type Transport struct {
	base    http.RoundTripper
	cfg     *config
	engine  *retryablehttp.Client
	store   Store
	tracker *tracker

	breakers *breakers     // nil unless WithCircuitBreaker
	retries  *retryBudgets // nil unless WithRetryBudget
}

// NewTransport returns a Transport sending through base (a clone of
// http.DefaultTransport when base is nil), configured by opts.
func NewTransport(base http.RoundTripper, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	cfg := newConfig(opts)
	t := &Transport{base: base, cfg: cfg, tracker: newTracker(cfg), store: cfg.newStore()}
	t.breakers, t.retries = newBreakers(cfg), newRetryBudgets(cfg)
	t.engine = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     attemptTransport{t},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryMax:     math.MaxInt32, // pacer counts attempts itself (checkRetry)
		CheckRetry:   t.checkRetry,
		Backoff:      func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		PrepareRetry: t.prepareRetry,
		ErrorHandler: t.errorHandler,
	}
	return t
}

// RoundTrip implements http.RoundTripper. It does not modify req: each
// attempt sends a clone, the same body replayed byte for byte.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.newCall(req)
	out, err := c.prepare(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.settle(c.run(out))
	if err != nil || c.stopped {
		c.gaveUp(err)
	}
	return resp, err
}

// run sends the first attempt itself and hands the retries, if any, to the
// retry engine, with the same decision, waits and error handling the engine
// would apply: a request answered at once does not pay for the engine's
// inner http.Client.
func (c *call) run(out *http.Request) (*http.Response, error) {
	resp, err := c.attempt(out)
	retry, cerr := c.decide(out.Context(), resp, err)
	switch {
	case retry:
		return c.retry(resp)
	case cerr != nil:
		return c.t.errorHandler(resp, cerr, 1)
	case err != nil:
		return c.t.errorHandler(resp, err, 1)
	}
	return resp, nil
}

// retry discards the first attempt's response, waits the time decide chose
// and runs the retry engine for the attempts after the first.
func (c *call) retry(first *http.Response) (*http.Response, error) {
	if first != nil {
		drain(first.Body)
	}
	if err := c.pause(c.req.Context(), c.wait); err != nil {
		return c.t.errorHandler(nil, err, 1)
	}
	rr, err := c.engineRequest()
	if err != nil {
		return nil, err
	}
	return c.t.engine.Do(rr)
}

// Stats returns a snapshot of the transport's figures per scope.
func (t *Transport) Stats() Stats {
	scopes := t.tracker.snapshot()
	if ur, ok := t.store.(UsageReporter); ok {
		for _, u := range ur.Usage() {
			s := scopes[u.Scope]
			s.InWindow, s.InFlight, s.Queued, s.AdaptiveRate = u.InWindow, u.InFlight, u.Queued, u.AdaptiveRate
			if s.Breaker == "" {
				s.Breaker = "closed"
			}
			scopes[u.Scope] = s
		}
	}
	t.breakers.states(scopes)
	return Stats{Scopes: scopes}
}

// CloseIdleConnections closes the base transport's idle connections, when
// it has that method.
func (t *Transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// attemptTransport is the inner http.Client's transport: one attempt.
// It deliberately has no CloseIdleConnections method, so the retry engine's
// calls to it (after every failed request) cannot drop the pool of the base
// transport.
type attemptTransport struct{ t *Transport }

func (a attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return callOf(req.Context()).attempt(req)
}

// checkRetry is the retry engine's CheckRetry: it decides whether to retry
// and, if so, how long to wait (stored in the call, waited in prepareRetry).
func (t *Transport) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	return callOf(ctx).decide(ctx, resp, err)
}

// prepareRetry waits, on pacer's clock and the request's context, the time
// checkRetry chose. (The engine's own sleep is time.Timer-based and sees no
// injected clock, so pacer sets the engine's backoff to zero.)
func (t *Transport) prepareRetry(req *http.Request) error {
	c := callOf(req.Context())
	return c.pause(req.Context(), c.wait) // sleep, cut short if the breaker opens
}

// errorHandler is the engine's ErrorHandler: the response of a request pacer
// refused to retry further is closed and replaced by the typed error.
func (t *Transport) errorHandler(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil {
		drain(resp.Body)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the caller's http.Client adds its own *url.Error
	}
	return nil, err
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

// drainLimit bounds how much of a discarded response body is read so that
// its connection can be reused.
const drainLimit = 4 << 10

func drain(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	_ = body.Close()
}
