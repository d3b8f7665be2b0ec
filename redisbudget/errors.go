package redisbudget

import (
	"errors"
	"fmt"
)

// ErrUnavailable means Redis could not be reached (or did not answer within
// the store's timeout) and the store fails closed. The error is an
// *UnavailableError.
var ErrUnavailable = errors.New("redisbudget: redis unavailable")

// UnavailableError reports a reservation refused because Redis could not be
// used. It matches errors.Is(err, ErrUnavailable) and unwraps to the
// underlying Redis or timeout error.
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

// Unwrap returns the underlying cause.
func (e *UnavailableError) Unwrap() error { return e.Err }
