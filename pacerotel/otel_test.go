package pacerotel_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerotel"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func eventAttr(e sdktrace.Event, key string) attribute.Value {
	for _, kv := range e.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// Three 429s asking for a 1 s wait, then a 200: one logical call, four
// attempts, three retries waiting on the server's word.
func TestThree429sThenOK(t *testing.T) {
	limited := status(http.StatusTooManyRequests, "Retry-After", "1")
	srv := script(t, limited, limited, limited,
		status(http.StatusOK, "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "42", "X-RateLimit-Reset", "60"))
	r := newRig(t, nil)
	code, err := r.get(t, srv.URL+"/v1/campaigns/7")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)

	rm := r.collect(t)
	route := map[string]string{"pacer.route": "GET /v1/campaigns/:id", "http.request.method": "GET"}
	sent := find(t, rm, "pacer.requests.sent")
	assert.Equal(t, int64(4), sum(t, sent, route))
	assert.Equal(t, int64(3), sum(t, sent, map[string]string{"pacer.status_class": "4xx"}))
	assert.Equal(t, int64(1), sum(t, sent, map[string]string{"pacer.status_class": "2xx"}))
	assert.Equal(t, int64(3), sum(t, find(t, rm, "pacer.rate_limited"), route))
	assert.Equal(t, int64(3), sum(t, find(t, rm, "pacer.retries"), map[string]string{"pacer.retry.reason": "rate_limited"}))
	n, secs := hist(t, find(t, rm, "pacer.wait.duration"), map[string]string{"pacer.wait.reason": "retry_after"})
	assert.Equal(t, uint64(3), n)
	assert.InDelta(t, 3.0, secs, 1e-9, "three waits of the server's 1 s")
	n, _ = hist(t, find(t, rm, "pacer.wait.duration"), map[string]string{"pacer.wait.reason": "backoff"})
	assert.Zero(t, n)
	n, _ = hist(t, find(t, rm, "http.client.request.duration"), map[string]string{
		"pacer.route": "GET /v1/campaigns/:id", "http.request.method": "GET", "server.address": "127.0.0.1"})
	assert.Equal(t, uint64(1), n, "one logical call")
	assert.Equal(t, int64(42), sum(t, find(t, rm, "pacer.server.remaining"), nil))
	assert.Equal(t, int64(100), sum(t, find(t, rm, "pacer.server.limit"), nil))
	assert.Equal(t, int64(0), sum(t, find(t, rm, "pacer.requests.in_flight"), nil))
	assert.Equal(t, int64(0), sum(t, find(t, rm, "pacer.breaker.state"), nil))

	spans := r.spans.Ended()
	require.Len(t, spans, 1, "one span per logical call")
	s := spans[0]
	assert.Equal(t, "GET /v1/campaigns/:id", s.Name())
	assert.Equal(t, codes.Unset, s.Status().Code)
	var attempts, waits []sdktrace.Event
	for _, e := range s.Events() {
		switch e.Name {
		case "pacer.attempt":
			attempts = append(attempts, e)
		case "pacer.wait":
			if eventAttr(e, "pacer.wait.reason").AsString() == "retry_after" {
				waits = append(waits, e)
			}
		}
	}
	require.Len(t, attempts, 4)
	require.Len(t, waits, 3, "(a bare 429 also holds the scope: the probe may wait for a slot)")
	for i, e := range attempts {
		assert.Equal(t, int64(i+1), eventAttr(e, "pacer.attempt").AsInt64())
	}
	assert.Equal(t, int64(429), eventAttr(attempts[0], "http.response.status_code").AsInt64())
	assert.Equal(t, int64(200), eventAttr(attempts[3], "http.response.status_code").AsInt64())
	assert.Equal(t, int64(42), eventAttr(attempts[3], "pacer.server.remaining").AsInt64())
	for _, e := range waits {
		assert.Equal(t, "retry_after", eventAttr(e, "pacer.wait.reason").AsString())
		assert.Equal(t, 1.0, eventAttr(e, "pacer.wait.duration").AsFloat64())
	}
	spanAttrs := attribute.NewSet(s.Attributes()...)
	assert.True(t, has(spanAttrs, map[string]string{"pacer.route": "GET /v1/campaigns/:id", "http.response.status_code": "200",
		"http.request.resend_count": "3", "server.address": "127.0.0.1"}), "%v", s.Attributes())
}

// A 503 without a hint is retried after backoff; a budget of one request
// per minute makes the second call queue behind the first (a throttle
// wait).
func TestBackoffAndThrottleWaits(t *testing.T) {
	srv := script(t, status(http.StatusServiceUnavailable), status(http.StatusOK))
	// One slot a minute: 60 ms of real time on the rig's clock (×1000), so
	// the second call waits for it however slow the machine (with a 1 s
	// window, 1 ms of real time, a loaded machine could find it free).
	r := newRig(t, nil, pacer.WithBudget(1, time.Minute), pacer.WithBackoff(10*time.Millisecond, 20*time.Millisecond, pacer.FullJitter))
	for range 2 {
		code, err := r.get(t, srv.URL+"/items")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
	}
	rm := r.collect(t)
	assert.Equal(t, int64(1), sum(t, find(t, rm, "pacer.retries"), map[string]string{"pacer.retry.reason": "unavailable"}))
	waits := find(t, rm, "pacer.wait.duration")
	n, _ := hist(t, waits, map[string]string{"pacer.wait.reason": "backoff"})
	assert.Equal(t, uint64(1), n)
	n, secs := hist(t, waits, map[string]string{"pacer.wait.reason": "throttle"})
	assert.Equal(t, uint64(1), n, "the second call waited for the one slot per minute (a 503 gives its slot back)")
	assert.Greater(t, secs, 30.0)
	n, _ = hist(t, find(t, rm, "http.client.request.duration"), map[string]string{"pacer.route": "GET /items"})
	assert.Equal(t, uint64(2), n)

	spans := r.spans.Ended()
	require.Len(t, spans, 2)
	reasons := func(s sdktrace.ReadOnlySpan) []string {
		var out []string
		for _, e := range s.Events() {
			if e.Name == "pacer.wait" {
				out = append(out, eventAttr(e, "pacer.wait.reason").AsString())
			}
		}
		return out
	}
	assert.Equal(t, []string{"backoff"}, reasons(spans[0]), "why the first call was slow")
	assert.Equal(t, []string{"throttle"}, reasons(spans[1]))
}

// A server that never lets up: the call gives up with a *RateLimitError,
// counted by its class, and the span ends in error.
func TestGiveUp(t *testing.T) {
	srv := script(t, status(http.StatusTooManyRequests, "Retry-After", "1"))
	r := newRig(t, nil, pacer.WithMaxAttempts(2))
	_, err := r.get(t, srv.URL+"/v1/leads")
	require.True(t, errors.Is(err, pacer.ErrRateLimited), "%v", err)
	rm := r.collect(t)
	assert.Equal(t, int64(1), sum(t, find(t, rm, "pacer.give_ups"), map[string]string{"error.type": "rate_limited"}))
	n, _ := hist(t, find(t, rm, "http.client.request.duration"), map[string]string{"error.type": "rate_limited"})
	assert.Equal(t, uint64(1), n)
	spans := r.spans.Ended()
	require.Len(t, spans, 1)
	assert.Equal(t, codes.Error, spans[0].Status().Code)
	assert.Equal(t, "rate_limited", spans[0].Status().Description)
}

// Hooks chains the caller's own hooks after its own.
func TestHooksChain(t *testing.T) {
	srv := script(t, status(http.StatusTooManyRequests, "Retry-After", "1"), status(http.StatusOK))
	var attempts, retries int
	_, in := newBoundedInstrumentation(t, pacerotel.DefaultMaxRoutes)
	tr := pacer.NewTransport(nil, pacer.WithClock(pacertest.NewScaledClock(1000)), pacer.WithHooks(in.Hooks(pacer.Hooks{
		OnAttempt: func(pacer.AttemptEvent) { attempts++ },
		OnRetry:   func(pacer.RetryEvent) { retries++ },
	})))
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: in.Wrap(tr)}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 2, attempts)
	assert.Equal(t, 1, retries)
}

// Routes past the bound read "_OTHER": a path of names cannot grow the
// series without bound.
func TestRouteCardinalityBound(t *testing.T) {
	srv := script(t, status(http.StatusOK))
	reader, in := newBoundedInstrumentation(t, 2)
	tr := pacer.NewTransport(nil, pacer.WithHooks(in.Hooks(pacer.Hooks{})))
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: in.Wrap(tr)}
	for _, p := range []string{"/users/alice", "/users/bob", "/users/carol", "/users/dave"} {
		resp, err := c.Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	rm := collect(t, reader)
	sent := find(t, rm, "pacer.requests.sent")
	assert.Equal(t, int64(2), sum(t, sent, map[string]string{"pacer.route": "_OTHER"}))
	assert.Equal(t, int64(1), sum(t, sent, map[string]string{"pacer.route": "GET /users/alice"}))
}

// A server failing every request opens the scope's circuit: the state
// gauge and the transition counter say so, and the refused call is a give
// up of class circuit_open.
func TestBreakerOpens(t *testing.T) {
	srv := script(t, status(http.StatusInternalServerError))
	r := newRig(t, nil, pacer.WithMaxAttempts(1), pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 2, CoolDown: time.Hour}))
	for range 2 {
		code, err := r.get(t, srv.URL+"/x")
		require.NoError(t, err)
		require.Equal(t, http.StatusInternalServerError, code)
	}
	_, err := r.get(t, srv.URL+"/x")
	require.True(t, errors.Is(err, pacer.ErrCircuitOpen), "%v", err)
	rm := r.collect(t)
	assert.Equal(t, int64(1), sum(t, find(t, rm, "pacer.breaker.state"), nil), "1: open")
	assert.Equal(t, int64(1), sum(t, find(t, rm, "pacer.breaker.transitions"), map[string]string{"pacer.breaker.state": "open"}))
	giveUps := find(t, rm, "pacer.give_ups")
	assert.Equal(t, int64(1), sum(t, giveUps, map[string]string{"error.type": "circuit_open"}))
	assert.Equal(t, int64(2), sum(t, giveUps, map[string]string{"error.type": "500"}))
	n, _ := hist(t, find(t, rm, "http.client.request.duration"), map[string]string{"error.type": "circuit_open"})
	assert.Equal(t, uint64(1), n)
}
