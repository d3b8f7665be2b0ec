package pacer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"
)

// IdempotencyKeyHeader is the header that marks a request as safe to repeat:
// a server that honours it acts on a given key at most once.
const IdempotencyKeyHeader = "Idempotency-Key"

// defaultRetryStatuses are the statuses retried when repeating the request
// cannot duplicate work (see mayRepeat). 429 and 503 are always retried.
var defaultRetryStatuses = []int{
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusGatewayTimeout,
}

// alwaysRetried reports whether status means the server did not act on the
// request, so a retry is safe whatever the method: 429 (rate limited) and
// 503 (unavailable).
func alwaysRetried(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// mayRepeat reports whether sending req again cannot duplicate work: its
// method is idempotent or it carries an Idempotency-Key.
func mayRepeat(req *http.Request) bool {
	return idempotent(req.Method) || req.Header.Get(IdempotencyKeyHeader) != ""
}

// idempotent reports whether a method is idempotent (RFC 9110 §9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// errorKind is what a transport error allows.
type errorKind int

const (
	errorFinal  errorKind = iota // no retry can fix it
	errorRetry                   // a retry is safe
	errorUnsafe                  // a retry could duplicate work
)

// classifyError says what a transport error of a request allows; repeatable
// is mayRepeat of the request. Errors that no retry can fix (bad
// certificates, pacer's own refusals, the caller's context) are final. A
// request that never left the client (the dial failed) may be retried
// whatever its method; after any other failure the server may have acted on
// the request before the connection died, so only a repeatable request may.
func classifyError(err error, repeatable bool) errorKind {
	switch {
	case permanent(err):
		return errorFinal
	case neverSent(err) || repeatable:
		return errorRetry
	}
	return errorUnsafe
}

func permanent(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var rle *RateLimitError
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrQueueFull) || errors.Is(err, ErrCircuitOpen) ||
		errors.As(err, &rle) || errors.As(err, &certErr) ||
		errors.As(err, &unknownAuth) || errors.As(err, &hostErr)
}

// neverSent reports whether err happened while connecting, before any byte
// of the request was written.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// decide is the retry decision for the latest attempt: whether to retry
// and, if so, after which wait (stored in c.wait). When it stops on a 429 it
// returns a *RateLimitError (unless WithRateLimitResponses); on other
// statuses the caller gets the last response, and after a transport error
// that error, as an *OutcomeUnknownError when the request may have been
// acted on and could not be repeated safely.
func (c *call) decide(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		switch classifyError(err, c.repeatable) {
		case errorFinal:
			return false, nil
		case errorUnsafe:
			return false, c.outcomeUnknown(nil, err)
		}
		c.uncertain = c.uncertain || !neverSent(err) && !idempotent(c.req.Method)
		return c.schedule(ctx, resp, c.backoff(), false)
	}
	status := resp.StatusCode
	if !alwaysRetried(status) && !(c.t.cfg.retryStatuses[status] && c.repeatable) {
		return false, nil
	}
	if c.hasHint {
		return c.schedule(ctx, resp, c.hint, true)
	}
	return c.schedule(ctx, resp, c.backoff(), false)
}

// backoff draws the next capped exponential wait.
func (c *call) backoff() time.Duration {
	return c.t.cfg.backoff.Delay(c.attempts, c.prevWait, c.t.cfg.rand())
}

// schedule retries after wait unless the attempts are spent, the server
// asked for more than the max wait, or the wait would pass ctx's deadline:
// pacer then returns at once instead of sleeping for nothing.
func (c *call) schedule(ctx context.Context, resp *http.Response, wait time.Duration, fromServer bool) (bool, error) {
	cfg := c.t.cfg
	if c.attempts >= cfg.maxAttempts {
		return c.stop(resp, wait, nil)
	}
	if fromServer && wait > cfg.maxWait {
		return c.stop(resp, wait, nil)
	}
	wait = min(wait, cfg.maxWait)
	if pastDeadline(ctx, wait) {
		return c.stop(resp, wait, context.DeadlineExceeded)
	}
	if err := c.spendRetry(fromServer); err != nil {
		c.stopped = true
		return false, err
	}
	c.wait, c.prevWait = wait, wait
	c.t.tracker.retry(RetryEvent{Request: c.id(), Attempt: c.attempts, Status: c.last.Status, Wait: wait})
	return true, nil
}

// stop ends the retries. A final 429 becomes a *RateLimitError carrying
// when to retry and what the server said.
func (c *call) stop(resp *http.Response, wait time.Duration, cause error) (bool, error) {
	c.stopped = true
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests || c.t.cfg.return429 {
		return false, nil
	}
	return false, c.rateLimitError(wait, cause)
}

func (c *call) rateLimitError(wait time.Duration, cause error) *RateLimitError {
	return &RateLimitError{
		Scope:      c.ticket.Scope,
		RetryAt:    c.t.cfg.clock.Now().Add(wait),
		RetryAfter: wait,
		StatusCode: c.last.Status,
		Attempts:   c.attempts,
		RateLimit:  c.last.RateLimit,
		Err:        cause,
	}
}

// outcomeUnknown is the error of a request an attempt of which was cut off
// after it was sent, ending with resp or err.
func (c *call) outcomeUnknown(resp *http.Response, err error) *OutcomeUnknownError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	e := &OutcomeUnknownError{Scope: c.ticket.Scope, Method: c.req.Method, Attempts: c.attempts,
		IdempotencyKey: c.req.Header.Get(IdempotencyKeyHeader), Err: err}
	if resp != nil {
		e.StatusCode = resp.StatusCode
		drain(resp.Body)
	} else {
		e.StatusCode = c.last.Status
	}
	return e
}

// settle turns the end of a request an earlier attempt of which may have
// been acted on (c.uncertain) into an *OutcomeUnknownError, unless an
// answer says what became of it: a final error, 5xx or 429 does not.
func (c *call) settle(resp *http.Response, err error) (*http.Response, error) {
	if !c.uncertain || err == nil && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	return nil, c.outcomeUnknown(resp, err)
}

// gaveUp records a request that ended in an error.
func (c *call) gaveUp(err error) {
	c.t.tracker.giveUp(GiveUpEvent{Request: c.id(), Attempts: c.attempts, Status: c.last.Status, Err: err})
}

// pastDeadline reports whether waiting d would pass ctx's deadline. Context
// deadlines are on the wall clock, so d is compared with the wall-clock time
// left (with a scaled or fake Clock, d is taken as wall-clock time, which
// errs on the side of returning early).
func pastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}
