package redisbudget

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnavailable means Redis could not be reached (or did not answer within
// the store's timeout) and the store fails closed. The error is an
// *UnavailableError.
var ErrUnavailable = errors.New("redisbudget: redis unavailable")

// UnavailableError reports a reservation refused because Redis could not be
// used. It matches errors.Is(err, ErrUnavailable) and unwraps to the
// underlying Redis or network error, except a context error: a store that
// cannot answer is a failure class of its own, so an UnavailableError never
// matches context.DeadlineExceeded or context.Canceled (the caller's own
// deadline is reported as ctx.Err(), not as an UnavailableError). The cause
// stays in Err and in the message.
type UnavailableError struct {
	// Scope is the budget scope of the refused request.
	Scope string
	// Err is the underlying cause; nil when the store skipped Redis because a
	// recent call had failed (see WithRetryInterval).
	Err error
}

func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("redisbudget: redis unavailable (scope %s)", e.Scope)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the underlying cause, or nil when the cause is a context
// error (the store's own per-call bound running out).
func (e *UnavailableError) Unwrap() error {
	if errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, context.Canceled) {
		return nil
	}
	return e.Err
}
