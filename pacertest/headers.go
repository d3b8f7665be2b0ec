package pacertest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names a Server writes.
const (
	headerLimit      = "X-RateLimit-Limit"
	headerRemaining  = "X-RateLimit-Remaining"
	headerReset      = "X-RateLimit-Reset"
	headerIETF       = "RateLimit"
	headerIETFPolicy = "RateLimit-Policy"
	headerRetryAfter = "Retry-After"
)

// setRateLimitHeaders writes the headers of style for the usages of one
// request at now. Reset values are rounded up, never earlier than the moment
// a slot really frees.
func setRateLimitHeaders(h http.Header, style HeaderStyle, us []usage, now time.Time) {
	if len(us) == 0 {
		return
	}
	switch style {
	case XRateLimitUnix, XRateLimitUnixMs, XRateLimitRelative:
		u := mostRestrictive(us)
		h.Set(headerLimit, strconv.Itoa(u.Requests))
		h.Set(headerRemaining, strconv.Itoa(u.remaining))
		h.Set(headerReset, strconv.FormatInt(resetValue(style, u.reset, now), 10))
	case IETF:
		var rl, pol []string
		for _, u := range us {
			name := sfString(u.Name)
			rl = append(rl, name+";r="+strconv.Itoa(u.remaining)+";t="+
				strconv.FormatInt(ceilSeconds(u.reset.Sub(now)), 10))
			pol = append(pol, name+";q="+strconv.Itoa(u.Requests)+";w="+
				strconv.FormatInt(ceilSeconds(u.Window), 10))
		}
		h.Set(headerIETF, strings.Join(rl, ", "))
		h.Set(headerIETFPolicy, strings.Join(pol, ", "))
	}
}

// mostRestrictive returns the usage with the fewest remaining requests,
// ties broken by the latest reset.
func mostRestrictive(us []usage) usage {
	best := us[0]
	for _, u := range us[1:] {
		if u.remaining < best.remaining ||
			(u.remaining == best.remaining && u.reset.After(best.reset)) {
			best = u
		}
	}
	return best
}

// resetValue renders reset for an X-RateLimit style, rounded up.
func resetValue(style HeaderStyle, reset, now time.Time) int64 {
	switch style {
	case XRateLimitUnixMs:
		return ceilUnix(reset, time.Millisecond)
	case XRateLimitRelative:
		return ceilSeconds(reset.Sub(now))
	}
	return ceilUnix(reset, time.Second)
}

// setRetryAfter writes the Retry-After header of style for a retry at
// retryAt, as seen at now.
func setRetryAfter(h http.Header, style RetryAfterStyle, retryAt, now time.Time) {
	switch style {
	case RetryAfterSeconds:
		h.Set(headerRetryAfter, strconv.FormatInt(ceilSeconds(retryAt.Sub(now)), 10))
	case RetryAfterHTTPDate:
		h.Set(headerRetryAfter, httpDate(time.Unix(ceilUnix(retryAt, time.Second), 0)))
	}
}

// httpDate formats t as an HTTP-date (IMF-fixdate), truncated to seconds.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// ceilUnix returns t in units since the Unix epoch, rounded up.
func ceilUnix(t time.Time, unit time.Duration) int64 {
	ns := t.UnixNano()
	q := ns / int64(unit)
	if ns%int64(unit) > 0 {
		q++
	}
	return q
}

// ceilSeconds returns d in whole seconds, rounded up; 0 if d <= 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// sfString renders s as a structured-field string (RFC 8941).
func sfString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
