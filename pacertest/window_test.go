package pacertest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

// limitCfg is one limit of kind 3 per 10 s per key with unix headers.
func limitCfg(kind pacertest.WindowKind) pacertest.Config {
	return pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: 3, Window: 10 * sec, Kind: kind, Name: "l"}},
		Headers:    pacertest.XRateLimitUnix,
		RetryAfter: pacertest.RetryAfterSeconds,
	}
}

func TestSlidingWindow(t *testing.T) {
	srv, clk := start(t, limitCfg(pacertest.Sliding))
	for _, at := range []time.Duration{0, 4 * sec, 8 * sec} {
		clk.Set(t0.Add(at))
		r := get(t, srv, "/x", "k")
		require.Equal(t, http.StatusOK, r.status, "at %v", at)
	}
	clk.Set(t0.Add(9500 * time.Millisecond))
	r := get(t, srv, "/x", "k")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	// The oldest request (t0) leaves at t0+10s: 0.5 s away, rounded up.
	assert.Equal(t, int64(1), headerInt(t, r.header, "Retry-After"))
	assert.Equal(t, t0.Add(10*sec).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
	assert.Equal(t, int64(0), headerInt(t, r.header, "X-RateLimit-Remaining"))

	// At t0+10s exactly one slot has freed: one request passes, the next
	// waits for the t0+4s request to leave at t0+14s.
	clk.Set(t0.Add(10 * sec))
	assert.Equal(t, []int{200, 429}, statuses(t, srv, 2, "/x", "k"))
	r = get(t, srv, "/x", "k")
	assert.Equal(t, t0.Add(14*sec).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
	assert.Equal(t, int64(4), headerInt(t, r.header, "Retry-After"))

	ev := srv.Evidence()
	assert.Equal(t, 3, ev.MaxInWindow("l"))
	assert.Equal(t, 4, ev.Accepted)
	assert.Equal(t, 3, ev.Rejected)
}

func TestFixedWindow(t *testing.T) {
	srv, clk := start(t, limitCfg(pacertest.Fixed))
	clk.Set(t0.Add(4 * sec))
	r := get(t, srv, "/x", "k")
	require.Equal(t, 200, r.status)
	// A fixed window resets at its end however recent the requests are.
	assert.Equal(t, t0.Add(10*sec).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
	assert.Equal(t, int64(2), headerInt(t, r.header, "X-RateLimit-Remaining"))
	assert.Equal(t, int64(3), headerInt(t, r.header, "X-RateLimit-Limit"))

	clk.Set(t0.Add(9 * sec))
	assert.Equal(t, []int{200, 200, 429}, statuses(t, srv, 3, "/x", "k"))

	// At the boundary the whole window frees at once: a sliding window
	// would still hold all three requests here.
	clk.Set(t0.Add(10 * sec))
	assert.Equal(t, []int{200, 200, 200, 429}, statuses(t, srv, 4, "/x", "k"))
	r = get(t, srv, "/x", "k")
	assert.Equal(t, t0.Add(20*sec).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
	assert.Equal(t, int64(10), headerInt(t, r.header, "Retry-After"))

	// Six requests fell within 1 s of real spacing, but no aligned window
	// held more than three.
	assert.Equal(t, 3, srv.Evidence().MaxInWindow("l"))
}

func TestScopesAreSeparatePools(t *testing.T) {
	cfg := limitCfg(pacertest.Sliding)
	srv, _ := start(t, cfg)
	assert.Equal(t, []int{200, 200, 200, 429}, statuses(t, srv, 4, "/x", "a"))
	assert.Equal(t, []int{200, 200, 200, 429}, statuses(t, srv, 4, "/x", "b"))
}
