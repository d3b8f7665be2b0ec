package pacer

import (
	"net/http"
	"time"
)

// RateLimit is what a server said about one of its rate-limit policies.
// The zero value means "nothing known".
type RateLimit struct {
	// Limit is the number of requests allowed per window; 0 if unknown.
	Limit int
	// Remaining is the number of requests left in the current window.
	Remaining int
	// Reset is when the window resets (Remaining goes back up), on the
	// caller's clock (server clock skew removed); zero if unknown.
	Reset time.Time
	// Window is the length of the window if the server named it; 0 if not.
	Window time.Duration
	// Policy is the IETF policy name ("default") when the server used the
	// structured RateLimit fields; empty otherwise.
	Policy string
}

// ParseRateLimit reads what h says about the server's rate limit, as of now
// (the caller's clock). ok is false when the headers say nothing usable.
// TODO(headers helper): implement.
func ParseRateLimit(h http.Header, now time.Time) (rl RateLimit, ok bool) {
	return RateLimit{}, false
}

// ParseRetryAfter reads a Retry-After value as of now. TODO(headers helper).
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	return 0, false
}
