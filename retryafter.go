package pacer

import (
	"net/http"
	"strings"
	"time"
)

// MaxRetryAfter caps every wait pacer reads from a server: Retry-After
// values, body hints, and how far ahead a RateLimit.Reset may lie. Larger
// values (a Retry-After of 30 days, an overflowing number of seconds) are
// clamped to it, so a broken or hostile server can never make pacer compute
// an overflowing time. Waits the caller allows are usually far shorter; the
// cap only keeps arithmetic sane.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After field value as of now (the caller's
// clock) and returns how long to wait, in [0, MaxRetryAfter]. It accepts the
// forms RFC 9110 requires recipients to accept:
//
//	Retry-After: 120                            wait 120 s
//	Retry-After: Wed, 21 Oct 2015 07:28:00 GMT  IMF-fixdate: wait until then
//	Retry-After: Wednesday, 21-Oct-15 07:28:00 GMT  obsolete RFC 850 date
//	Retry-After: Wed Oct 21 07:28:00 2015       ANSI C asctime() date
//
// and, leniently, fractional seconds ("1.5"). A date in the past gives
// (0, true); more seconds than MaxRetryAfter (however many digits) give
// MaxRetryAfter. Negative numbers, empty strings and garbage give (0, false).
// Dates are read against now; RetryAfterFromHeader also corrects for the
// server's clock skew.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	return retryAfter(value, localTime(now))
}

// RetryAfterFromHeader reads the Retry-After field of h like ParseRetryAfter,
// but reads an HTTP-date against the server's clock when h has a Date header
// more than 2 s away from now (see ParseRateLimit): the wait is date − Date.
// When the field is repeated, the longest valid wait is returned.
func RetryAfterFromHeader(h http.Header, now time.Time) (d time.Duration, ok bool) {
	f := readHeaderFields(h)
	st := readServerTime(f, now)
	for _, v := range f.get("Retry-After") {
		if w, valid := retryAfter(v, st); valid && (!ok || w > d) {
			d, ok = w, true
		}
	}
	return d, ok
}

// retryAfter reads one Retry-After value: delta-seconds or an HTTP-date.
func retryAfter(value string, st *serverTime) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if n, ok := parseDecimal(value); ok {
		return clampWait(n.seconds()), true
	}
	if t, err := http.ParseTime(value); err == nil {
		return st.until(t), true
	}
	return 0, false
}
