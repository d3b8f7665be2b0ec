package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// env is what a contender is built against: one server, the API it plays,
// the server's clock and how much faster than real time that clock runs.
type env struct {
	api   *api
	cfg   pacertest.Config // the server's configuration: the documented limits
	url   string
	clock pacertest.Clock
	scale float64
}

// real converts a wait in the server's (virtual) time to real time, for the
// libraries that sleep on the wall clock.
func (e env) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / e.scale)
}

// caller does one logical API call, with whatever retries its contender
// makes, and returns the final status code (0 with a transport error).
// Callers are safe for concurrent use by multiple goroutines.
type caller interface {
	do(ctx context.Context, req *http.Request) (int, error)
	// close releases idle connections.
	close()
}

// contender is one way a Go user calls a rate-limited API.
type contender struct {
	name  string
	short string // legend label in the timeline
	build func(e env) caller
}

// contenders returns every contender, in report order.
func contenders() []contender {
	return []contender{
		{"hand loop (vendor pages)", "hand loop", newHandLoop},
		{"go-retryablehttp", "retryablehttp", newRetryable},
		{"go-retryablehttp + x/time/rate", "retryablehttp+rate", newRetryableRate},
		{"failsafe-go (retry + bursty limiter)", "failsafe-go", newFailsafe},
		{"pacer (zero config)", "pacer zero-config", newPacerZero},
		{"pacer (configured)", "pacer configured", newPacerConfigured},
	}
}

// newBase returns the connection pool every contender sends through: a
// clone of http.DefaultTransport with room for 16 idle connections to the
// server, so that 8 workers never redial, and at most 64 connections in
// all, so that thousands of concurrent webhook calls queue for a
// connection instead of exhausting file descriptors.
func newBase() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = 100, 16, 64
	return t
}

// clientCaller is a contender that is an *http.Client.
type clientCaller struct {
	c    *http.Client
	base *http.Transport
}

func (c clientCaller) do(ctx context.Context, req *http.Request) (int, error) {
	resp, err := attempt(ctx, c.c, req)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func (c clientCaller) close() { c.base.CloseIdleConnections() }

func newPacerZero(e env) caller { return newPacer(e) }

func newPacerConfigured(e env) caller { return newPacer(e, e.api.configured()...) }

// newPacer is a contender that sends through a pacer transport with opts
// and the server's clock (after opts).
func newPacer(e env, opts ...pacer.Option) caller {
	base := newBase()
	opts = append(slices.Clip(opts), pacer.WithClock(e.clock))
	return clientCaller{&http.Client{Transport: pacer.NewTransport(base, opts...)}, base}
}

// errMaxRetries is the hand loop's give-up, as in the vendor snippets.
var errMaxRetries = errors.New("max retries exceeded")

// handLoop is the retry loop the vendor pages print: up to 5 attempts;
// after a 429 wait Retry-After seconds when the response has it, else
// 2^attempt seconds (1, 2, 4, 8); any other status or error ends the call.
// It waits on the server's clock.
type handLoop struct {
	clientCaller // close releases its idle connections
	clock        pacertest.Clock
}

const handAttempts = 5

func newHandLoop(e env) caller {
	base := newBase()
	return handLoop{clientCaller{&http.Client{Transport: base}, base}, e.clock}
}

func (h handLoop) do(ctx context.Context, req *http.Request) (int, error) {
	for n := range handAttempts {
		resp, err := attempt(ctx, h.c, req)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp.StatusCode, nil
		}
		if n == handAttempts-1 {
			break
		}
		wait := time.Duration(1<<n) * time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			wait = time.Duration(s) * time.Second
		}
		if err := sleepOn(ctx, h.clock, wait); err != nil {
			return 0, err
		}
	}
	return http.StatusTooManyRequests, errMaxRetries
}

// attempt sends a fresh copy of req through c and drains and closes the
// response body: the status and headers stay readable, the connection is
// free for the next request.
func attempt(ctx context.Context, c *http.Client, req *http.Request) (*http.Response, error) {
	r, err := replay(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(r)
	if err != nil {
		return nil, err
	}
	drain(resp.Body)
	return resp, nil
}

// replay returns a copy of req with a fresh body, for one more attempt.
func replay(ctx context.Context, req *http.Request) (*http.Request, error) {
	r := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// sleepOn waits d on clk, or until ctx ends.
func sleepOn(ctx context.Context, clk pacertest.Clock, d time.Duration) error {
	ch, stop := clk.NewTimer(d)
	defer stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain reads what is left of a response body, so that its connection is
// reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
