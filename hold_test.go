package pacer_test

import (
	"context"
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

// A probe refused with a wait past the max wait, right after an answer that
// asked for a long hold too, meets the hold the store now keeps on the whole
// scope (a sliding log's gap: the bench's lupitor said "0 remaining, reset
// in 25 min", then refused the probe sent at the max wait with
// "Retry-After: 25 min"). Like every request queued behind that hold, it
// waits in the store, bounded by its context: before, it failed with a
// *RateLimitError where the requests queued behind it did not.
func TestProbeRefusedInConfirmedHoldWaits(t *testing.T) {
	t.Parallel()
	script := func(t *testing.T) *script {
		return newScript(t,
			status(200, "", "X-RateLimit-Limit", "2", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1800"),
			status(429, "", "X-RateLimit-Limit", "2", "X-RateLimit-Remaining", "0", "Retry-After", "1740"),
			status(200, "ok"))
	}
	t.Run("waits out the hold", func(t *testing.T) {
		t.Parallel()
		srv := script(t)
		clk := clocktest.NewInstant(time.Time{})
		c := newTestClient(clk, pacer.WithMaxWait(time.Minute))
		resp, err := c.Get(srv.URL)
		require.NoError(t, err)
		readBody(t, resp)
		start := clk.Now()
		resp, err = c.Get(srv.URL) // probes at the max wait, refused, waits
		require.NoError(t, err)
		assert.Equal(t, "ok", readBody(t, resp))
		assert.GreaterOrEqual(t, clk.Now().Sub(start), 30*time.Minute, "the max wait, then the 29 minutes asked for")
		assert.Equal(t, int64(3), srv.hits.Load(), "one probe, refused once")
	})
	t.Run("fails at once past its deadline", func(t *testing.T) {
		t.Parallel()
		// The system clock: deadlines are real time. A max wait of
		// 100 ms bounds the first hold.
		srv := script(t)
		c := newTestClient(pacer.SystemClock(), pacer.WithMaxWait(100*time.Millisecond))
		resp, err := c.Get(srv.URL)
		require.NoError(t, err)
		readBody(t, resp)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		start := time.Now()
		_, err = c.Do(req)
		var rle *pacer.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Less(t, time.Since(start), 5*time.Second, "no sleep until the deadline")
		assert.GreaterOrEqual(t, time.Until(rle.RetryAt), 28*time.Minute, "RetryAt: when the hold ends")
		assert.Equal(t, int64(2), srv.hits.Load())
	})
}
