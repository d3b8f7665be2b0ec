package pacertest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

func oneLimit(scope pacertest.ScopeKind) pacertest.Config {
	return pacertest.Config{Limits: []pacertest.Limit{{Requests: 2, Window: time.Minute, Scope: scope, Name: "l"}}}
}

func TestScopeByKeyReadsBothHeaders(t *testing.T) {
	srv, _ := start(t, oneLimit(pacertest.ByKey))
	// X-API-Key and Authorization: Bearer name the same key.
	assert.Equal(t, 200, get(t, srv, "/x", "k1").status)
	assert.Equal(t, 200, do(t, srv, "GET", "/x", "", "", "Authorization", "Bearer k1").status)
	assert.Equal(t, 429, get(t, srv, "/x", "k1").status)
	assert.Equal(t, 429, do(t, srv, "GET", "/x", "", "", "Authorization", "bearer k1").status)
	// Another key has its own pool.
	assert.Equal(t, 200, get(t, srv, "/x", "k2").status)
	keys := map[string]int{}
	for _, w := range srv.Evidence().Windows {
		keys[w.Key] = w.MaxInWindow
	}
	assert.Equal(t, map[string]int{"k1": 2, "k2": 1}, keys)
}

func TestScopeByOrg(t *testing.T) {
	cfg := oneLimit(pacertest.ByOrg)
	cfg.Orgs = map[string]string{"alice": "acme", "bob": "acme"}
	srv, _ := start(t, cfg)
	assert.Equal(t, 200, get(t, srv, "/x", "alice").status)
	assert.Equal(t, 200, get(t, srv, "/x", "bob").status)
	assert.Equal(t, 429, get(t, srv, "/x", "alice").status, "keys of one org share a pool")
	// A key missing from Orgs is its own organisation.
	assert.Equal(t, []int{200, 200, 429}, statuses(t, srv, 3, "/x", "carol"))
}

func TestScopeGlobal(t *testing.T) {
	srv, _ := start(t, oneLimit(pacertest.Global))
	assert.Equal(t, 200, get(t, srv, "/x", "a").status)
	assert.Equal(t, 200, get(t, srv, "/x", "b").status)
	assert.Equal(t, 429, get(t, srv, "/x", "c").status)
}

// clientFrom returns a client whose connections come from the local IP ip
// (any 127.0.0.0/8 address works on loopback).
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestScopeByIP(t *testing.T) {
	srv, _ := start(t, oneLimit(pacertest.ByIP))
	status := func(c *http.Client, key string) int {
		req, err := http.NewRequest("GET", srv.URL+"/x", nil)
		require.NoError(t, err)
		req.Header.Set("X-API-Key", key)
		resp, err := c.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		return resp.StatusCode
	}
	one, two := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	// Different keys from one IP share the IP's pool.
	assert.Equal(t, 200, status(one, "a"))
	assert.Equal(t, 200, status(one, "b"))
	assert.Equal(t, 429, status(one, "c"))
	assert.Equal(t, 200, status(two, "a"), "another IP has its own pool")
	var keys []string
	for _, w := range srv.Evidence().Windows {
		keys = append(keys, w.Key)
	}
	assert.Equal(t, []string{"127.0.0.1", "127.0.0.2"}, keys)
}

func TestRoutesAndDefaultPool(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Routes: []pacertest.Route{
			{Method: "GET", Pattern: "/v1/campaigns/:id", Limits: []pacertest.Limit{{Requests: 2, Window: time.Minute, Name: "one"}}},
			{Pattern: "/v1/files/*", Limits: []pacertest.Limit{{Requests: 1, Window: time.Minute, Name: "files"}}},
		},
		DefaultRouteLimits: []pacertest.Limit{{Requests: 3, Window: time.Minute, Name: "default"}},
	})
	// The route pool is shared by every :id but not by the sub-path.
	assert.Equal(t, 200, get(t, srv, "/v1/campaigns/1", "k").status)
	assert.Equal(t, 200, get(t, srv, "/v1/campaigns/2", "k").status)
	assert.Equal(t, 429, get(t, srv, "/v1/campaigns/3", "k").status)
	// Unmatched requests (other paths, other methods, deeper paths) share
	// ONE default pool per key.
	assert.Equal(t, 200, get(t, srv, "/v1/campaigns/1/statistics", "k").status)
	assert.Equal(t, 200, do(t, srv, "DELETE", "/v1/campaigns/1", "k", "").status)
	assert.Equal(t, 200, get(t, srv, "/v1/users", "k").status)
	assert.Equal(t, 429, get(t, srv, "/v1/teams/me", "k").status)
	assert.Equal(t, 200, get(t, srv, "/v1/teams/me", "other").status)
	// A trailing "*" matches the rest of the path, with any method.
	assert.Equal(t, 201, do(t, srv, "POST", "/v1/files/a/b", "k", `{"id":"f"}`).status)
	assert.Equal(t, 429, get(t, srv, "/v1/files", "k").status)

	ev := srv.Evidence()
	assert.Equal(t, 2, ev.MaxInWindow("one"))
	assert.Equal(t, 3, ev.MaxInWindow("default"))
	assert.Equal(t, 1, ev.MaxInWindow("files"))
	routes := map[string]string{}
	for _, w := range ev.Windows {
		routes[w.Name] = w.Route
	}
	assert.Equal(t, map[string]string{"one": "/v1/campaigns/:id", "files": "/v1/files/*", "default": "default"}, routes)
}

func TestGlobalAndRouteLimitsBothHold(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits: []pacertest.Limit{{Requests: 3, Window: time.Minute, Name: "all"}},
		Routes: []pacertest.Route{{Pattern: "/a", Limits: []pacertest.Limit{{Requests: 5, Window: time.Minute}}}},
	})
	assert.Equal(t, []int{200, 200, 200, 429}, statuses(t, srv, 4, "/a", "k"))
	assert.Equal(t, 429, get(t, srv, "/b", "k").status)
}

func TestInvalidLimitPanics(t *testing.T) {
	srv := pacertest.NewUnstartedServer(pacertest.Config{Limits: []pacertest.Limit{{Requests: 1}}})
	assert.Panics(t, srv.Start)
	srv.Close()
}
