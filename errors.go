package pacer

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Match them with errors.Is; the typed errors below carry the
// details and match the sentinel of their kind.
var (
	// ErrRateLimited means the server refused the request for its rate limit
	// (or pacer knew it would) and pacer could not wait long enough to retry.
	// The error is a *RateLimitError.
	ErrRateLimited = errors.New("pacer: rate limited")

	// ErrQueueFull means the scope's wait queue already held its maximum
	// number of waiters (see WithQueueLimit); the request was not sent.
	ErrQueueFull = errors.New("pacer: wait queue full")

	// ErrCircuitOpen means the scope's circuit breaker is open; the request
	// was not sent. The error is a *CircuitOpenError.
	ErrCircuitOpen = errors.New("pacer: circuit open")

	// ErrRetryBudgetExhausted means the scope's retry budget was empty, so a
	// failed attempt was not retried.
	ErrRetryBudgetExhausted = errors.New("pacer: retry budget exhausted")

	// ErrOutcomeUnknown means a request reached the network and its
	// connection failed before an answer, so the server may or may not have
	// acted on it, and pacer did not retry it because repeating it could
	// duplicate work. The error is an *OutcomeUnknownError.
	ErrOutcomeUnknown = errors.New("pacer: outcome unknown")
)

// RateLimitError reports a request that was, or would have been, refused for
// the server's rate limit and that pacer gave back to the caller instead of
// waiting: the wait passed the context's deadline or the max wait, or the
// attempts ran out. It matches errors.Is(err, ErrRateLimited).
type RateLimitError struct {
	// Scope is the budget scope of the request (never a raw credential).
	Scope string
	// RetryAt is the earliest time, on pacer's clock, at which a retry may
	// succeed; zero if unknown.
	RetryAt time.Time
	// RetryAfter is RetryAt minus the time the error was made (0 if unknown).
	RetryAfter time.Duration
	// StatusCode is the last HTTP status received (429 usually), or 0 when
	// pacer refused before sending.
	StatusCode int
	// Attempts is how many attempts were sent.
	Attempts int
	// RateLimit is what the server last said about its limit, if anything.
	RateLimit RateLimit
	// Err is the underlying cause, such as context.DeadlineExceeded; may be nil.
	Err error
}

func (e *RateLimitError) Error() string {
	msg := fmt.Sprintf("pacer: rate limited (scope %s, %d attempts", e.Scope, e.Attempts)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(", last status %d", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(", retry after %s", e.RetryAfter.Round(time.Millisecond))
	}
	msg += ")"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Unwrap returns the underlying cause.
func (e *RateLimitError) Unwrap() error { return e.Err }

// CircuitOpenError reports a request refused because its scope's circuit
// breaker is open. It matches errors.Is(err, ErrCircuitOpen).
type CircuitOpenError struct {
	Scope string
	// Until is when the breaker will let a probe through (pacer's clock).
	Until time.Time
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("pacer: circuit open for scope %s until %s", e.Scope, e.Until.Format(time.RFC3339Nano))
}

// Is reports whether target is ErrCircuitOpen.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// OutcomeUnknownError reports a request with side effects (a method that
// is not idempotent) whose connection failed after it was sent, before an
// answer, so that the server may have acted on it, and that did not end in
// an answer saying what became of it:
//
//   - without an Idempotency-Key pacer does not retry it (a retry could
//     duplicate the work): Attempts counts the failed one, Err is the
//     transport error;
//   - with one (WithIdempotencyKeys, or the caller's own) pacer retries it
//     under the same key, and this error replaces a final 5xx or 429 or a
//     final error (then in Err): the server never answered for the attempt
//     that may have acted. Sending it again under IdempotencyKey is safe.
//
// Look the result up before sending it again without the key. It matches
// errors.Is(err, ErrOutcomeUnknown), and errors.Is/As reach Err through it.
type OutcomeUnknownError struct {
	// Scope is the budget scope of the request (never a raw credential).
	Scope string
	// Method is the request's method.
	Method string
	// Attempts is how many attempts were sent.
	Attempts int
	// StatusCode is the last attempt's status, 0 if it got no answer.
	StatusCode int
	// IdempotencyKey is the key every attempt carried, "" if none.
	IdempotencyKey string
	// Err is the last attempt's error, nil if it was answered.
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	msg := fmt.Sprintf("pacer: outcome unknown: %s sent (scope %s, %d attempts), a connection failed before its answer",
		e.Method, e.Scope, e.Attempts)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(", last status %d", e.StatusCode)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrOutcomeUnknown.
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// Unwrap returns the last attempt's error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// StoreError reports a request that was not sent because its Store could
// not answer (a shared store whose backend is unreachable, say). pacer
// returns it at once, without retrying: the store, not the server, failed.
// errors.Is/As reach the store's own error through it; it never matches
// the caller's context errors unless the store's error does.
type StoreError struct {
	// Scope is the budget scope of the request (never a raw credential).
	Scope string
	// Err is the store's error.
	Err error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("pacer: store unavailable (scope %s): %v", e.Scope, e.Err)
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
