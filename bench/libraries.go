package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/pacerhq/pacer/pacertest"
)

// newRetryable is go-retryablehttp's default client (4 retries, waits of 1
// to 30 s doubling, Retry-After honoured on 429 and 503) with its logger
// off. Its waits are computed by DefaultBackoff in server time and divided
// by the scale before it sleeps them on the wall clock.
func newRetryable(e env) caller {
	base := newBase()
	return clientCaller{retryableClient(e, base), base}
}

// newRetryableRate adds what a careful user builds: before every attempt,
// one x/time/rate limiter per documented limit of the request's endpoint,
// each at the documented average rate (Limit/Window) with a burst of 1,
// as the vendor pages advise ("distribute load over time"). A limiter runs
// on the wall clock, so its rate is the documented rate times the scale.
func newRetryableRate(e env) caller {
	base := newBase()
	mk := func(l pacertest.Limit) *rate.Limiter {
		return rate.NewLimiter(rate.Limit(float64(l.Requests)/e.real(l.Window).Seconds()), 1)
	}
	inner := newRouted(e.cfg, mk, func(lims []*rate.Limiter) http.RoundTripper {
		return rateTransport{base, lims}
	})
	return clientCaller{retryableClient(e, inner), base}
}

func retryableClient(e env, inner http.RoundTripper) *http.Client {
	c := retryablehttp.NewClient()
	c.Logger = nil
	c.HTTPClient = &http.Client{Transport: inner}
	c.Backoff = func(lo, hi time.Duration, n int, resp *http.Response) time.Duration {
		return e.real(retryablehttp.DefaultBackoff(lo, hi, n, resp))
	}
	return c.StandardClient()
}

// rateTransport waits on every limiter, then sends.
type rateTransport struct {
	base http.RoundTripper
	lims []*rate.Limiter
}

func (t rateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, l := range t.lims {
		if err := l.Wait(req.Context()); err != nil {
			return nil, err
		}
	}
	return t.base.RoundTrip(req)
}

// newFailsafe is failsafe-go's failsafehttp round tripper with its HTTP
// retry policy (5 attempts, Retry-After honoured through
// failsafehttp.DelayFunc, else a backoff of 1 to 30 s) around one bursty
// rate limiter per documented limit of the endpoint (Limit permits per
// Window, the natural reading of "1000 requests per hour"). Its delays and
// periods are divided by the scale, as it sleeps on the wall clock.
// failsafehttp does not close the responses it retries, nor the last one
// when its retries run out; a listener and failsafeCaller do, or each would
// hold on to its connection.
func newFailsafe(e env) caller {
	base := newBase()
	retry := failsafehttp.NewRetryPolicyBuilder().
		WithMaxRetries(handAttempts-1).
		WithBackoff(e.real(time.Second), e.real(30*time.Second)).
		WithDelayFunc(func(exec failsafe.ExecutionAttempt[*http.Response]) time.Duration {
			if d := failsafehttp.DelayFunc(exec); d >= 0 {
				return e.real(d)
			}
			return -1
		}).
		OnRetryScheduled(func(ev failsafe.ExecutionScheduledEvent[*http.Response]) {
			if r := ev.LastResult(); r != nil {
				drain(r.Body) // failsafehttp leaves retried responses open
			}
		}).
		Build()
	mk := func(l pacertest.Limit) failsafe.Policy[*http.Response] {
		return ratelimiter.NewBurstyBuilder[*http.Response](uint(l.Requests), e.real(l.Window)).
			WithMaxWaitTime(24 * time.Hour).Build()
	}
	rt := newRouted(e.cfg, mk, func(lims []failsafe.Policy[*http.Response]) http.RoundTripper {
		return failsafehttp.NewRoundTripper(base, append([]failsafe.Policy[*http.Response]{retry}, lims...)...)
	})
	return failsafeCaller{clientCaller{&http.Client{Transport: rt}, base}}
}

// failsafeCaller closes the last response of a call whose retries ran out:
// failsafe-go returns it inside its ExceededError, where nobody else would
// close it (and its connection would stay open).
type failsafeCaller struct{ clientCaller }

func (f failsafeCaller) do(ctx context.Context, req *http.Request) (int, error) {
	status, err := f.clientCaller.do(ctx, req)
	if ee := retrypolicy.AsExceededError(err); ee != nil {
		if r, ok := ee.LastResult.(*http.Response); ok && r != nil {
			drain(r.Body)
		}
	}
	return status, err
}

// routed is a RoundTripper that sends each request through the round
// tripper of its documented endpoint. Limiters of the global limits are
// shared by every endpoint; those of a route belong to it alone.
type routed[L any] struct {
	cfg    pacertest.Config
	mk     func(pacertest.Limit) L
	wrap   func([]L) http.RoundTripper
	global []L

	mu     sync.Mutex
	routes map[string]http.RoundTripper
}

func newRouted[L any](cfg pacertest.Config, mk func(pacertest.Limit) L, wrap func([]L) http.RoundTripper) *routed[L] {
	r := &routed[L]{cfg: cfg, mk: mk, wrap: wrap, routes: map[string]http.RoundTripper{}}
	for _, l := range cfg.Limits {
		r.global = append(r.global, mk(l))
	}
	return r
}

func (r *routed[L]) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.pick(req).RoundTrip(req)
}

func (r *routed[L]) pick(req *http.Request) http.RoundTripper {
	key, limits := routeOf(r.cfg, req.Method, req.URL.Path)
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, ok := r.routes[key]
	if !ok {
		lims := append([]L(nil), r.global...)
		for _, l := range limits {
			lims = append(lims, r.mk(l))
		}
		rt = r.wrap(lims)
		r.routes[key] = rt
	}
	return rt
}
