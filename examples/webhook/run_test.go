package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// checkNothingLost asserts what every relay run must show: each received
// event created exactly once at the API, as the API saw it.
func checkNothingLost(t *testing.T, s Summary) {
	t.Helper()
	assert.True(t, s.Verified, "embedded runs are checked against the API's evidence")
	assert.Equal(t, s.Received, s.Delivered, "delivered")
	assert.Zero(t, s.Lost, "lost")
	assert.Zero(t, s.Duplicated, "duplicated")
	assert.Zero(t, s.Failed, "failed: %v", s.FirstError)
	assert.NoError(t, s.ShutdownErr)
	assert.True(t, s.OK())
}

func TestRunRelaysBurstAtTwiceTheLimitWithoutLoss(t *testing.T) {
	var out bytes.Buffer
	s, err := Run(context.Background(), Config{Events: 120, Queue: 16, Scale: 300}, &out)
	require.NoError(t, err)
	checkNothingLost(t, s)
	assert.Equal(t, 120, s.Received)
	assert.Equal(t, 120, s.Generated.Accepted)
	assert.Zero(t, s.Generated.Refused, "the sender's retries got every event in: %v", s.Generated.Err)
	assert.Positive(t, s.Refused, "a burst at twice the limit fills a queue of 16")
	assert.Equal(t, 16, s.PeakQueue)
	assert.Zero(t, s.RateLimited, "paced calls with headroom never hit the limit")
	assert.LessOrEqual(t, s.MaxInWindow, 90, "90% headroom: at most 90 of the 100 per minute")
	assert.Contains(t, out.String(), "listening on http://127.0.0.1:")
}

// TestRunCancelMidStreamDrainsTheQueue stops the relay (as SIGINT does)
// while the generator is still sending and events are queued: the relay
// must stop accepting and still deliver every event it accepted.
func TestRunCancelMidStreamDrainsTheQueue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Events: 200, Scale: 60, OnReceive: func(n int) {
		if n == 40 {
			cancel()
		}
	}}
	s, err := Run(ctx, cfg, io.Discard)
	require.NoError(t, err)
	checkNothingLost(t, s)
	assert.Equal(t, 40, s.Received, "no event is accepted after the stop")
	assert.Positive(t, s.QueuedAtStop, "the stop came while events were queued")
	assert.Positive(t, s.Generated.Unsent, "the stop came mid-stream")
}

func TestRunServeUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Serve: true, Scale: 300, OnListen: func(base string) {
		defer cancel()
		for _, id := range []string{"a", "b", "c"} {
			resp, err := http.Post(base+"/hook", "application/json", strings.NewReader(`{"id":"`+id+`"}`))
			if assert.NoError(t, err) {
				resp.Body.Close()
				assert.Equal(t, http.StatusAccepted, resp.StatusCode)
			}
		}
		// /metrics shows the outbound calls as they are delivered.
		assert.Eventually(t, func() bool {
			return strings.Contains(scrape(t, base), `webhook_delivered_events_total 3`)
		}, 10*time.Second, 20*time.Millisecond)
		body := scrape(t, base)
		assert.Contains(t, body, `pacer_requests_sent_total{method="POST",route="POST /api/v1/subscribers",scope="127.0.0.1:`)
		assert.Contains(t, body, `pacer_queued_requests{scope="127.0.0.1:`)
		assert.Contains(t, body, "webhook_queued_events 0")
		http.DefaultClient.CloseIdleConnections()
	}}
	s, err := Run(ctx, cfg, io.Discard)
	require.NoError(t, err)
	checkNothingLost(t, s)
	assert.Equal(t, 3, s.Received)
}

// scrape returns the relay's /metrics.
func scrape(t *testing.T, base string) string {
	resp, err := http.Get(base + "/metrics")
	if !assert.NoError(t, err) {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRunRejectsIncompleteRealAPI(t *testing.T) {
	_, err := Run(context.Background(), Config{Real: demo.Real{URL: "http://127.0.0.1:1"}}, io.Discard)
	assert.Error(t, err)
}

func TestHookHandler(t *testing.T) {
	q := newQueue(1)
	h := hookHandler(q, nil)
	post := func(body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body)))
		return w
	}
	assert.Equal(t, http.StatusBadRequest, post(`{"type":"x"}`).Code, "an event needs an id")
	assert.Equal(t, http.StatusBadRequest, post(`not json`).Code)
	assert.Equal(t, http.StatusAccepted, post(`{"id":"1"}`).Code)
	full := post(`{"id":"2"}`)
	assert.Equal(t, http.StatusServiceUnavailable, full.Code, "the queue holds one event")
	assert.Equal(t, "1", full.Header().Get("Retry-After"))
	<-q.ch
	q.close()
	assert.Equal(t, http.StatusServiceUnavailable, post(`{"id":"3"}`).Code, "a closed queue accepts nothing")
	qs := q.stats()
	assert.Equal(t, []string{"1"}, qs.Received)
	assert.Equal(t, 1, qs.Refused)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hook", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
}
