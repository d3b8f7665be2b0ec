package pacerprom_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerprom"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script is a server on 127.0.0.1 answering its n-th request (0-based)
// with steps[min(n, len-1)].
func script(t *testing.T, steps ...http.HandlerFunc) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		steps[min(i, len(steps)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func status(code int, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "{}")
	}
}

// fixedScope puts every request in the scope "api", so that expected
// output does not depend on the test server's port.
func fixedScope(*http.Request) string { return "api" }

// newClient returns a client through a pacer Transport fed to c, on a
// fast clock (a 1 s Retry-After takes 1 ms).
func newClient(t *testing.T, c *pacerprom.Collector, opts ...pacer.Option) (*http.Client, *pacer.Transport) {
	opts = append([]pacer.Option{pacer.WithClock(pacertest.NewScaledClock(1000)), pacer.WithScope(fixedScope),
		pacer.WithHooks(c.Hooks(pacer.Hooks{}))}, opts...)
	tr := pacer.NewTransport(nil, opts...)
	t.Cleanup(tr.CloseIdleConnections)
	c.Observe(tr)
	return &http.Client{Transport: tr}, tr
}

func get(t *testing.T, c *http.Client, url string) error {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// Three 429s asking for a 1 s wait, then a 200.
func TestThree429sThenOK(t *testing.T) {
	limited := status(http.StatusTooManyRequests, "Retry-After", "1")
	srv := script(t, limited, limited, limited,
		status(http.StatusOK, "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "42", "X-RateLimit-Reset", "60"))
	c := pacerprom.New()
	client, _ := newClient(t, c)
	require.NoError(t, get(t, client, srv.URL+"/v1/campaigns/7"))

	const want = `
# HELP pacer_rate_limited_total Responses with status 429.
# TYPE pacer_rate_limited_total counter
pacer_rate_limited_total{method="GET",route="GET /v1/campaigns/:id",scope="api"} 3
# HELP pacer_requests_sent_total Attempts sent to the server, retries included, by status class.
# TYPE pacer_requests_sent_total counter
pacer_requests_sent_total{method="GET",route="GET /v1/campaigns/:id",scope="api",status_class="2xx"} 1
pacer_requests_sent_total{method="GET",route="GET /v1/campaigns/:id",scope="api",status_class="4xx"} 3
# HELP pacer_retries_total Failed attempts that were retried, by reason.
# TYPE pacer_retries_total counter
pacer_retries_total{method="GET",reason="rate_limited",route="GET /v1/campaigns/:id",scope="api"} 3
# HELP pacer_server_remaining_requests Requests the server last said were left in its window.
# TYPE pacer_server_remaining_requests gauge
pacer_server_remaining_requests{scope="api"} 42
# HELP pacer_server_limit_requests The limit the server last announced per window (0 if unknown).
# TYPE pacer_server_limit_requests gauge
pacer_server_limit_requests{scope="api"} 100
# HELP pacer_breaker_state State of the scope's circuit breaker: 1 for the current state.
# TYPE pacer_breaker_state gauge
pacer_breaker_state{scope="api",state="closed"} 1
pacer_breaker_state{scope="api",state="half-open"} 0
pacer_breaker_state{scope="api",state="open"} 0
# HELP pacer_in_flight_requests Requests sent and not yet answered.
# TYPE pacer_in_flight_requests gauge
pacer_in_flight_requests{scope="api"} 0
# HELP pacer_queued_requests Requests waiting for a slot in the scope's budget.
# TYPE pacer_queued_requests gauge
pacer_queued_requests{scope="api"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"pacer_rate_limited_total", "pacer_requests_sent_total", "pacer_retries_total", "pacer_server_remaining_requests",
		"pacer_server_limit_requests", "pacer_breaker_state", "pacer_in_flight_requests", "pacer_queued_requests"))

	// The three waits on the server's word, 1 s each, in the wait histogram.
	const waits = `
# HELP pacer_wait_seconds Waits for a budget slot (throttle) or before a retry (retry_after: the server's word; backoff), on pacer's clock.
# TYPE pacer_wait_seconds histogram
pacer_wait_seconds_bucket{method="GET",reason="retry_after",route="GET /v1/campaigns/:id",scope="api",le="0.5"} 0
pacer_wait_seconds_bucket{method="GET",reason="retry_after",route="GET /v1/campaigns/:id",scope="api",le="1"} 3
pacer_wait_seconds_bucket{method="GET",reason="retry_after",route="GET /v1/campaigns/:id",scope="api",le="+Inf"} 3
pacer_wait_seconds_sum{method="GET",reason="retry_after",route="GET /v1/campaigns/:id",scope="api"} 3
pacer_wait_seconds_count{method="GET",reason="retry_after",route="GET /v1/campaigns/:id",scope="api"} 3
`
	c2 := pacerprom.New(pacerprom.WithWaitBuckets(0.5, 1))
	client2, _ := newClient(t, c2, pacer.WithoutAdaptive())
	srv2 := script(t, limited, limited, limited, status(http.StatusOK))
	require.NoError(t, get(t, client2, srv2.URL+"/v1/campaigns/7"))
	require.NoError(t, testutil.CollectAndCompare(c2, strings.NewReader(waits), "pacer_wait_seconds"))
	assert.Equal(t, 1, testutil.CollectAndCount(c2, "pacer_attempt_duration_seconds"), "one histogram series")
}

// A 503 is retried after backoff; a budget of one per minute makes the
// second call wait for a slot; a server that never lets up ends in a give
// up counted by its class (its 429s cost no attempt: the refusals end the
// call when they outlast the max wait, 1.5 s: one retry, 1 s apart).
func TestBackoffThrottleAndGiveUp(t *testing.T) {
	srv := script(t, status(http.StatusServiceUnavailable), status(http.StatusOK), status(http.StatusOK),
		status(http.StatusTooManyRequests, "Retry-After", "1"))
	c := pacerprom.New()
	// One slot a minute (60 ms of real time on the ×1000 clock): the second
	// call waits for it however slow the machine.
	client, _ := newClient(t, c, pacer.WithBudget(1, time.Minute), pacer.WithBackoff(10*time.Millisecond, 20*time.Millisecond, pacer.FullJitter),
		pacer.WithMaxAttempts(2), pacer.WithMaxWait(1500*time.Millisecond))
	require.NoError(t, get(t, client, srv.URL+"/items"))
	require.NoError(t, get(t, client, srv.URL+"/items"))
	err := get(t, client, srv.URL+"/items")
	require.True(t, errors.Is(err, pacer.ErrRateLimited), "%v", err)

	assert.Equal(t, 1, testutil.CollectAndCount(c, "pacer_give_ups_total"))
	const want = `
# HELP pacer_give_ups_total Requests that failed for good, by error class.
# TYPE pacer_give_ups_total counter
pacer_give_ups_total{error="rate_limited",method="GET",route="GET /items",scope="api"} 1
# HELP pacer_retries_total Failed attempts that were retried, by reason.
# TYPE pacer_retries_total counter
pacer_retries_total{method="GET",reason="rate_limited",route="GET /items",scope="api"} 1
pacer_retries_total{method="GET",reason="unavailable",route="GET /items",scope="api"} 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "pacer_give_ups_total", "pacer_retries_total"))
	reasons := map[string]bool{}
	mfs, err := gather(c)
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "pacer_wait_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					reasons[l.GetValue()] = true
				}
			}
		}
	}
	assert.Equal(t, map[string]bool{"backoff": true, "throttle": true, "retry_after": true}, reasons)
}

// Requests carry an API key in a header (the budget scope) and another in
// the query string; neither may appear in the scraped output.
func TestNoSecretInScrape(t *testing.T) {
	const headerKey, queryKey = "sk_live_HEADER0123456789", "sk_live_QUERY0123456789"
	srv := script(t, status(http.StatusTooManyRequests, "Retry-After", "1"), status(http.StatusOK))
	c := pacerprom.New()
	tr := pacer.NewTransport(nil, pacer.WithClock(pacertest.NewScaledClock(1000)),
		pacer.WithScope(pacer.ScopeByHeader("X-API-Key")), pacer.WithHooks(c.Hooks(pacer.Hooks{})))
	defer tr.CloseIdleConnections()
	c.Observe(tr)
	client := &http.Client{Transport: tr}
	for _, target := range []string{srv.URL, "http://127.0.0.1:1"} { // the second refuses connections
		req, err := http.NewRequest(http.MethodGet, target+"/v1/leads?api_key="+queryKey, nil)
		require.NoError(t, err)
		req.Header.Set("X-API-Key", headerKey)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	body := scrape(t, c)
	assert.Contains(t, body, `pacer_requests_sent_total{method="GET",route="GET /v1/leads",scope=`)
	assert.Contains(t, body, `error="transport"`)
	assert.NotContains(t, body, headerKey)
	assert.NotContains(t, body, queryKey)
	assert.NotContains(t, body, "api_key")
}

// scrape serves c through promhttp on 127.0.0.1 and returns one scrape.
func scrape(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	http.DefaultClient.CloseIdleConnections()
	return string(b)
}

func gather(c prometheus.Collector) ([]*dto.MetricFamily, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return reg.Gather()
}

// Scopes and routes past their bounds read "_OTHER".
func TestCardinalityBound(t *testing.T) {
	srv := script(t, status(http.StatusOK))
	c := pacerprom.New(pacerprom.WithMaxRoutes(2), pacerprom.WithMaxScopes(1))
	tr := pacer.NewTransport(nil, pacer.WithScope(pacer.ScopeByHeader("X-API-Key")), pacer.WithHooks(c.Hooks(pacer.Hooks{})))
	defer tr.CloseIdleConnections()
	c.Observe(tr)
	client := &http.Client{Transport: tr}
	for i, p := range []string{"/users/alice", "/users/bob", "/users/carol", "/users/dave"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		req.Header.Set("X-API-Key", strings.Repeat("k", i+1))
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	body := scrape(t, c)
	assert.Contains(t, body, `pacer_requests_sent_total{method="GET",route="_OTHER",scope="_OTHER",status_class="2xx"} 2`)
	assert.Contains(t, body, `pacer_queued_requests{scope="_OTHER"} 0`, "the gauges of three scopes summed")
	assert.Equal(t, 2, strings.Count(body, "pacer_queued_requests{"), "the first scope and _OTHER")
}

// A server failing every request opens the scope's circuit: the state
// gauge and the transition counter say so, and the refused call is a give
// up of class circuit_open.
func TestBreakerOpens(t *testing.T) {
	srv := script(t, status(http.StatusInternalServerError))
	c := pacerprom.New()
	client, _ := newClient(t, c, pacer.WithMaxAttempts(1),
		pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 2, CoolDown: time.Hour}))
	for range 2 {
		require.NoError(t, get(t, client, srv.URL+"/x"))
	}
	err := get(t, client, srv.URL+"/x")
	require.True(t, errors.Is(err, pacer.ErrCircuitOpen), "%v", err)
	const want = `
# HELP pacer_breaker_state State of the scope's circuit breaker: 1 for the current state.
# TYPE pacer_breaker_state gauge
pacer_breaker_state{scope="api",state="closed"} 0
pacer_breaker_state{scope="api",state="half-open"} 0
pacer_breaker_state{scope="api",state="open"} 1
# HELP pacer_breaker_transitions_total Changes of a scope's circuit breaker, by the state entered.
# TYPE pacer_breaker_transitions_total counter
pacer_breaker_transitions_total{scope="api",state="open"} 1
# HELP pacer_give_ups_total Requests that failed for good, by error class.
# TYPE pacer_give_ups_total counter
pacer_give_ups_total{error="500",method="GET",route="GET /x",scope="api"} 2
pacer_give_ups_total{error="circuit_open",method="GET",route="GET /x",scope="api"} 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"pacer_breaker_state", "pacer_breaker_transitions_total", "pacer_give_ups_total"))
}
