package pacer

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestScopeFuncs(t *testing.T) {
	req := func(header, value string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "https://API.Example.com:8443/v1/x?key=q", nil)
		if header != "" {
			r.Header.Set(header, value)
		}
		return r
	}
	host := "api.example.com:8443"
	cases := []struct {
		name  string
		scope ScopeFunc
		req   *http.Request
		want  string
	}{
		{"host, lower case", ScopeByHost(), req("", ""), host},
		{"API key, hashed", ScopeByHeader("X-API-Key"), req("X-API-Key", "sk_1"), host + " key:" + HashSecret("sk_1")},
		{"no API key: the host's scope", ScopeByHeader("X-API-Key"), req("", ""), host},
		{"bearer token, hashed", ScopeByBearer(), req("Authorization", "Bearer tok"), host + " key:" + HashSecret("tok")},
		{"lower-case scheme", ScopeByBearer(), req("Authorization", "bearer tok"), host + " key:" + HashSecret("tok")},
		{"basic auth is no bearer", ScopeByBearer(), req("Authorization", "Basic dXNlcg=="), host},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.scope(c.req)
			assert.Equal(t, c.want, got)
			for _, secret := range []string{"sk_1", "tok", "dXNlcg"} {
				assert.False(t, strings.Contains(got, secret), "no raw secret in the scope")
			}
		})
	}
	assert.Len(t, HashSecret("x"), 16)
	assert.NotEqual(t, HashSecret("a"), HashSecret("b"))
}

func TestRouteLookup(t *testing.T) {
	var table routeTable
	for _, p := range []string{"GET /v1/campaigns", "get /v1/campaigns/:id/", "GET /v1/campaigns/:id/statistics",
		"GET /v1/campaigns/featured", "/v1/health"} {
		table = table.add(p, Budget{Limit: 1, Window: time.Second})
	}
	table = table.add("GET /v1/campaigns", Budget{Limit: 2, Window: time.Hour}) // a second window, same route
	cases := []struct{ method, path, want string }{
		{"GET", "/v1/campaigns", "GET /v1/campaigns"},
		{"GET", "/v1/campaigns/42", "GET /v1/campaigns/:id"},
		{"GET", "/v1/campaigns/42/", "GET /v1/campaigns/:id"},
		{"GET", "/v1/campaigns/featured", "GET /v1/campaigns/featured"}, // the literal wins
		{"GET", "/v1/campaigns/42/statistics", "GET /v1/campaigns/:id/statistics"},
		{"POST", "/v1/campaigns/42", ""},
		{"DELETE", "/v1/health", "/v1/health"}, // no method: any
		{"GET", "/v2/campaigns", ""},
		{"GET", "/v1/campaigns//statistics", ""}, // an empty segment is no :id
		{"GET", "/v1/campaigns/42/statistics/more", ""},
		{"GET", "/", ""},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(c.method, "https://h"+c.path, nil)
		got := table.lookup(r)
		if c.want == "" {
			assert.Nil(t, got, c.path)
			continue
		}
		if assert.NotNil(t, got, c.path) {
			assert.Equal(t, c.want, got.pattern, c.path)
		}
	}
	r, _ := http.NewRequest("GET", "https://h/v1/campaigns", nil)
	assert.Len(t, table.lookup(r).budgets, 2, "budgets of one route accumulate")
	assert.Zero(t, testing.AllocsPerRun(100, func() { table.lookup(r) }), "the path is walked in place")
}
