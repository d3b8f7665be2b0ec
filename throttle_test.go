package pacer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startScaled starts a pacertest server whose clock runs scale times faster
// than real time; the returned options put a client on the same clock.
func startScaled(t *testing.T, cfg pacertest.Config, scale float64) (*pacertest.Server, []pacer.Option) {
	t.Helper()
	clk := pacertest.NewScaledClock(scale)
	cfg.Clock = clk
	srv := pacertest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv, []pacer.Option{pacer.WithClock(clk)}
}

// hammer sends n requests made by mk through client from workers goroutines
// and returns the number of errors and non-2xx responses.
func hammer(t *testing.T, client *http.Client, workers, n int, mk func(i int) *http.Request) (failures int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				resp, err := client.Do(mk(i))
				ok := err == nil && resp.StatusCode < 300
				if err == nil {
					drainClose(resp)
				}
				if !ok {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return failures
}

func drainClose(resp *http.Response) {
	buf := make([]byte, 512)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			break
		}
	}
	resp.Body.Close()
}

func create(base, path, key string) func(int) *http.Request {
	return func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(fmt.Sprintf(`{"id":"rec-%d"}`, i)))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		return req
	}
}

func get(base, path, key string) func(int) *http.Request {
	return func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+fmt.Sprintf(path, i), nil)
		req.Header.Set("X-API-Key", key)
		return req
	}
}

func slidingServer(limit int, window time.Duration) pacertest.Config {
	return pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: limit, Window: window, Kind: pacertest.Sliding, Scope: pacertest.ByKey, Name: "key"}},
		Headers:    pacertest.XRateLimitUnixMs,
		RetryAfter: pacertest.RetryAfterSeconds,
	}
}

func TestConfiguredBudgetGetsNo429(t *testing.T) {
	t.Parallel()
	srv, opts := startScaled(t, slidingServer(40, time.Minute), 120)
	client := pacer.NewClient(append(opts, pacer.WithBudget(40, time.Minute), pacer.WithIdempotencyKeys())...)
	const n = 160 // four windows' worth
	failures := hammer(t, client, 8, n, create(srv.URL, "/items", "k1"))
	ev := srv.Evidence()
	assert.Zero(t, failures)
	assert.Zero(t, ev.Rejected, "no 429")
	assert.Equal(t, n, ev.Created)
	assert.Empty(t, ev.CreatedTwice)
	assert.LessOrEqual(t, ev.MaxInWindow("key"), 40)
}

func TestUnconfiguredClientLearnsFromHeaders(t *testing.T) {
	t.Parallel()
	styles := map[string]pacertest.Config{
		"sliding, reset in ms": slidingServer(30, time.Minute),
		"fixed, reset in unix seconds": {
			Limits:     []pacertest.Limit{{Requests: 30, Window: time.Minute, Kind: pacertest.Fixed, Scope: pacertest.ByKey, Name: "key"}},
			Headers:    pacertest.XRateLimitUnix,
			RetryAfter: pacertest.RetryAfterSeconds,
		},
		"IETF fields": {
			Limits:     []pacertest.Limit{{Requests: 30, Window: time.Minute, Kind: pacertest.Sliding, Scope: pacertest.ByKey, Name: "key"}},
			Headers:    pacertest.IETF,
			RetryAfter: pacertest.RetryAfterSeconds,
		},
	}
	for name, cfg := range styles {
		t.Run(name, func(t *testing.T) {
			srv, opts := startScaled(t, cfg, 120)
			client := pacer.NewClient(opts...) // no budget: the headers alone
			failures := hammer(t, client, 8, 100, get(srv.URL, "/items/%d", "k1"))
			ev := srv.Evidence()
			assert.Zero(t, failures)
			assert.Zero(t, ev.Rejected, "no 429 from the headers alone")
			assert.Equal(t, 100, ev.Accepted)
		})
	}
}

func TestDualWindowsBothHold(t *testing.T) {
	t.Parallel()
	cfg := pacertest.OrgMinuteAndHour()
	srv, opts := startScaled(t, cfg, 3600) // an hour per real second
	client := pacer.NewClient(append(opts, pacer.WithBudget(100, time.Minute), pacer.WithBudget(1000, time.Hour),
		pacer.WithIdempotencyKeys())...)
	const n = 1300 // past the hourly 1000
	failures := hammer(t, client, 8, n, create(srv.URL, "/api/v1/contacts", "k1"))
	ev := srv.Evidence()
	assert.Zero(t, failures)
	assert.Zero(t, ev.Rejected)
	assert.Equal(t, n, ev.Created)
	for _, w := range ev.Windows {
		assert.LessOrEqual(t, w.MaxInWindow, w.Limit.Requests, w.Name)
	}
}

// campaignsTable is the per-endpoint table of vendor-docs/campaigns-api.txt.
var campaignsTable = []pacer.Option{
	pacer.WithRouteBudget("GET /v1/analytics", 30, time.Minute),
	pacer.WithRouteBudget("GET /v1/analytics/daily", 30, time.Minute),
	pacer.WithRouteBudget("GET /v1/analytics/by-user", 30, time.Minute),
	pacer.WithRouteBudget("POST /v1/leads/add_to_campaign", 20, time.Minute),
	pacer.WithRouteBudget("GET /v1/campaigns", 60, time.Minute),
	pacer.WithRouteBudget("GET /v1/campaigns/:id", 120, time.Minute),
	pacer.WithRouteBudget("GET /v1/campaigns/:id/statistics", 30, time.Minute),
	pacer.WithRouteBudget("GET /v1/users", 60, time.Minute),
	pacer.WithRouteBudget("GET /v1/users/:id", 60, time.Minute),
	pacer.WithRouteBudget("GET /v1/teams/me", 60, time.Minute),
	pacer.WithBudget(60, time.Minute), // the default pool
	pacer.WithScope(pacer.ScopeByHeader("X-API-Key")),
}

func TestPerEndpointTableWithoutHeadOfLineBlocking(t *testing.T) {
	t.Parallel()
	srv, opts := startScaled(t, pacertest.PerEndpointWindows(), 60)
	checkPerEndpoint(t, srv, pacer.NewClient(append(opts, campaignsTable...)...), 100, 120)
}

// TestUnconfiguredClientLearnsPerEndpointLimits: the same per-endpoint API
// with no table at all. The answers name each endpoint's limit, so each
// route learns its own pool: once both endpoints have answered, the tight
// one is held to its limit, the generous one does not wait behind it, and
// no request gets a 429. (Until a route's first answer, it waits for every
// pool: see TestPoolsUnseenRouteWaitsForEveryPool.)
func TestUnconfiguredClientLearnsPerEndpointLimits(t *testing.T) {
	t.Parallel()
	srv, opts := startScaled(t, pacertest.PerEndpointWindows(), 60)
	client := pacer.NewClient(opts...)
	require.Zero(t, hammer(t, client, 1, 1, get(srv.URL, "/v1/campaigns/%d", "k1")))
	require.Zero(t, hammer(t, client, 1, 1, create(srv.URL, "/v1/leads/add_to_campaign", "k1")))
	checkPerEndpoint(t, srv, client, 99, 119)
}

// checkPerEndpoint sends tight creates to the campaigns API's 20-a-minute
// endpoint, five windows of work with what was sent before (it queues for
// ~4 minutes), and meanwhile generous GETs to its 120-a-minute one, one
// window of work: those must not wait behind the tight ones. No 429, and
// every window held.
func checkPerEndpoint(t *testing.T, srv *pacertest.Server, client *http.Client, tight, generous int) {
	t.Helper()
	clk := srv.Clock()
	tightDone := make(chan int, 1)
	go func() {
		tightDone <- hammer(t, client, 8, tight, create(srv.URL, "/v1/leads/add_to_campaign", "k1"))
	}()
	start := clk.Now()
	failures := hammer(t, client, 8, generous, get(srv.URL, "/v1/campaigns/%d", "k1"))
	assert.Zero(t, failures)
	assert.Less(t, clk.Now().Sub(start), 45*time.Second, "the generous endpoint did not wait behind the tight one")

	assert.Zero(t, <-tightDone)
	assert.Greater(t, clk.Now().Sub(start), 4*time.Minute, "the tight endpoint was held to 20 per minute")
	ev := srv.Evidence()
	assert.Zero(t, ev.Rejected, "no 429")
	for _, w := range ev.Windows {
		assert.LessOrEqual(t, w.MaxInWindow, w.Limit.Requests, w.Name)
	}
}

func TestCancelledWaitersLeaveNoSlot(t *testing.T) {
	srv, opts := startScaled(t, slidingServer(5, time.Hour), 1)
	tr := pacer.NewTransport(nil, append(opts, pacer.WithBudget(5, time.Hour))...)
	client := &http.Client{Transport: tr}
	// Use the whole budget: every later request must wait an hour.
	require.Zero(t, hammer(t, client, 5, 5, get(srv.URL, "/items/%d", "k1")))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			req := get(srv.URL, "/items/%d", "k1")(i).WithContext(ctx)
			_, err := client.Do(req)
			errs <- err
		})
	}
	require.Eventually(t, func() bool { return tr.Stats().Scopes[scopeOf(tr)].Queued == 20 }, 10*time.Second, time.Millisecond)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.ErrorIs(t, err, context.Canceled)
	}
	s := tr.Stats().Scopes[scopeOf(tr)]
	assert.Zero(t, s.Queued)
	assert.Equal(t, int64(5), s.Sent, "cancelled waiters sent nothing")
	assert.Equal(t, 5, srv.Evidence().Accepted)
}

// scopeOf returns the only scope a transport has seen.
func scopeOf(tr *pacer.Transport) string {
	for k := range tr.Stats().Scopes {
		return k
	}
	return ""
}

func TestAdaptiveModeSettlesUnderUnknownLimit(t *testing.T) {
	t.Parallel()
	cfg := pacertest.Config{ // a bare 429, no headers, no Retry-After
		Limits:  []pacertest.Limit{{Requests: 50, Window: 10 * time.Second, Scope: pacertest.ByIP, Name: "ip"}},
		Body429: pacertest.BodyEmpty,
	}
	// rejectedAfter counts the 429s of the requests that arrived later than
	// settle after the first one.
	rejectedAfter := func(ev pacertest.Evidence, settle time.Duration) (n int) {
		for _, b := range ev.Series {
			if b.Start.Sub(ev.Series[0].Start) >= settle {
				n += b.Rejected
			}
		}
		return n
	}
	run := func(adaptive bool) pacertest.Evidence {
		srv, opts := startScaled(t, cfg, 50)
		if !adaptive {
			opts = append(opts, pacer.WithoutAdaptive())
		}
		client := pacer.NewClient(append(opts, pacer.WithMaxAttempts(50),
			pacer.WithBackoff(time.Second, 10*time.Second, pacer.FullJitter))...)
		require.Zero(t, hammer(t, client, 8, 200, get(srv.URL, "/items/%d", "")), "every request succeeds in the end")
		return srv.Evidence()
	}
	on, off := run(true), run(false)
	t.Logf("429s: adaptive %d of %d sent (%d after 2 windows), off %d of %d (%d after 2 windows)",
		on.Rejected, on.Accepted+on.Rejected, rejectedAfter(on, 20*time.Second),
		off.Rejected, off.Accepted+off.Rejected, rejectedAfter(off, 20*time.Second))
	assert.LessOrEqual(t, rejectedAfter(on, 20*time.Second), 5, "adaptive mode settles: next to no 429 once it has learned")
	assert.Greater(t, rejectedAfter(off, 20*time.Second), rejectedAfter(on, 20*time.Second)+3,
		"without it, 429s go on (the bare-429 hold alone spaces them out)")
}

func TestQueueLimitRefusesBeyondTheBound(t *testing.T) {
	srv, opts := startScaled(t, slidingServer(100, time.Hour), 1)
	tr := pacer.NewTransport(nil, append(opts, pacer.WithBudget(1, time.Hour), pacer.WithQueueLimit(2))...)
	client := &http.Client{Transport: tr}
	require.Zero(t, hammer(t, client, 1, 1, get(srv.URL, "/items/%d", "k1"))) // the hour's one slot

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	for i := range 2 { // two wait: the queue is full
		go func() {
			_, err := client.Do(get(srv.URL, "/items/%d", "k1")(i).WithContext(ctx))
			done <- err
		}()
	}
	require.Eventually(t, func() bool { return tr.Stats().Scopes[scopeOf(tr)].Queued == 2 }, 10*time.Second, time.Millisecond)
	_, err := client.Do(get(srv.URL, "/items/%d", "k1")(3))
	assert.ErrorIs(t, err, pacer.ErrQueueFull)
	cancel()
	for range 2 {
		assert.ErrorIs(t, <-done, context.Canceled)
	}
	assert.Equal(t, 1, srv.Evidence().Accepted)
}
