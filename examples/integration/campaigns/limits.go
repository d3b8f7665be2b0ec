package campaigns

import (
	"time"

	"github.com/pacerhq/pacer"
)

// RouteLimit is one row of the API's documented per-endpoint limits.
type RouteLimit struct {
	// Route is a pacer route template: method and path, ":name" for a
	// path parameter.
	Route  string
	Limit  int
	Window time.Duration
}

// Limits is the per-endpoint table of the API's documentation
// (campaigns-api.txt), each a sliding window per API key.
var Limits = []RouteLimit{
	{"GET /v1/analytics", 30, time.Minute},
	{"GET /v1/analytics/daily", 30, time.Minute},
	{"GET /v1/analytics/by-user", 30, time.Minute},
	{"POST /v1/leads/add_to_campaign", 20, time.Minute},
	{"GET /v1/campaigns", 60, time.Minute},
	{"GET /v1/campaigns/:id", 120, time.Minute},
	{"GET /v1/campaigns/:id/statistics", 30, time.Minute},
	{"GET /v1/users", 60, time.Minute},
	{"GET /v1/users/:id", 60, time.Minute},
	{"GET /v1/teams/me", 60, time.Minute},
}

// DefaultLimit is the documented limit of every other API-key route: one
// pool of 60 requests per 60 s per key, shared by all of them.
var DefaultLimit = RouteLimit{Route: "*", Limit: 60, Window: time.Minute}

// KeyHeader is the header that carries the API key; limits count per key.
const KeyHeader = "X-API-Key"

// Options are the pacer options that describe this API: budgets scoped by
// API key (hashed, never kept raw), one budget per documented route, the
// default pool for the rest, and Idempotency-Keys on creates so that pacer
// may retry them safely.
func Options() []pacer.Option {
	opts := []pacer.Option{
		pacer.WithScope(pacer.ScopeByHeader(KeyHeader)),
		pacer.WithBudget(DefaultLimit.Limit, DefaultLimit.Window),
		pacer.WithIdempotencyKeys(),
	}
	for _, l := range Limits {
		opts = append(opts, pacer.WithRouteBudget(l.Route, l.Limit, l.Window))
	}
	return opts
}
