package pacer_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
)

// One hostile answer cannot park a scope for longer than the max wait: the
// caller it was for gets a *RateLimitError naming the server's instant at
// once, and the next request waits at most the max wait, then probes.
func TestHostileHoldBoundedByMaxWait(t *testing.T) {
	t.Parallel()
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	hostile := map[string]http.HandlerFunc{
		"Retry-After":     status(429, "", "Retry-After", "999999999"),
		"body hint":       status(429, `{"retryAfter":"999999999"}`, "Content-Type", "application/json"),
		"reset in 2100":   status(200, "", "X-RateLimit-Limit", "10", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(far.Unix(), 10)),
		"HTTP-date reset": status(429, "", "Retry-After", far.Format(http.TimeFormat)),
	}
	for name, answer := range hostile {
		t.Run(name, func(t *testing.T) {
			srv := newScript(t, answer, status(200, "ok"))
			clk := clocktest.NewInstant(time.Time{})
			c := newTestClient(clk, pacer.WithMaxWait(time.Minute))
			resp, err := c.Get(srv.URL)
			if err == nil {
				readBody(t, resp) // the 200 with nothing remaining is an answer
			} else {
				var rle *pacer.RateLimitError
				require.ErrorAs(t, err, &rle)
				assert.Greater(t, rle.RetryAfter, 24*time.Hour, "the server's instant, not a cap")
			}
			start := clk.Now()
			resp, err = c.Get(srv.URL)
			require.NoError(t, err, "the healthy server is probed")
			assert.Equal(t, "ok", readBody(t, resp))
			assert.LessOrEqual(t, clk.Now().Sub(start), time.Minute, "held no longer than the max wait")
			assert.Equal(t, int64(2), srv.hits.Load())
		})
	}
}

// A hold two answers in a row ask for is the server's steady word, as an
// exhausted hourly window's is: it is waited out, not probed every max wait.
func TestConfirmedResetWaitedOut(t *testing.T) {
	t.Parallel()
	clk := clocktest.NewInstant(time.Time{})
	const reset = "3600" // seconds from now; the clock stands still between the answers
	srv := newScript(t,
		status(200, "", "X-RateLimit-Limit", "2", "X-RateLimit-Remaining", "1", "X-RateLimit-Reset", reset),
		status(200, "", "X-RateLimit-Limit", "2", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset),
		status(200, "ok"))
	c := newTestClient(clk, pacer.WithMaxWait(time.Minute))
	for range 2 {
		resp, err := c.Get(srv.URL)
		require.NoError(t, err)
		readBody(t, resp)
	}
	start := clk.Now()
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "ok", readBody(t, resp))
	assert.GreaterOrEqual(t, clk.Now().Sub(start), 59*time.Minute, "held to the confirmed reset, no probe before")
	assert.Equal(t, int64(3), srv.hits.Load(), "no probe was refused")
}
