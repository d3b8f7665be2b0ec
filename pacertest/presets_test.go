package pacertest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

// exhaust sends GETs until one is refused, and returns that reply and how
// many passed before it (at most max).
func exhaust(t *testing.T, srv *pacertest.Server, method, path, key string, max int) (reply, int) {
	t.Helper()
	for n := 0; n <= max; n++ {
		r := do(t, srv, method, path, key, "")
		if r.status != http.StatusOK {
			return r, n
		}
	}
	t.Fatalf("%s %s never refused after %d requests", method, path, max)
	return reply{}, 0
}

func TestPresetSlidingHourPerKey(t *testing.T) {
	srv, _ := start(t, pacertest.SlidingHourPerKey())
	r := get(t, srv, "/api/v1/leads", "k")
	assert.Equal(t, int64(1000), headerInt(t, r.header, "X-RateLimit-Limit"))
	assert.Equal(t, int64(999), headerInt(t, r.header, "X-RateLimit-Remaining"))
	assert.Equal(t, t0.Add(time.Hour).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))

	r = do(t, srv, "POST", "/api/v1/leads/bulk", "k", bulkBody(0, 1000))
	assert.Equal(t, http.StatusCreated, r.status)
	assert.Equal(t, int64(998), headerInt(t, r.header, "X-RateLimit-Remaining"), "a bulk request is one request")
	assert.Equal(t, http.StatusRequestEntityTooLarge, do(t, srv, "POST", "/api/v1/leads/bulk", "k", bulkBody(0, 1001)).status)
	assert.Equal(t, 1000, srv.Evidence().Created)

	// Health: 60 per minute per IP, whatever the key.
	r, n := exhaust(t, srv, "GET", "/api/health", "", 60)
	assert.Equal(t, 60, n)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, int64(60), headerInt(t, r.header, "Retry-After"))
	var body struct {
		Success bool
		Limit   int
		Reset   string
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &body))
	assert.Equal(t, 60, body.Limit)
	assert.Equal(t, t0.Add(time.Minute).Format("2006-01-02T15:04:05.000Z"), body.Reset)
	// The API route is not affected by the health pool.
	assert.Equal(t, 200, get(t, srv, "/api/v1/leads", "k").status)
}

func TestPresetOrgMinuteAndIPSecond(t *testing.T) {
	cfg := pacertest.OrgMinuteAndIPSecond()
	cfg.Orgs = map[string]string{"k1": "org", "k2": "org"}
	srv, clk := start(t, cfg)
	clk.Set(t0.Add(30 * sec))
	r := get(t, srv, "/api/v1/tags", "k1")
	assert.Equal(t, int64(100), headerInt(t, r.header, "X-RateLimit-Limit"))
	assert.Equal(t, int64(99), headerInt(t, r.header, "X-RateLimit-Remaining"))
	assert.Equal(t, t0.Add(time.Minute).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
	r, n := exhaust(t, srv, "GET", "/api/v1/tags", "k2", 100)
	assert.Equal(t, 99, n, "both keys share the org's pool")
	assert.Equal(t, int64(30), headerInt(t, r.header, "Retry-After"), "the fixed minute ends at t0+60s")
	var body struct{ Message string }
	require.NoError(t, json.Unmarshal([]byte(r.body), &body))
	assert.Equal(t, "Too many requests", body.Message)

	lims := cfg.Limits
	require.Len(t, lims, 2)
	assert.Equal(t, pacertest.Limit{Requests: 500, Window: time.Second, Kind: pacertest.Fixed, Scope: pacertest.ByIP, Name: "ip"}, lims[1])
}

func TestPresetIPFiveMinutesNoHeaders(t *testing.T) {
	cfg := pacertest.IPFiveMinutesNoHeaders()
	assert.Equal(t, []pacertest.Limit{{Requests: 6000, Window: 5 * time.Minute, Scope: pacertest.ByIP, Name: "ip"}}, cfg.Limits)
	cfg.Limits[0].Requests = 2 // the shape of a refusal, without 6000 requests
	srv, _ := start(t, cfg)
	r := get(t, srv, "/graphql", "a")
	assert.Empty(t, r.header.Get("X-RateLimit-Limit"))
	assert.Empty(t, r.header.Get("RateLimit"))
	get(t, srv, "/graphql", "b")
	r = get(t, srv, "/graphql", "c")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Empty(t, r.header.Get("Retry-After"))
	assert.Empty(t, r.header.Get("X-RateLimit-Reset"))
	assert.Empty(t, r.body)
}

func TestPresetPerEndpointWindows(t *testing.T) {
	srv, clk := start(t, pacertest.PerEndpointWindows())
	clk.Set(t0.Add(1500 * time.Millisecond))
	limits := map[string]int64{
		"/v1/analytics": 30, "/v1/analytics/daily": 30, "/v1/analytics/by-user": 30,
		"/v1/campaigns": 60, "/v1/campaigns/7": 120, "/v1/campaigns/7/statistics": 30,
		"/v1/users": 60, "/v1/users/7": 60, "/v1/teams/me": 60,
	}
	for path, want := range limits {
		r := get(t, srv, path, "k")
		require.Equal(t, 200, r.status, path)
		assert.Equal(t, want, headerInt(t, r.header, "X-RateLimit-Limit"), path)
		assert.Equal(t, want-1, headerInt(t, r.header, "X-RateLimit-Remaining"), path)
		assert.Equal(t, t0.Add(61500*time.Millisecond).UnixMilli(), headerInt(t, r.header, "X-RateLimit-Reset"), path)
	}
	r := do(t, srv, "POST", "/v1/leads/add_to_campaign", "k", `{}`)
	assert.Equal(t, int64(20), headerInt(t, r.header, "X-RateLimit-Limit"))

	// Everything else shares one default pool of 60 per key.
	for i := range 30 {
		require.Equal(t, 200, get(t, srv, fmt.Sprintf("/v1/other/%d", i), "k").status)
	}
	r, n := exhaust(t, srv, "POST", "/v1/campaigns", "k", 60)
	assert.Equal(t, 30, n)
	assert.Equal(t, int64(60), headerInt(t, r.header, "Retry-After"))
	assert.Equal(t, int64(60), headerInt(t, r.header, "X-RateLimit-Limit"))
	assert.Equal(t, 60, srv.Evidence().MaxInWindow("default"))
	assert.Equal(t, 1, srv.Evidence().MaxInWindow("GET /v1/campaigns/:id"))
}

func TestPresetOrgMinuteAndHour(t *testing.T) {
	srv, clk := start(t, pacertest.OrgMinuteAndHour())
	r := get(t, srv, "/v1/contacts", "k")
	assert.Equal(t, int64(100), headerInt(t, r.header, "X-RateLimit-Limit"))
	assert.Equal(t, int64(99), headerInt(t, r.header, "X-RateLimit-Remaining"))
	r, n := exhaust(t, srv, "GET", "/v1/contacts", "k", 100)
	assert.Equal(t, 99, n)
	assert.Equal(t, int64(60), headerInt(t, r.header, "Retry-After"))
	var body struct {
		Error struct {
			Code    string
			Details struct {
				RetryAfter int
				Limit      int
				Window     string
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &body))
	assert.Equal(t, "RATE_LIMIT_EXCEEDED", body.Error.Code)
	assert.Equal(t, 60, body.Error.Details.RetryAfter)
	assert.Equal(t, 100, body.Error.Details.Limit)
	assert.Equal(t, "1 minute", body.Error.Details.Window)

	// The next minute has room again, and the hour has counted all 200.
	clk.Set(t0.Add(time.Minute))
	_, n = exhaust(t, srv, "GET", "/v1/contacts", "k", 100)
	assert.Equal(t, 100, n)
	assert.Equal(t, 200, srv.Evidence().MaxInWindow("hour"))
	assert.Equal(t, 100, srv.Evidence().MaxInWindow("minute"))
}
