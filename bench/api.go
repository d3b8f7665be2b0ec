package main

import (
	"net/http"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// apiKey is the credential every benchmark request carries.
const apiKey = "bench-key"

// api is one vendor API as the benchmark drives it: the pacertest preset
// that reproduces its page in /work/shared/vendor-docs, how requests
// authenticate, the endpoint the create workloads use, and the pacer
// configuration a user would write from the page.
type api struct {
	name    string // short name used in tables, e.g. "lupitor"
	page    string // the vendor page it reproduces
	summary string // the documented limits, for the report
	preset  func() pacertest.Config
	// headers is true when the API sends rate-limit headers on successful
	// responses (so a zero-config client can learn the limit before a 429).
	headers bool
	// auth sets the credential headers of a request.
	auth func(h http.Header)
	// create is the path of the POST endpoint the create workloads call.
	create string
	// primary is "the limit" of the create endpoint: the one the burst
	// workload offers twice and then half of.
	primary pacertest.Limit
	// configured returns the pacer options that state the documented
	// limits, scope and idempotency keys, as the vendor page says.
	configured func() []pacer.Option
}

func keyHeader(h http.Header)    { h.Set("X-API-Key", apiKey) }
func bearerHeader(h http.Header) { h.Set("Authorization", "Bearer "+apiKey) }

// apis returns every vendor API, in report order.
func apis() []*api {
	return []*api{lupitor(), lumail(), lumar(), campaigns(), demeterrr()}
}

func apiByName(name string) *api {
	for _, a := range apis() {
		if a.name == name {
			return a
		}
	}
	return nil
}

func lupitor() *api {
	return &api{
		name: "lupitor", page: "lupitor.txt",
		summary: "1000 / sliding hour per API key on /api/v1/*",
		preset:  pacertest.SlidingHourPerKey, headers: true, auth: keyHeader,
		create:  "/api/v1/leads",
		primary: pacertest.Limit{Requests: 1000, Window: time.Hour},
		configured: func() []pacer.Option {
			return []pacer.Option{
				pacer.WithScope(pacer.ScopeByHeader("X-API-Key")),
				pacer.WithBudget(1000, time.Hour),
				pacer.WithRouteBudget("/api/health", 60, time.Minute),
				pacer.WithIdempotencyKeys(),
			}
		},
	}
}

func lumail() *api {
	return &api{
		name: "lumail", page: "lumail.txt",
		summary: "100 / fixed minute per organisation and 500 / fixed second per IP",
		preset:  pacertest.OrgMinuteAndIPSecond, headers: true, auth: bearerHeader,
		create:  "/api/v1/subscribers",
		primary: pacertest.Limit{Requests: 100, Window: time.Minute},
		configured: func() []pacer.Option {
			return []pacer.Option{
				pacer.WithScope(pacer.ScopeByBearer()),
				pacer.WithFixedWindow(100, time.Minute),
				pacer.WithFixedWindow(500, time.Second), // under 20 s: runs sliding
				pacer.WithIdempotencyKeys(),
			}
		},
	}
}

func lumar() *api {
	return &api{
		name: "lumar", page: "lumar.txt",
		summary: "6000 / sliding 5 min per IP, no headers, bare 429",
		preset:  pacertest.IPFiveMinutesNoHeaders, headers: false, auth: keyHeader,
		create:  "/graphql",
		primary: pacertest.Limit{Requests: 6000, Window: 5 * time.Minute},
		configured: func() []pacer.Option {
			return []pacer.Option{
				pacer.WithBudget(6000, 5*time.Minute), // per IP: one host, one scope
				pacer.WithIdempotencyKeys(),
			}
		},
	}
}

// campaignRoutes is the per-endpoint table of campaigns-api.txt.
var campaignRoutes = []struct {
	route string
	limit int
}{
	{"GET /v1/analytics", 30},
	{"GET /v1/analytics/daily", 30},
	{"GET /v1/analytics/by-user", 30},
	{"POST /v1/leads/add_to_campaign", 20},
	{"GET /v1/campaigns", 60},
	{"GET /v1/campaigns/:id", 120},
	{"GET /v1/campaigns/:id/statistics", 30},
	{"GET /v1/users", 60},
	{"GET /v1/users/:id", 60},
	{"GET /v1/teams/me", 60},
}

func campaigns() *api {
	return &api{
		name: "campaigns", page: "campaigns-api.txt",
		summary: "per endpoint, sliding 60 s per API key (20 to 120); default pool 60 / 60 s",
		preset:  pacertest.PerEndpointWindows, headers: true, auth: keyHeader,
		create:  "/v1/leads/add_to_campaign",
		primary: pacertest.Limit{Requests: 20, Window: time.Minute},
		configured: func() []pacer.Option {
			opts := []pacer.Option{
				pacer.WithScope(pacer.ScopeByHeader("X-API-Key")),
				pacer.WithBudget(60, time.Minute), // the default pool
				pacer.WithIdempotencyKeys(),
			}
			for _, r := range campaignRoutes {
				opts = append(opts, pacer.WithRouteBudget(r.route, r.limit, time.Minute))
			}
			return opts
		},
	}
}

func demeterrr() *api {
	return &api{
		name: "demeterrr", page: "demeterrr.txt",
		summary: "100 / fixed minute and 1000 / fixed hour per organisation",
		preset:  pacertest.OrgMinuteAndHour, headers: true, auth: keyHeader,
		create:  "/api/v1/contacts",
		primary: pacertest.Limit{Requests: 100, Window: time.Minute},
		configured: func() []pacer.Option {
			return []pacer.Option{
				pacer.WithScope(pacer.ScopeByHeader("X-API-Key")), // one key = the organisation
				pacer.WithFixedWindow(100, time.Minute),
				pacer.WithFixedWindow(1000, time.Hour),
				pacer.WithIdempotencyKeys(),
			}
		},
	}
}
