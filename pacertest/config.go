package pacertest

import (
	"net/http"
	"time"
)

// Config describes the API a Server pretends to be. The zero value is an
// unlimited items API that sends no rate-limit headers.
//
// Config is read by Start; set it between NewUnstartedServer and Start and do
// not change it afterwards (use SetOutage to flip an outage at runtime).
type Config struct {
	// Limits apply to every request. All of them must hold: a request is
	// accepted only if every limit has room, and then counts against all.
	Limits []Limit

	// Routes add per-endpoint limits. A request uses the Limits of the first
	// route that matches it, in addition to the global Limits.
	Routes []Route

	// DefaultRouteLimits apply to requests that match no route. They form ONE
	// pool per scope key shared by all unmatched endpoints (not one pool per
	// endpoint), like "default for API-key routes: 60 requests / 60 s per API
	// key" in campaigns-api.txt. Nil means unmatched requests have no
	// per-endpoint limit.
	DefaultRouteLimits []Limit

	// Orgs maps API keys to organisations for limits scoped ByOrg. A key not
	// in the map is its own organisation.
	Orgs map[string]string

	// Headers selects the rate-limit response headers. Zero is NoHeaders.
	Headers HeaderStyle

	// HeadersOn429Only sends the rate-limit headers on 429 responses only.
	HeadersOn429Only bool

	// RetryAfter selects the Retry-After header of 429 and 503 responses.
	// Zero is NoRetryAfter.
	RetryAfter RetryAfterStyle

	// Body429 selects the body of 429 responses. Zero is BodyPlain.
	Body429 BodyShape

	// Clock is the server's clock: windows, Date, reset and Retry-After
	// values all use it. Nil means real time.
	Clock Clock

	// Faults injects failures; the zero value injects none.
	Faults Faults

	// BulkMax is the most items one bulk POST may create; a larger batch is
	// answered 413. Zero means no cap.
	BulkMax int

	// Handler replaces the items API behind the limiter. Nil means the items
	// API (see the package documentation). With a custom Handler, Evidence
	// reports no created items.
	Handler http.Handler
}

// Limit allows Requests requests per Window for each scope key.
// Requests and Window must both be positive; Start panics otherwise.
type Limit struct {
	// Requests is the number of requests allowed per window.
	Requests int
	// Window is the length of the window, in the server clock's time.
	Window time.Duration
	// Kind is how the window moves. Zero is Sliding.
	Kind WindowKind
	// Scope is what the limit is counted per. Zero is ByKey.
	Scope ScopeKind
	// Name identifies the limit in IETF headers and in Evidence. Empty means
	// a name derived from the other fields, such as "100-per-1m0s-key".
	Name string
}

// WindowKind says how a Limit's window moves.
type WindowKind int

const (
	// Sliding counts the requests accepted in the last Window: a slot frees
	// exactly Window after the request that took it.
	Sliding WindowKind = iota
	// Fixed counts requests in windows aligned to the server's start time:
	// window k covers [start+k·Window, start+(k+1)·Window), and all slots
	// free at once when it ends.
	Fixed
)

// ScopeKind says what a Limit is counted per.
type ScopeKind int

const (
	// ByKey counts per API key, read from the X-API-Key header or from
	// "Authorization: Bearer <token>". Requests without a key share the
	// pool of the empty key.
	ByKey ScopeKind = iota
	// ByOrg counts per organisation: the API key mapped through Config.Orgs.
	ByOrg
	// ByIP counts per client IP address.
	ByIP
	// Global counts all requests in one pool.
	Global
)

// Route gives the requests that match it their own limits.
type Route struct {
	// Method is the HTTP method to match; empty matches any method.
	Method string
	// Pattern is a path pattern: literal segments, ":name" segments that
	// match any one segment, and a final "*" that matches the rest of the
	// path (including nothing). Example: "/v1/campaigns/:id".
	Pattern string
	// Limits are the route's own limits; each is one pool per scope key
	// for this route.
	Limits []Limit
}

// HeaderStyle selects the rate-limit headers a Server sends.
type HeaderStyle int

const (
	// NoHeaders sends no rate-limit headers.
	NoHeaders HeaderStyle = iota
	// XRateLimitUnix sends X-RateLimit-Limit, X-RateLimit-Remaining and
	// X-RateLimit-Reset, the reset as unix seconds (rounded up).
	XRateLimitUnix
	// XRateLimitUnixMs is XRateLimitUnix with the reset in unix
	// milliseconds (rounded up).
	XRateLimitUnixMs
	// XRateLimitRelative is XRateLimitUnix with the reset in seconds from
	// now (rounded up).
	XRateLimitRelative
	// IETF sends the structured fields of the IETF draft, one item per
	// policy that applies to the request:
	//	RateLimit: "name";r=<remaining>;t=<seconds to reset>
	//	RateLimit-Policy: "name";q=<requests>;w=<window seconds>
	IETF
)

// RetryAfterStyle selects the Retry-After header of 429 and 503 responses.
type RetryAfterStyle int

const (
	// NoRetryAfter sends no Retry-After header.
	NoRetryAfter RetryAfterStyle = iota
	// RetryAfterSeconds sends the wait in whole seconds, rounded up.
	RetryAfterSeconds
	// RetryAfterHTTPDate sends the moment to retry as an HTTP-date, rounded
	// up to the next whole second.
	RetryAfterHTTPDate
)

// BodyShape selects the body of 429 responses.
type BodyShape int

const (
	// BodyPlain is "Too Many Requests" as text/plain.
	BodyPlain BodyShape = iota
	// BodyEmpty is an empty body.
	BodyEmpty
	// BodyRetryAfterJSON is {"retryAfter":N}, N in whole seconds rounded up.
	BodyRetryAfterJSON
	// BodyDemeterrr is the shape of demeterrr.txt:
	// {"error":{"code":"RATE_LIMIT_EXCEEDED","message":...,
	// "details":{"retryAfter":N,"limit":L,"window":"1 hour"}}}.
	BodyDemeterrr
	// BodyLupitor is the shape of lupitor.txt: {"success":false,"data":null,
	// "error":...,"limit":L,"remaining":0,"reset":"<RFC 3339, ms, UTC>"}.
	BodyLupitor
	// BodyLumail is the shape of lumail.txt:
	// {"message":"Too many requests","docs":...}.
	BodyLumail
)

// Faults injects failures. Fractions are probabilities in [0, 1], drawn from
// a generator seeded with Seed, so a run that sends requests in the same
// order sees the same faults. The zero value injects nothing.
type Faults struct {
	// Fail503 is the fraction of requests answered 503 Service Unavailable
	// (with Retry-After per Config.RetryAfter). They are not counted against
	// any limit and create nothing.
	Fail503 float64
	// Outage, when non-nil and true at the server's current time, answers
	// every request 503 like Fail503. It is called with the Server's lock
	// held, so it must not call the Server's methods. See also
	// (*Server).SetOutage.
	Outage func(now time.Time) bool
	// RetryAfter503 is the wait advertised on 503 responses; zero means one
	// second.
	RetryAfter503 time.Duration
	// DropHeaders is the fraction of requests for which the limiter backend
	// "fails open": the request is let through without being counted and
	// its response carries no rate-limit headers.
	DropHeaders float64
	// Latency delays every request by this much server-clock time before it
	// is handled (limiter decision and answer happen after the delay).
	Latency time.Duration
	// ResetAfterCommit is the fraction of creating POSTs (answered 201
	// Created, and not an idempotent replay) for which the server keeps the
	// created item and then closes the connection without answering.
	ResetAfterCommit float64
	// Seed seeds the fault generator.
	Seed int64
}

// String returns "sliding" or "fixed".
func (k WindowKind) String() string {
	if k == Fixed {
		return "fixed"
	}
	return "sliding"
}

// String returns "key", "org", "ip" or "global".
func (s ScopeKind) String() string {
	switch s {
	case ByOrg:
		return "org"
	case ByIP:
		return "ip"
	case Global:
		return "global"
	}
	return "key"
}
