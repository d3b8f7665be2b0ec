package pacer_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// A configured fixed-window budget sends a burst that fills the server's
// window again as soon as the server's next window starts, with no 429:
// learning is off, so the budget alone decides. A sliding budget of the
// same size would hold the burst a full window after its first answers.
func TestFixedWindowBudgetFollowsServerWindows(t *testing.T) {
	const limit, window = 20, time.Minute
	clk := pacertest.NewScaledClock(60) // a minute per real second
	srv := pacertest.NewServer(pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: limit, Window: window, Kind: pacertest.Fixed, Scope: pacertest.ByKey, Name: "key"}},
		Headers:    pacertest.XRateLimitUnix,
		RetryAfter: pacertest.RetryAfterSeconds,
		Clock:      clk,
	})
	t.Cleanup(srv.Close)
	client := pacer.NewClient(pacer.WithClock(clk), pacer.WithoutLearning(), pacer.WithFixedWindow(limit, window))
	// Bounded by a timer, not a deadline: pacer compares its waits (on the
	// scaled clock) with the real time left before a deadline.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer time.AfterFunc(20*time.Second, cancel).Stop()
	do := func(i int) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/items/"+strconv.Itoa(i), nil)
		require.NoError(t, err)
		req.Header.Set("X-API-Key", "k1")
		return client.Do(req)
	}

	// The first answer names the end of the server's window: the budget's
	// alignment. Wait until 20 s before it.
	resp, err := do(0)
	require.NoError(t, err)
	drainClose(resp)
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	require.NoError(t, err)
	end := time.Unix(reset, 0)
	ch, stop := clk.NewTimer(end.Add(-20 * time.Second).Sub(clk.Now()))
	defer stop()
	<-ch

	// 2·limit−1 at once: limit−1 fill the first window, limit go when the
	// next one starts.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed int
	var last time.Time
	for i := range 2*limit - 1 {
		wg.Go(func() {
			resp, err := do(i + 1)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != http.StatusOK {
				failed++
			}
			if err == nil {
				drainClose(resp)
			}
			last = clk.Now()
		})
	}
	wg.Wait()
	ev := srv.Evidence()
	assert.Zero(t, failed)
	assert.Zero(t, ev.Rejected, "no 429")
	assert.Equal(t, 2*limit, ev.Accepted)
	// A sliding window would free its first slot 40 s after end.
	assert.Less(t, last.Sub(end), 20*time.Second, "the second batch waits for the server's window, not a sliding one")
}
