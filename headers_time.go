package pacer

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// dateSkewTolerance is how far a response's Date header may be from the
// caller's clock and still be read as "no skew". Date has 1 s resolution, so
// a smaller difference says nothing about the server's clock.
const dateSkewTolerance = 2 * time.Second

// serverTime pairs the caller's clock with the server's: absolute times the
// server sends are read against server, and the waits they give are placed
// on now. The Date field is parsed only when an absolute time needs it, so
// responses with relative resets never pay for it. Not safe for concurrent
// use: each parse makes its own.
type serverTime struct {
	now, server time.Time
	dates       []string // Date field values, read on first use
	read        bool     // server is known
}

// localTime is a serverTime for values with no Date to correct against.
func localTime(now time.Time) *serverTime {
	return &serverTime{now: now, server: now, read: true}
}

// readServerTime prepares to read f's Date field lazily (see serverOf).
func readServerTime(f headerFields, now time.Time) *serverTime {
	return &serverTime{now: now, dates: f.get("Date")}
}

// serverNow is the server's clock: the first valid Date field when it is
// more than dateSkewTolerance away from now, and now otherwise.
func (st *serverTime) serverNow() time.Time {
	if st.read {
		return st.server
	}
	st.read, st.server = true, st.now
	for _, v := range st.dates {
		date, err := http.ParseTime(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		if skew := st.now.Sub(date); skew > dateSkewTolerance || skew < -dateSkewTolerance {
			st.server = date
		}
		break
	}
	return st.server
}

// until returns the wait until the server's absolute time t, clamped to
// [0, MaxRetryAfter].
func (st *serverTime) until(t time.Time) time.Duration {
	return clampWait(t.Sub(st.serverNow()))
}

// clampWait clamps d to [0, MaxRetryAfter].
func clampWait(d time.Duration) time.Duration {
	return min(max(d, 0), MaxRetryAfter)
}

// Thresholds of the numeric reset rule (see ParseRateLimit).
const (
	unixMilliFrom  = 1e12 // 2001-09-09 in milliseconds; 31 700 years in seconds
	unixSecondFrom = 1e9  // 2001-09-09 in seconds; 31 years as a delta
	plausibleBelow = 1e16 // more integer digits fit no unit
)

// parseWhen reads a reset time and returns the wait until it, clamped to
// [0, MaxRetryAfter]: a number under the numeric reset rule, a Go duration
// ("6m0s") from now, or an RFC 3339 time on the server's clock.
func parseWhen(s string, st *serverTime) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n, ok := parseDecimal(s); ok {
		switch {
		case n.whole >= plausibleBelow:
			return 0, false
		case n.whole >= unixMilliFrom:
			return st.until(n.unixMilli()), true
		case n.whole >= unixSecondFrom:
			return st.until(n.unix()), true
		}
		return clampWait(n.seconds()), true
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return clampWait(d), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return st.until(t), true
	}
	return 0, false
}

// decimal is a non-negative decimal number read exactly: whole units plus a
// fraction in billionths. A whole part too long for int64 saturates at
// math.MaxInt64.
type decimal struct {
	whole, billionths int64
}

// parseDecimal reads digits with an optional fraction ("60", "1.5"); no
// sign, exponent, or other syntax.
func parseDecimal(s string) (decimal, bool) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(intPart) || hasDot && !allDigits(frac) {
		return decimal{}, false
	}
	n := decimal{whole: math.MaxInt64}
	if w, err := strconv.ParseInt(intPart, 10, 64); err == nil {
		n.whole = w
	}
	frac = (frac + "000000000")[:9]
	n.billionths, _ = strconv.ParseInt(frac, 10, 64)
	return n, true
}

// seconds reads n as seconds, saturating at the largest Duration.
func (n decimal) seconds() time.Duration {
	if n.whole > math.MaxInt64/int64(time.Second)-1 {
		return math.MaxInt64
	}
	return time.Duration(n.whole)*time.Second + time.Duration(n.billionths)
}

// unix reads n as unix seconds. n.whole must be below plausibleBelow.
func (n decimal) unix() time.Time {
	return time.Unix(n.whole, n.billionths)
}

// unixMilli reads n as unix milliseconds. n.whole must be below plausibleBelow.
func (n decimal) unixMilli() time.Time {
	return time.Unix(n.whole/1000, (n.whole%1000)*1e6+n.billionths/1e3)
}

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
