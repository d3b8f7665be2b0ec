package pacer

import (
	"cmp"
	"math"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// RateLimit is what a server said about one of its rate limits. The zero
// value means "nothing known".
type RateLimit struct {
	// Limit is the number of requests allowed per window (tokens, in
	// Tokens); 0 if unknown.
	Limit int
	// Remaining is the number of requests (tokens, in Tokens) left in the
	// current window.
	Remaining int
	// Reset is when the window resets (Remaining goes back up), on the
	// caller's clock (server clock skew removed), as the server said it:
	// it may lie in the past or years ahead. Zero if unknown.
	Reset time.Time
	// Window is the length of the window if the server named it; 0 if not.
	Window time.Duration
	// Pool is the server's name for the pool this limit belongs to: the
	// IETF policy name ("default"), GitHub's X-RateLimit-Resource ("core",
	// "search", "graphql"), Discord's X-RateLimit-Bucket. Limits of different
	// pools are counted apart by the server. Empty when the server named
	// none; names longer than 256 bytes are not read.
	Pool string
	// Tokens is the server's limit on tokens rather than requests (OpenAI's
	// x-ratelimit-*-tokens, Anthropic's anthropic-ratelimit-*tokens-*):
	// Limit and Remaining count tokens, Tokens.Tokens is nil. It is nil when
	// the server sent none. pacer paces by requests: Tokens is for the
	// caller to read. Treat it as read-only: copies of a RateLimit share it.
	Tokens *RateLimit
}

// ParseRateLimit reads what h says about the server's rate limit on
// requests, as of now (the caller's clock), and returns the most restrictive
// policy: the one with the fewest requests remaining, then the latest reset.
// A limit on tokens never takes part in that choice; it is reported in
// Tokens. ok is false when the headers say nothing usable about requests; a
// policy is usable when it has a valid Remaining count. ParseRateLimit is a
// pure function, safe for concurrent use.
//
// Header names are matched case-insensitively, also under map keys that
// http.Header did not canonicalise. The formats read, and what they give:
//
//	X-RateLimit-Limit: 100            Limit 100      (also X-Rate-Limit-*)
//	X-RateLimit-Limit: 20.00          Limit 20 (a count's fraction is dropped)
//	X-RateLimit-Remaining: 5          Remaining 5
//	X-RateLimit-Remaining: 599.0      Remaining 599  (Reddit)
//	X-RateLimit-Used: 1               Limit Used+Remaining when no -Limit (Reddit)
//	X-RateLimit-Reset: 1704067260     Reset at that unix second
//	X-RateLimit-Reset: 1704067260000  Reset at that unix millisecond
//	X-RateLimit-Reset: 60             Reset 60 s from now
//	X-RateLimit-Reset: 1.5            Reset 1.5 s from now (any number may have a fraction)
//	X-RateLimit-Reset: 6m0s           Reset 6 min from now (time.ParseDuration syntax)
//	X-RateLimit-Reset: 2025-10-29T16:30:00.000Z   Reset at that RFC 3339 time
//	X-RateLimit-Reset: Mon, 01 Jan 2024 00:01:00 GMT   Reset at that HTTP-date (GMT or UTC)
//	X-RateLimit-Reset-After: 60       Reset 60 s from now; preferred over -Reset
//	X-RateLimit-Window: 60            Window 60 s (also -Duration; seconds or "1m")
//	X-RateLimit-Resource: core        Pool "core" (GitHub; also -Bucket, Discord)
//	RateLimit-Limit / -Remaining / -Reset          IETF draft 6 fields, read as above
//	RateLimit-ResetTime: Mon, 01 Jan 2024 00:01:00 GMT   Reset, when no -Reset (GitLab)
//	RateLimit-Policy: 20;w=1          Window 1 s (and Limit 20 if none) of the draft 6
//	                                  fields and of the draft 7 RateLimit dictionary
//	RateLimit: "default";r=50;t=30    Pool "default", Remaining 50, Reset 30 s from now
//	RateLimit-Policy: "default";q=100;w=60         Limit 100, Window 60 s of the
//	                                  RateLimit member of the same name
//	RateLimit: limit=100, remaining=50, reset=30   older IETF draft form
//	x-ratelimit-limit-requests: 60    OpenAI: Limit, and -remaining-, -reset-requests
//	anthropic-ratelimit-requests-limit: 50         Anthropic: Limit, and -remaining, -reset
//	X-Shopify-Shop-Api-Call-Limit: 32/40           Limit 40, Remaining 8 (a leaky
//	                                  bucket: no Reset or Window)
//	x-ratelimit-limit-tokens: 150000  Tokens.Limit (OpenAI; also -remaining-, -reset-tokens)
//	anthropic-ratelimit-tokens-limit: 80000        Tokens.Limit (Anthropic; also
//	                                  -remaining, -reset, and input-tokens, output-tokens)
//
// Tokens is the most restrictive of the token limits the server sent that
// cover all tokens (OpenAI's, anthropic-ratelimit-tokens-*), and only when
// there is none, of Anthropic's input-tokens and output-tokens limits.
//
// A numeric reset is told apart by size: 1e12 or more is unix milliseconds;
// 1e9 or more is unix seconds; anything smaller is seconds from now (a
// relative reset of 31 years or more is not plausible). Numbers of more than
// 16 integer digits fit no unit and are ignored.
//
// Absolute resets (unix seconds or milliseconds, RFC 3339, HTTP-dates) are
// read against the server's clock when the response has a Date header more
// than 2 s away from now (Date has 1 s resolution, so closer values are
// treated as no skew): Reset = now + (reset − Date). Reset is the server's
// instant, unclamped: a reset in the past stays in the past (the window has
// already reset), and one in the year 2100 stays there; pacer caps how long
// it waits for a reset where it waits (see WithMaxWait). A relative reset
// too long for a time.Duration is not valid.
//
// Malformed values are ignored, never trusted: negative numbers, overflow,
// NaN, Inf, exponents, empty strings and garbage. When a field is repeated (or
// its value is a comma-separated list), the most conservative valid value is
// taken: the smallest Limit, Remaining and Window, the latest Reset. A
// Remaining above a known Limit is clamped to Limit. Limit 0 is read as
// unknown.
//
// Parsing takes time linear in the size of h. Of each field it reads the
// first 64 lines and, of each line, the first 64 comma-separated items; of
// the structured RateLimit and RateLimit-Policy fields, the first 64 members
// across all lines. The rest is ignored.
func ParseRateLimit(h http.Header, now time.Time) (rl RateLimit, ok bool) {
	var buf [4]RateLimit // a response rarely names more: no allocation
	requests, tokens := readLimits(h, now, buf[:0])
	for _, p := range requests {
		if !ok || moreRestrictive(p, rl) < 0 {
			rl, ok = p, true
		}
	}
	if ok {
		rl.Tokens = tokens
	}
	return rl, ok
}

// parseRateLimits is like ParseRateLimit but returns every usable policy h
// describes, most restrictive first: each IETF RateLimit policy (repeated
// members of one name merged conservatively), and one policy for each
// header family present. Each carries the same Tokens. It returns nil when
// there is none.
func parseRateLimits(h http.Header, now time.Time) []RateLimit {
	requests, tokens := readLimits(h, now, nil)
	for i := range requests {
		requests[i].Tokens = tokens
	}
	slices.SortStableFunc(requests, moreRestrictive)
	return requests
}

// readLimits reads every usable limit on requests h describes, in the order
// the IETF structured fields, then each family, and the token limit to
// report alongside them (see ParseRateLimit), nil if none.
func readLimits(h http.Header, now time.Time, buf []RateLimit) (requests []RateLimit, tokens *RateLimit) {
	f := readHeaderFields(h)
	st := readServerTime(f, now)
	named, draft := policyIndex(sfMembers(f.get("Ratelimit-Policy")))
	requests = append(buf, structuredLimits(f, st, named, draft)...)
	rank := 0 // of tokens
	for _, fam := range families {
		rl, ok := fam.read(f, st, draft)
		switch {
		case !ok:
		case fam.tokens == 0:
			requests = append(requests, rl)
		case tokens == nil || fam.tokens < rank || fam.tokens == rank && moreRestrictive(rl, *tokens) < 0:
			kept := rl // a copy: taking rl's address would move it to the heap on every pass
			tokens, rank = &kept, fam.tokens
		}
	}
	if rl, ok := shopifyLimit(f.get("X-Shopify-Shop-Api-Call-Limit")); ok {
		requests = append(requests, rl)
	}
	return requests, tokens
}

// family names the fields of a header family with one field per quantity.
// Of resets, the first field with a valid value is read; of windows and
// pools likewise.
type family struct {
	limit, remaining, used string
	resets, windows, pools []string
	draftPolicy            bool // RateLimit-Policy: 20;w=1 gives Window, and Limit when none
	tokens                 int  // 0: requests; 1: all tokens; 2: tokens one way (input or output)
}

// Ranks of the token families, in order of preference (see ParseRateLimit).
const (
	allTokens  = 1
	someTokens = 2
)

var families = []family{
	prefixFamily("X-RateLimit-", false),
	prefixFamily("X-Rate-Limit-", false),
	prefixFamily("RateLimit-", true),
	openAIFamily("requests", 0),
	anthropicFamily("requests", 0),
	openAIFamily("tokens", allTokens),
	anthropicFamily("tokens", allTokens),
	anthropicFamily("input-tokens", someTokens),
	anthropicFamily("output-tokens", someTokens),
}

// canonical is the canonical form of a header name.
func canonical(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }

// prefixFamily is the family of fields named prefix+quantity.
func prefixFamily(prefix string, draftPolicy bool) family {
	key := func(name string) string { return canonical(prefix + name) }
	return family{
		limit: key("Limit"), remaining: key("Remaining"), used: key("Used"),
		resets:      []string{key("Reset-After"), key("Reset"), key("ResetTime")},
		windows:     []string{key("Window"), key("Duration")},
		pools:       []string{key("Resource"), key("Bucket")},
		draftPolicy: draftPolicy,
	}
}

// openAIFamily is x-ratelimit-{limit,remaining,reset}-<dimension>.
func openAIFamily(dimension string, tokens int) family {
	key := func(name string) string { return canonical("X-Ratelimit-" + name + "-" + dimension) }
	return family{limit: key("Limit"), remaining: key("Remaining"), resets: []string{key("Reset")}, tokens: tokens}
}

// anthropicFamily is anthropic-ratelimit-<dimension>-{limit,remaining,reset}.
func anthropicFamily(dimension string, tokens int) family {
	key := func(name string) string { return canonical("Anthropic-Ratelimit-" + dimension + "-" + name) }
	return family{limit: key("Limit"), remaining: key("Remaining"), resets: []string{key("Reset")}, tokens: tokens}
}

// read builds the family's limit from its fields, keeping the most
// conservative valid value of each quantity. ok is false when no Remaining
// value is valid.
func (fam family) read(f headerFields, st *serverTime, draft policyTerms) (RateLimit, bool) {
	remaining, ok := minCount(f.get(fam.remaining))
	if !ok {
		return RateLimit{}, false
	}
	rl := RateLimit{Remaining: remaining}
	rl.Limit, _ = minCount(f.get(fam.limit))
	if used, ok := minCount(f.get(fam.used)); ok && rl.Limit == 0 && used <= math.MaxInt-remaining {
		rl.Limit = used + remaining
	}
	for _, name := range fam.resets {
		if t, ok := latestReset(f.get(name), st); ok {
			rl.Reset = t
			break
		}
	}
	for _, name := range fam.windows {
		if w, ok := shortestWindow(f.get(name)); ok {
			rl.Window = w
			break
		}
	}
	for _, name := range fam.pools {
		if rl.Pool = poolName(f.get(name)); rl.Pool != "" {
			break
		}
	}
	if fam.draftPolicy {
		rl = draft.fill(rl)
	}
	return clampRemaining(rl), true
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

// shopifyLimit reads Shopify's "used/limit" call limit of a leaky bucket
// ("32/40": Limit 40, Remaining 8). The bucket leaks continuously, so there
// is no Reset or Window. The item with the fewest remaining is kept; ok is
// false when no item is valid.
func shopifyLimit(values []string) (rl RateLimit, ok bool) {
	for item := range listItems(values) {
		u, l, _ := strings.Cut(item, "/")
		used, uok := parseCount(strings.TrimSpace(u))
		limit, lok := parseCount(strings.TrimSpace(l))
		if !uok || !lok || limit == 0 {
			continue
		}
		if p := (RateLimit{Limit: limit, Remaining: max(limit-used, 0)}); !ok || p.Remaining < rl.Remaining {
			rl, ok = p, true
		}
	}
	return rl, ok
}

// maxPoolName is the longest pool name read, in bytes.
const maxPoolName = 256

// poolName returns the first pool name among values: trimmed, non-empty and
// at most maxPoolName bytes; "" if there is none.
func poolName(values []string) string {
	for _, v := range firstLines(values) {
		if name := strings.TrimSpace(v); name != "" && len(name) <= maxPoolName {
			return name
		}
	}
	return ""
}

// minCount returns the smallest valid count among the comma-separated items
// of values.
func minCount(values []string) (int, bool) { return smallest(values, parseCount) }

// shortestWindow returns the shortest valid window among the comma-separated
// items of values.
func shortestWindow(values []string) (time.Duration, bool) { return smallest(values, parseWindow) }

// smallest returns the smallest of the comma-separated items of values that
// parse reads as valid.
func smallest[T cmp.Ordered](values []string, parse func(string) (T, bool)) (least T, ok bool) {
	for item := range listItems(values) {
		if v, valid := parse(item); valid && (!ok || v < least) {
			least, ok = v, true
		}
	}
	return least, ok
}

// latestReset returns the latest valid reset among values, on the caller's
// clock. A line is read whole first (an HTTP-date has a comma), else as a
// comma-separated list.
func latestReset(values []string, st *serverTime) (t time.Time, ok bool) {
	keep := func(r time.Time) {
		if !ok || r.After(t) {
			t, ok = r, true
		}
	}
	for _, line := range firstLines(values) {
		if r, valid := parseWhen(line, st); valid {
			keep(r)
			continue
		}
		for item := range listItems([]string{line}) {
			if r, valid := parseWhen(item, st); valid {
				keep(r)
			}
		}
	}
	return t, ok
}

// listItems yields the trimmed, non-empty comma-separated items of values:
// of the first maxItems lines, the first maxItems items each.
func listItems(values []string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range firstLines(values) {
			n := 0
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item == "" {
					continue
				}
				if n++; n > maxItems {
					break
				}
				if !yield(item) {
					return
				}
			}
		}
	}
}

// firstLines returns the first maxItems lines of a field.
func firstLines(lines []string) []string {
	return lines[:min(len(lines), maxItems)]
}

// parseCount reads a non-negative decimal number whose whole part fits in
// an int, and drops its fraction ("599.0" and "20.00" are counts too; "2.5"
// is 2, the conservative reading).
func parseCount(s string) (int, bool) {
	n, ok := parseDecimal(s)
	if !ok || n.whole == math.MaxInt64 || n.whole > math.MaxInt { // MaxInt64: saturated
		return 0, false
	}
	return int(n.whole), true
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
