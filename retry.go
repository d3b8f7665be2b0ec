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

// failure is the class of an attempt that ended without an answer.
type failure int

const (
	// failFinal: no retry can help. pacer refused the attempt before
	// sending it (queue full, circuit open, store unavailable, no slot
	// before the deadline), the request is invalid, the certificate is
	// bad, or the caller's context ended. Nothing was sent, or the caller
	// no longer waits; the error reaches the caller as it is.
	failFinal failure = iota
	// failUnsent: nothing reached the server (the dial or the TLS
	// handshake failed); a retry is safe whatever the method.
	failUnsent
	// failMaybeSent: the connection failed after the request may have been
	// written; only a repeatable request may be sent again.
	failMaybeSent
)

// classify tells the three failure classes apart; every failed attempt is
// judged here and nowhere else. err is the attempt's error, req the
// request it sent.
func (c *call) classify(req *http.Request, err error) failure {
	switch {
	case c.refused || permanent(err) || invalid(req):
		return failFinal
	case c.trace.unsent() || dialFailed(err):
		return failUnsent
	}
	return failMaybeSent
}

// permanent reports whether err is one no retry can fix: the caller's
// context, or a certificate the client does not trust.
func permanent(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr)
}

// dialFailed reports whether err happened while connecting, before any
// byte of the request was written.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// decide is the retry decision for the latest attempt, for the first
// attempt and the retry engine alike: whether to retry and, if so, after
// which wait (stored in c.wait). When it stops on a 429 it returns a
// *RateLimitError (unless WithRateLimitResponses); on other statuses the
// caller gets the last response, and after a failure its error, as an
// *OutcomeUnknownError when the request may have been acted on and could
// not be repeated safely.
func (c *call) decide(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		switch f := c.classify(c.req, err); {
		case f == failFinal:
			return false, nil
		case f == failMaybeSent && !c.repeatable:
			return false, c.outcomeUnknown(nil, err)
		case !c.replayable:
			return false, nil // its body cannot be sent again
		case f == failMaybeSent:
			c.uncertain = c.uncertain || !idempotent(c.req.Method)
		}
		return c.schedule(ctx, resp, c.backoff(), false)
	}
	status := resp.StatusCode
	if !alwaysRetried(status) && !(c.t.cfg.retryStatuses[status] && c.repeatable) {
		return false, nil // answered: the caller gets the response
	}
	if !c.replayable {
		return c.stop(resp, c.hint, nil) // its body cannot be sent again
	}
	if c.hasHint {
		return c.schedule(ctx, resp, c.hint, true)
	}
	return c.schedule(ctx, resp, c.backoff(), false)
}

// backoff draws the next capped exponential wait.
func (c *call) backoff() time.Duration {
	return c.t.cfg.backoff.delay(c.attempts, c.prevWait, c.t.cfg.rand())
}

// schedule retries after wait unless the attempts are spent, the server
// asked for more than the max wait, or the wait would pass ctx's deadline:
// pacer then returns at once instead of sleeping for nothing.
//
// A 429 asking for more than the max wait, as the answer before it did,
// is the scope's hold, which the store now keeps (config.bounded): every
// request of the scope waits it out in the store's queue, bounded by its
// context, and so does this one, at once, rather than fail where the
// requests queued behind it will not (the refused request was the probe
// sent when one answer's bound ran out: a sliding log's 25-minute gap
// failed 1-3 events of 5000 in the bench's lupitor burst).
func (c *call) schedule(ctx context.Context, resp *http.Response, wait time.Duration, fromServer bool) (bool, error) {
	cfg := c.t.cfg
	if fromServer && wait > cfg.maxWait && c.held && c.last.Status == http.StatusTooManyRequests {
		wait = 0
	}
	if c.spent(wait) {
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
	if resp != nil {
		drain(resp.Body) // bounded; the engine's own drain then finds it closed
	}
	c.wait, c.prevWait, c.server = wait, wait, fromServer
	c.t.tracker.retry(c.scope, c.info, RetryEvent{Attempt: c.attempts, Status: c.last.Status, Err: c.lastErr,
		Wait: wait, ServerWait: fromServer})
	return true, nil
}

// spent reports whether the request may not be sent again after a wait:
// its attempts that could do harm number WithMaxAttempts, or — for a
// request the server keeps refusing with 429s, which it did nothing about —
// the waits pacer chose after the refusals, the one ahead included, add up
// to more than the max wait. A 429 costs no attempt: a request keeps its
// place through a lockout and is sent when the scope may send, within its
// deadline and the max wait. Time queued in the store, behind the scope's
// hold, is the store's (bounded by the context, as every wait for a slot
// is): a lockout measured with many probes must not make a request give up
// that a window's end would serve.
func (c *call) spent(wait time.Duration) bool {
	if c.t.cfg.maxAttempts == 1 {
		return true // WithMaxAttempts(1): no retry at all
	}
	if c.last.Status != http.StatusTooManyRequests {
		return c.attempts-c.refusals >= c.t.cfg.maxAttempts
	}
	if c.refusedWait+wait > c.t.cfg.maxWait {
		return true
	}
	c.refusedWait += wait
	return false
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

// fail ends a request that will not be retried with err: its response, if
// any, is drained and closed (the error replaces it). It is the retry
// engine's ErrorHandler too.
func (c *call) fail(resp *http.Response, err error) (*http.Response, error) {
	if resp != nil {
		drain(resp.Body)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the caller's http.Client adds its own *url.Error
	}
	return nil, err
}

// outcomeUnknown is the error of a request an attempt of which was cut off
// after it may have been sent, ending with resp or err.
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

// end is the last step of every RoundTrip: a request an earlier attempt of
// which may have been acted on (c.uncertain) becomes an
// *OutcomeUnknownError unless an answer says what became of it (a final
// error, 5xx or 429 does not), and a request that failed is reported.
func (c *call) end(resp *http.Response, err error) (*http.Response, error) {
	if c.closer != nil {
		c.closer.Close()
	}
	if c.uncertain && (err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests) {
		resp, err = nil, c.outcomeUnknown(resp, err)
	}
	if err != nil || c.stopped {
		c.t.tracker.giveUp(c.scope, c.info, GiveUpEvent{Attempts: c.attempts, Status: c.last.Status, Err: err})
	}
	return resp, err
}

// pastDeadline reports whether waiting d would pass ctx's deadline. Context
// deadlines are on the wall clock, so d is compared with the wall-clock time
// left (with a scaled or fake Clock, d is taken as wall-clock time, which
// errs on the side of returning early).
func pastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// spendRetry pays for the retry decide is about to schedule. It returns a
// *RetryBudgetError when the budget refuses; server-paced 429s are free
// (see RetryBudget).
func (c *call) spendRetry(fromServer bool) error {
	rb := c.t.retries
	if rb == nil || (fromServer && c.last.Status == http.StatusTooManyRequests) {
		return nil
	}
	if rb.spend(c.scope) {
		return nil
	}
	return &RetryBudgetError{Scope: c.ticket.Scope, StatusCode: c.last.Status, Attempts: c.attempts}
}

// refundRetry credits the scope's retry budget when resp is a success.
func (c *call) refundRetry(resp *http.Response) {
	if resp != nil && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		c.t.retries.refund(c.scope)
	}
}
