package pacer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
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
