package pacertest

import "time"

// The presets return a fresh Config each call; change it freely (add a
// Clock, Faults or Orgs) before passing it to NewServer.

// SlidingHourPerKey is the API of vendor-docs/lupitor.txt: 1000 requests per
// sliding hour per API key on /api/v1/* (limit "api"), 60 per sliding minute
// per client IP on /api/health (limit "health"), bulk creates of up to 1000
// items per request (POST /api/v1/leads/bulk), X-RateLimit-* headers with
// the reset in unix seconds on every response, Retry-After in seconds and
// lupitor's JSON 429 body.
func SlidingHourPerKey() Config {
	return Config{
		Routes: []Route{
			{Pattern: "/api/v1/*", Limits: []Limit{{Requests: 1000, Window: time.Hour, Scope: ByKey, Name: "api"}}},
			{Pattern: "/api/health", Limits: []Limit{{Requests: 60, Window: time.Minute, Scope: ByIP, Name: "health"}}},
		},
		Headers:    XRateLimitUnix,
		RetryAfter: RetryAfterSeconds,
		Body429:    BodyLupitor,
		BulkMax:    1000,
	}
}

// OrgMinuteAndIPSecond is the API of vendor-docs/lumail.txt (free plan): 100
// requests per fixed minute per organisation (limit "org") and 500 per fixed
// second per client IP (limit "ip"), X-RateLimit-* headers with the reset in
// unix seconds, Retry-After in seconds and lumail's JSON 429 body. Set
// Config.Orgs to share a pool between keys.
func OrgMinuteAndIPSecond() Config {
	return Config{
		Limits: []Limit{
			{Requests: 100, Window: time.Minute, Kind: Fixed, Scope: ByOrg, Name: "org"},
			{Requests: 500, Window: time.Second, Kind: Fixed, Scope: ByIP, Name: "ip"},
		},
		Headers:    XRateLimitUnix,
		RetryAfter: RetryAfterSeconds,
		Body429:    BodyLumail,
	}
}

// IPFiveMinutesNoHeaders is the API of vendor-docs/lumar.txt: 6000 requests
// per sliding 5 minutes per client IP (limit "ip"), no rate-limit headers,
// and a bare 429 (empty body, no Retry-After): clients must back off blind.
func IPFiveMinutesNoHeaders() Config {
	return Config{
		Limits:     []Limit{{Requests: 6000, Window: 5 * time.Minute, Scope: ByIP, Name: "ip"}},
		Headers:    NoHeaders,
		RetryAfter: NoRetryAfter,
		Body429:    BodyEmpty,
	}
}

// PerEndpointWindows is the API of vendor-docs/campaigns-api.txt: the
// per-endpoint table below, each a sliding window per API key, and one
// shared default pool of 60 per 60 s per API key for every other path
// (limit "default"). X-RateLimit-* headers carry the reset in unix
// milliseconds on every response the limiter checked (2xx and 429 alike);
// 429s add Retry-After in seconds.
// Limits are named after their route, e.g. "GET /v1/campaigns/:id".
//
//	GET  /v1/analytics                30 / 60 s
//	GET  /v1/analytics/daily          30 / 60 s
//	GET  /v1/analytics/by-user        30 / 60 s
//	POST /v1/leads/add_to_campaign    20 / 60 s
//	GET  /v1/campaigns                60 / 60 s
//	GET  /v1/campaigns/:id           120 / 60 s
//	GET  /v1/campaigns/:id/statistics 30 / 60 s
//	GET  /v1/users                    60 / 60 s
//	GET  /v1/users/:id                60 / 60 s
//	GET  /v1/teams/me                 60 / 60 s
func PerEndpointWindows() Config {
	table := []struct {
		method, path string
		n            int
	}{
		{"GET", "/v1/analytics", 30},
		{"GET", "/v1/analytics/daily", 30},
		{"GET", "/v1/analytics/by-user", 30},
		{"POST", "/v1/leads/add_to_campaign", 20},
		{"GET", "/v1/campaigns", 60},
		{"GET", "/v1/campaigns/:id", 120},
		{"GET", "/v1/campaigns/:id/statistics", 30},
		{"GET", "/v1/users", 60},
		{"GET", "/v1/users/:id", 60},
		{"GET", "/v1/teams/me", 60},
	}
	routes := make([]Route, len(table))
	for i, e := range table {
		routes[i] = Route{Method: e.method, Pattern: e.path, Limits: []Limit{
			{Requests: e.n, Window: 60 * time.Second, Scope: ByKey, Name: e.method + " " + e.path},
		}}
	}
	return Config{
		Routes:             routes,
		DefaultRouteLimits: []Limit{{Requests: 60, Window: 60 * time.Second, Scope: ByKey, Name: "default"}},
		Headers:            XRateLimitUnixMs,
		RetryAfter:         RetryAfterSeconds,
	}
}

// OrgMinuteAndHour is the API of vendor-docs/demeterrr.txt: per
// organisation, 100 requests per fixed minute (limit "minute") and 1000 per
// fixed hour (limit "hour"), both enforced; X-RateLimit-* headers with the
// reset in unix seconds (for the most restrictive of the two), Retry-After
// in seconds and demeterrr's JSON 429 body. Set Config.Orgs to put several
// API keys in one organisation.
func OrgMinuteAndHour() Config {
	return Config{
		Limits: []Limit{
			{Requests: 100, Window: time.Minute, Kind: Fixed, Scope: ByOrg, Name: "minute"},
			{Requests: 1000, Window: time.Hour, Kind: Fixed, Scope: ByOrg, Name: "hour"},
		},
		Headers:    XRateLimitUnix,
		RetryAfter: RetryAfterSeconds,
		Body429:    BodyDemeterrr,
	}
}
