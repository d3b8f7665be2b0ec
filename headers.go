package pacer

import (
	"cmp"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
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
// (the caller's clock), and returns the most restrictive policy: the one with
// the fewest requests remaining, then the latest reset. ok is false when the
// headers say nothing usable; a policy is usable when it has a valid
// Remaining count. ParseRateLimit is a pure function, safe for concurrent use.
//
// Header names are matched case-insensitively, also under map keys that
// http.Header did not canonicalise. The formats read, and what they give:
//
//	X-RateLimit-Limit: 100            Limit 100      (also X-Rate-Limit-*)
//	X-RateLimit-Remaining: 5          Remaining 5
//	X-RateLimit-Reset: 1704067260     Reset at that unix second
//	X-RateLimit-Reset: 1704067260000  Reset at that unix millisecond
//	X-RateLimit-Reset: 60             Reset 60 s from now
//	X-RateLimit-Reset: 1.5            Reset 1.5 s from now (any number may have a fraction)
//	X-RateLimit-Reset: 6m0s           Reset 6 min from now (time.ParseDuration syntax)
//	X-RateLimit-Reset: 2025-10-29T16:30:00.000Z   Reset at that RFC 3339 time
//	X-RateLimit-Reset-After: 60       Reset 60 s from now; preferred over -Reset
//	RateLimit-Limit / -Remaining / -Reset          IETF draft fields, read as above
//	RateLimit: "default";r=50;t=30    Policy "default", Remaining 50, Reset 30 s from now
//	RateLimit-Policy: "default";q=100;w=60         Limit 100, Window 60 s of the
//	                                  RateLimit member of the same name
//	RateLimit: limit=100, remaining=50, reset=30   older IETF draft form
//
// A numeric reset is told apart by size: 1e12 or more is unix milliseconds;
// 1e9 or more is unix seconds; anything smaller is seconds from now (a
// relative reset of 31 years or more is not plausible). Numbers of more than
// 16 integer digits fit no unit and are ignored.
//
// Absolute resets (unix seconds or milliseconds, RFC 3339) are read against
// the server's clock when the response has a Date header more than 2 s away
// from now (Date has 1 s resolution, so closer values are treated as no skew):
// Reset = now + (reset − Date). Reset is the server's instant, unclamped: a
// reset in the past stays in the past (the window has already reset), and one
// in the year 2100 stays there; pacer caps how long it waits for a reset where
// it waits (see MaxRetryAfter). A relative reset too long for a
// time.Duration is not valid.
//
// Malformed values are ignored, never trusted: negative numbers, overflow,
// NaN, Inf, empty strings and garbage. When a field is repeated (or its value
// is a comma-separated list), the most conservative valid value is taken: the
// smallest Limit and Remaining, the latest Reset. A Remaining above a known
// Limit is clamped to Limit. Limit 0 is read as unknown.
func ParseRateLimit(h http.Header, now time.Time) (rl RateLimit, ok bool) {
	eachLimit(h, now, func(p RateLimit) {
		if !ok || moreRestrictive(p, rl) < 0 {
			rl, ok = p, true
		}
	})
	return rl, ok
}

// parseRateLimits is like ParseRateLimit but returns every usable policy h
// describes, most restrictive first: each IETF RateLimit policy (repeated
// members of one name merged conservatively), and one policy for each of the
// X-RateLimit-*, X-Rate-Limit-* and RateLimit-* families present. It returns
// nil when there is none.
func parseRateLimits(h http.Header, now time.Time) []RateLimit {
	var out []RateLimit
	eachLimit(h, now, func(p RateLimit) { out = append(out, p) })
	slices.SortStableFunc(out, moreRestrictive)
	return out
}

// eachLimit calls yield with every usable policy h describes, in the order
// the IETF structured fields, then each legacy family.
func eachLimit(h http.Header, now time.Time, yield func(RateLimit)) {
	f := readHeaderFields(h)
	st := readServerTime(f, now)
	for _, rl := range structuredLimits(f, st) {
		yield(rl)
	}
	for _, fam := range legacyFamilies {
		remaining := f.get(fam.remaining)
		if len(remaining) == 0 {
			continue // no Remaining: nothing usable in this family
		}
		resets := f.get(fam.resetAfter)
		if _, valid := latestReset(resets, st); !valid {
			resets = f.get(fam.reset)
		}
		if rl, ok := foldLimit(f.get(fam.limit), remaining, resets, st); ok {
			yield(rl)
		}
	}
}

// legacyFamily names the fields of a header family with one field per
// quantity. A valid Reset-After (relative) is preferred over Reset.
type legacyFamily struct {
	limit, remaining, reset, resetAfter string
}

var legacyFamilies = []legacyFamily{
	newLegacyFamily("X-RateLimit-"),
	newLegacyFamily("X-Rate-Limit-"),
	newLegacyFamily("RateLimit-"),
}

func newLegacyFamily(prefix string) legacyFamily {
	key := func(name string) string { return textproto.CanonicalMIMEHeaderKey(prefix + name) }
	return legacyFamily{key("Limit"), key("Remaining"), key("Reset"), key("Reset-After")}
}

// foldLimit builds one policy from the raw values of its three quantities,
// keeping the most conservative valid value of each. ok is false when no
// Remaining value is valid.
func foldLimit(limits, remainings, resets []string, st *serverTime) (RateLimit, bool) {
	remaining, ok := minCount(remainings)
	if !ok {
		return RateLimit{}, false
	}
	limit, _ := minCount(limits)
	rl := RateLimit{Limit: limit, Remaining: remaining}
	rl.Reset, _ = latestReset(resets, st)
	return clampRemaining(rl), true
}

// minCount returns the smallest valid count among the comma-separated items
// of values.
func minCount(values []string) (n int, ok bool) {
	for item := range listItems(values) {
		if c, valid := parseCount(item); valid && (!ok || c < n) {
			n, ok = c, true
		}
	}
	return n, ok
}

// latestReset returns the latest valid reset among the comma-separated items
// of values, on the caller's clock.
func latestReset(values []string, st *serverTime) (t time.Time, ok bool) {
	for item := range listItems(values) {
		if r, valid := parseWhen(item, st); valid && (!ok || r.After(t)) {
			t, ok = r, true
		}
	}
	return t, ok
}

// listItems yields the trimmed, non-empty comma-separated items of values,
// the first maxItems of them at most.
func listItems(values []string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		n := 0
		for _, v := range values {
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item == "" {
					continue
				}
				if n++; n > maxItems || !yield(item) {
					return
				}
			}
		}
	}
}

// firstItems returns the first maxItems lines of a field.
func firstItems(lines []string) []string {
	return lines[:min(len(lines), maxItems)]
}

// parseCount reads a non-negative decimal integer that fits in an int.
func parseCount(s string) (int, bool) {
	if !allDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clampRemaining lowers a Remaining above a known Limit to the Limit.
func clampRemaining(rl RateLimit) RateLimit {
	if rl.Limit > 0 && rl.Remaining > rl.Limit {
		rl.Remaining = rl.Limit
	}
	return rl
}

// moreRestrictive orders policies by fewest remaining, then latest reset.
func moreRestrictive(a, b RateLimit) int {
	if c := cmp.Compare(a.Remaining, b.Remaining); c != 0 {
		return c
	}
	return b.Reset.Compare(a.Reset)
}

// headerFields reads header fields case-insensitively: under their canonical
// keys, as http.Header stores them, and under any other spelling a map built
// by hand may hold ("x-ratelimit-reset"). Build it once per header with
// readHeaderFields; it then costs one map lookup per field.
type headerFields struct {
	h     http.Header
	other http.Header // values under non-canonical keys, canonically keyed; nil if none
}

func readHeaderFields(h http.Header) headerFields {
	f := headerFields{h: h}
	for k, vs := range h {
		if canonicalCase(k) {
			continue // the usual case: keys read off the wire are canonical
		}
		if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
			if f.other == nil {
				f.other = http.Header{}
			}
			f.other[c] = append(f.other[c], vs...)
		}
	}
	return f
}

// get returns the values of the field name, which must be in canonical form
// (pacer looks up constant, canonical names). The result never writes into
// the header's storage when it extends it.
func (f headerFields) get(name string) []string {
	values := f.h[name]
	if more := f.other[name]; len(more) > 0 {
		values = append(slices.Clip(values), more...)
	}
	return values
}

// canonicalCase reports whether key is cased as textproto canonicalises it:
// upper case at the start and after each hyphen, lower case elsewhere. It is
// a cheaper test than canonicalising, for the keys that need nothing.
func canonicalCase(key string) bool {
	upper := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}
