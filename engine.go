package pacer

import (
	"io"
	"math"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// This file holds everything go-retryablehttp, the retry engine, needs. It
// runs the attempts after the first (see call.run) with pacer's decision,
// wait and error handling plugged in:
//
//   - CheckRetry is call.decide: whether to retry, and the wait (the
//     server's word, else capped exponential backoff with jitter);
//   - the engine's own Backoff is zero and PrepareRetry is call.pause,
//     which waits on pacer's Clock and the request's context (the engine's
//     time.Timer sleep sees neither an injected clock nor the breaker);
//   - ErrorHandler is call.fail: the error replaces the response;
//   - its inner http.Client sends each attempt through call.attempt,
//     follows no redirect (the caller's own client does) and has no
//     CloseIdleConnections, so the engine's calls to it after a failure
//     cannot drop the base transport's pool;
//   - RetryMax is unbounded: decide counts attempts (WithMaxAttempts).
//
// The engine is built per call, only for requests that are retried, with
// its hooks bound to the call: no state travels in the request's context.

// retries runs the retry engine for the attempts after the first.
func (c *call) retries() (*http.Response, error) {
	rr, err := c.engineRequest()
	if err != nil {
		return c.fail(nil, err)
	}
	engine := &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     attemptFunc(c.attempt),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryMax:     math.MaxInt32,
		CheckRetry:   c.decide,
		Backoff:      func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		PrepareRetry: c.pause,
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) { return c.fail(resp, err) },
	}
	return engine.Do(rr)
}

// attemptFunc adapts call.attempt to an http.RoundTripper (deliberately
// without CloseIdleConnections: see above).
type attemptFunc func(*http.Request) (*http.Response, error)

func (f attemptFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// engineRequest is the engine's request: c.req with its body taken from
// GetBody before each attempt.
func (c *call) engineRequest() (*retryablehttp.Request, error) {
	out := c.req.WithContext(c.req.Context())
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
