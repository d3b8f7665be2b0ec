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
// server sends are read against its Date field and placed on the caller's
// clock. The Date field is parsed only when an absolute time needs it, so
// responses with relative resets never pay for it. Not safe for concurrent
// use: each parse makes its own.
type serverTime struct {
	now   time.Time
	skew  time.Duration // the caller's clock minus the server's
	dates []string      // Date field values, read on first use
	read  bool          // skew is known
}

// localTime is a serverTime for values with no Date to correct against.
func localTime(now time.Time) *serverTime {
	return &serverTime{now: now, read: true}
}

// readServerTime prepares to read f's Date field lazily (see local).
func readServerTime(f headerFields, now time.Time) *serverTime {
	return &serverTime{now: now, dates: f.get("Date")}
}

// local places the server's absolute time t on the caller's clock, in now's
// location. The skew is that of the first valid Date field when it is more
// than dateSkewTolerance away from now (and less than the longest Duration: a
// Date further off is garbage), and zero otherwise.
func (st *serverTime) local(t time.Time) time.Time {
	if !st.read {
		st.read = true
		for _, v := range firstLines(st.dates) {
			date, ok := parseHTTPDate(v)
			if !ok {
				continue
			}
			if skew := st.now.Sub(date); skew.Abs() > dateSkewTolerance && date.Add(skew).Equal(st.now) {
				st.skew = skew
			}
			break
		}
	}
	return t.Add(st.skew).In(st.now.Location())
}

// waitUntil returns the wait from now until t: 0 when t is not after now,
// and ok false when the wait does not fit in a Duration.
func waitUntil(t, now time.Time) (time.Duration, bool) {
	if !t.After(now) {
		return 0, true
	}
	if d := t.Sub(now); now.Add(d).Equal(t) {
		return d, true
	}
	return 0, false
}

// parseHTTPDate reads an HTTP-date (RFC 9110: IMF-fixdate, RFC 850 or
// asctime) after trimming spaces. The zone may be spelt UTC as well as GMT
// (servers do); no other zone is read, as its offset would depend on the
// machine's location.
func parseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if zoneless, ok := strings.CutSuffix(s, " UTC"); ok {
		s = zoneless + " GMT"
	}
	t, err := http.ParseTime(s)
	return t, err == nil
}

// Thresholds of the numeric reset rule (see ParseRateLimit).
const (
	unixMilliFrom  = 1e12 // 2001-09-09 in milliseconds; 31 700 years in seconds
	unixSecondFrom = 1e9  // 2001-09-09 in seconds; 31 years as a delta
	plausibleBelow = 1e16 // more integer digits fit no unit
)

// parseWhen reads a reset time and returns it on the caller's clock: a
// number under the numeric reset rule, a Go duration ("6m0s") from now, or an
// RFC 3339 time or HTTP-date on the server's clock. The result is what the
// server said, unclamped: it may lie in the past.
func parseWhen(s string, st *serverTime) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if n, ok := parseDecimal(s); ok {
		switch {
		case n.whole >= plausibleBelow:
			return time.Time{}, false
		case n.whole >= unixMilliFrom:
			return st.local(n.unixMilli()), true
		case n.whole >= unixSecondFrom:
			return st.local(n.unix()), true
		}
		d, _ := n.duration() // below unixSecondFrom: always fits
		return st.now.Add(d), true
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return st.now.Add(d), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return st.local(t), true
	}
	if t, ok := parseHTTPDate(s); ok {
		return st.local(t), true
	}
	return time.Time{}, false
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
	frac = (frac[:min(len(frac), 9)] + "000000000")[:9]
	n.billionths, _ = strconv.ParseInt(frac, 10, 64)
	return n, true
}

// duration reads n as seconds; ok is false when that does not fit in a
// Duration.
func (n decimal) duration() (time.Duration, bool) {
	if n.whole > (math.MaxInt64-n.billionths)/int64(time.Second) {
		return 0, false
	}
	return time.Duration(n.whole)*time.Second + time.Duration(n.billionths), true
}

// unix reads n as unix seconds. n.whole must be below plausibleBelow.
func (n decimal) unix() time.Time {
	return time.Unix(n.whole, n.billionths)
}

// unixMilli reads n as unix milliseconds. n.whole must be below plausibleBelow.
func (n decimal) unixMilli() time.Time {
	return time.Unix(n.whole/1000, (n.whole%1000)*1e6+n.billionths/1e3)
}

// ParseRetryAfter reads the Retry-After field of h as of now (the caller's
// clock) and returns how long the server asks to wait. It accepts the forms
// RFC 9110 requires recipients to accept:
//
//	Retry-After: 120                            wait 120 s
//	Retry-After: Wed, 21 Oct 2015 07:28:00 GMT  IMF-fixdate: wait until then
//	Retry-After: Wednesday, 21-Oct-15 07:28:00 GMT  obsolete RFC 850 date
//	Retry-After: Wed Oct 21 07:28:00 2015       ANSI C asctime() date
//
// and, leniently, fractional seconds ("1.5"). An HTTP-date is read against
// the server's clock when h has a Date field more than 2 s away from now
// (see ParseRateLimit): the wait is date − Date.
//
// The wait is what the server said, not capped (pacer caps it with
// WithMaxWait where it waits): a date 14 days ahead gives 14 days. A date in
// the past gives (0, true). A wait that does not fit in a time.Duration
// (about 292 years), negative numbers, empty strings and garbage are not
// valid. When the field is repeated, the longest valid wait among its first
// 64 lines is returned; ok is false when no value is valid. ParseRetryAfter
// is a pure function, safe for concurrent use, in time linear in the size of
// h.
func ParseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	f := readHeaderFields(h)
	st := readServerTime(f, now)
	for _, v := range firstLines(f.get("Retry-After")) {
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
		return n.duration()
	}
	if t, ok := parseHTTPDate(value); ok {
		return waitUntil(st.local(t), st.now)
	}
	return 0, false
}
