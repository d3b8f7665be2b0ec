package pacer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// half makes full jitter deterministic: every wait is half the delay.
func half() float64 { return 0.5 }

func newTestClient(clk pacer.Clock, opts ...pacer.Option) *http.Client {
	return pacer.NewClient(append([]pacer.Option{pacer.WithClock(clk), pacer.WithRandom(half)}, opts...)...)
}

func TestServerWaitWins(t *testing.T) {
	epoch := clocktest.Epoch
	cases := []struct {
		name string
		step http.HandlerFunc
		want time.Duration
	}{
		{"retry-after seconds", status(429, "", "Retry-After", "7"), 7 * time.Second},
		{"retry-after http-date", status(429, "", "Retry-After", epoch.Add(9*time.Second).Format(http.TimeFormat), "Date", epoch.Format(http.TimeFormat)), 9 * time.Second},
		{"503 retry-after", status(503, "", "Retry-After", "3"), 3 * time.Second},
		{"reset of exhausted window", status(429, "", "X-RateLimit-Limit", "10", "X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "12"), 12 * time.Second},
		{"json body hint", status(429, `{"error":{"details":{"retryAfter":4}}}`, "Content-Type", "application/json"), 4 * time.Second},
		{"503 without hint: backoff", status(503, ""), 250 * time.Millisecond / 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScript(t, tc.step, status(200, "done"))
			clk := clocktest.NewInstant(epoch)
			resp, err := newTestClient(clk).Get(srv.URL)
			require.NoError(t, err)
			assert.Equal(t, "done", readBody(t, resp))
			assert.Equal(t, int64(2), srv.hits.Load())
			assert.Equal(t, []time.Duration{tc.want}, clk.Waits())
		})
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	srv := newScript(t, status(500, ""))
	clk := clocktest.NewInstant(time.Time{})
	c := newTestClient(clk, pacer.WithMaxAttempts(6), pacer.WithBackoff(time.Second, 5*time.Second, pacer.NoJitter))
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 500, resp.StatusCode, "the last response is handed back")
	readBody(t, resp)
	assert.Equal(t, int64(6), srv.hits.Load())
	s := time.Second
	assert.Equal(t, []time.Duration{s, 2 * s, 4 * s, 5 * s, 5 * s}, clk.Waits())
}

func TestAbsurdRetryAfterReturnsAtOnce(t *testing.T) {
	srv := newScript(t, status(429, "slow down", "Retry-After", "999999999"))
	clk := clocktest.NewInstant(time.Time{})
	_, err := newTestClient(clk, pacer.WithMaxWait(time.Minute)).Get(srv.URL)
	var rle *pacer.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.ErrorIs(t, err, pacer.ErrRateLimited)
	assert.Equal(t, int64(1), srv.hits.Load())
	assert.Empty(t, clk.Waits(), "no sleep at all")
	assert.Equal(t, 429, rle.StatusCode)
	assert.Equal(t, 1, rle.Attempts)
	assert.Equal(t, 999999999*time.Second, rle.RetryAfter, "the server's word, not a cap")
	assert.Equal(t, clk.Now().Add(999999999*time.Second), rle.RetryAt)
}

func TestDeadlineNeverSleptPast(t *testing.T) {
	srv := newScript(t, status(429, "", "Retry-After", "30"), status(200, ""))
	clk := clocktest.NewInstant(time.Time{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := newTestClient(clk).Do(req)
	var rle *pacer.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 30*time.Second, rle.RetryAfter)
	assert.Equal(t, clk.Now().Add(30*time.Second), rle.RetryAt)
	assert.Empty(t, clk.Waits())
	assert.Equal(t, int64(1), srv.hits.Load())
}

func TestAttemptsRunOut(t *testing.T) {
	srv := newScript(t, status(500, "oops"))
	resp, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(3)).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "oops", readBody(t, resp), "the last answer, body intact")
	assert.Equal(t, int64(3), srv.hits.Load())
}

// A 429 costs no attempt (the server did nothing): the request is sent
// again as the server allows for as long as the refusals last no longer
// than the max wait, then ends with a *RateLimitError.
func TestRefusalsRetriedWithinMaxWait(t *testing.T) {
	srv := newScript(t, status(429, "", "Retry-After", "1", "X-RateLimit-Limit", "5", "X-RateLimit-Remaining", "0"))
	clk := clocktest.NewInstant(time.Time{})
	start := clk.Now()
	_, err := newTestClient(clk, pacer.WithMaxAttempts(3), pacer.WithMaxWait(10*time.Second)).Get(srv.URL)
	var rle *pacer.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.Equal(t, 11, rle.Attempts, "the first refusal and ten more, 1 s apart")
	assert.Equal(t, 5, rle.RateLimit.Limit)
	assert.Equal(t, int64(11), srv.hits.Load())
	assert.LessOrEqual(t, clk.Now().Sub(start), 10*time.Second)

	after := newScript(t, status(429, "", "Retry-After", "1"), status(429, "", "Retry-After", "1"), status(200, "ok"))
	resp, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(2)).Get(after.URL)
	require.NoError(t, err, "a request refused twice is not lost")
	assert.Equal(t, "ok", readBody(t, resp))

	once := newScript(t, status(429, "", "Retry-After", "1"), status(200, "ok"))
	_, err = newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(1)).Get(once.URL)
	require.ErrorIs(t, err, pacer.ErrRateLimited, "WithMaxAttempts(1): no retry at all")
	assert.Equal(t, int64(1), once.hits.Load())
}

func TestRateLimitResponsesOption(t *testing.T) {
	srv := newScript(t, status(429, `{"message":"Too many requests"}`, "Retry-After", "1"))
	clk := clocktest.NewInstant(time.Time{})
	resp, err := newTestClient(clk, pacer.WithMaxAttempts(2), pacer.WithRateLimitResponses()).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, `{"message":"Too many requests"}`, readBody(t, resp), "body intact")
}

func TestRetrySafety(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		key     bool
		code    int
		wantHit int64
	}{
		{"429 POST retried", http.MethodPost, false, 429, 2},
		{"503 POST retried", http.MethodPost, false, 503, 2},
		{"500 GET retried", http.MethodGet, false, 500, 2},
		{"502 PUT retried", http.MethodPut, false, 502, 2},
		{"500 POST not retried", http.MethodPost, false, 500, 1},
		{"500 PATCH not retried", http.MethodPatch, false, 500, 1},
		{"500 POST with key retried", http.MethodPost, true, 500, 2},
		{"501 GET not retried", http.MethodGet, false, 501, 1},
		{"404 GET not retried", http.MethodGet, false, 404, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScript(t, status(tc.code, ""), status(200, ""))
			req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader(`{"id":"a"}`))
			if tc.key {
				req.Header.Set(pacer.IdempotencyKeyHeader, "k1")
			}
			resp, err := newTestClient(clocktest.NewInstant(time.Time{})).Do(req)
			require.NoError(t, err)
			readBody(t, resp)
			assert.Equal(t, tc.wantHit, srv.hits.Load())
		})
	}
}

// hangUp reads the request, then closes the connection without answering:
// the server may have acted on it.
func hangUp(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestLostConnectionAfterSend(t *testing.T) {
	t.Run("POST is not retried", func(t *testing.T) {
		srv := newScript(t, hangUp, status(201, ""))
		_, err := newTestClient(clocktest.NewInstant(time.Time{})).Post(srv.URL, "application/json", strings.NewReader("{}"))
		require.ErrorIs(t, err, pacer.ErrOutcomeUnknown, "the caller learns the server may have acted")
		assert.Equal(t, int64(1), srv.hits.Load(), "a retry could create a duplicate")
		var oue *pacer.OutcomeUnknownError
		require.ErrorAs(t, err, &oue)
		assert.Equal(t, http.MethodPost, oue.Method)
		assert.Equal(t, 1, oue.Attempts)
		assert.ErrorIs(t, err, io.EOF, "the transport error is reachable")
		var ue *url.Error
		require.ErrorAs(t, err, &ue, "http.Client wraps it once")
		assert.NotErrorAs(t, ue.Err, new(*url.Error), "pacer does not wrap it twice")
	})
	t.Run("POST with idempotency keys is retried with the same key", func(t *testing.T) {
		var keys []string
		record := func(h http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				keys = append(keys, r.Header.Get(pacer.IdempotencyKeyHeader))
				h(w, r)
			}
		}
		srv := newScript(t, record(hangUp), record(status(201, "")))
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
		resp, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithIdempotencyKeys()).Do(req)
		require.NoError(t, err)
		readBody(t, resp)
		require.Len(t, keys, 2)
		assert.NotEmpty(t, keys[0])
		assert.Equal(t, keys[0], keys[1])
		assert.Empty(t, req.Header.Get(pacer.IdempotencyKeyHeader), "the caller's request is not modified")
	})
	t.Run("POST with a key that ends without an answer for it is uncertain", func(t *testing.T) {
		var keys []string
		record := func(h http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				keys = append(keys, r.Header.Get(pacer.IdempotencyKeyHeader))
				h(w, r)
			}
		}
		srv := newScript(t, record(hangUp), record(status(503, "")), record(status(503, "")))
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
		_, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithIdempotencyKeys(), pacer.WithMaxAttempts(3)).Do(req)
		var oue *pacer.OutcomeUnknownError
		require.ErrorAs(t, err, &oue, "a final 503 does not say what became of the first attempt")
		assert.Equal(t, 3, oue.Attempts)
		assert.Equal(t, 503, oue.StatusCode)
		require.Len(t, keys, 3)
		assert.Equal(t, keys[0], oue.IdempotencyKey, "send it again under this key")
		assert.NoError(t, oue.Err)
	})
	t.Run("POST with a key answered at last is not uncertain", func(t *testing.T) {
		for _, final := range []int{201, 422} {
			srv := newScript(t, hangUp, status(final, ""))
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
			resp, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithIdempotencyKeys()).Do(req)
			require.NoError(t, err)
			readBody(t, resp)
			assert.Equal(t, final, resp.StatusCode)
		}
	})
	t.Run("PUT is idempotent: a final 503 is handed back", func(t *testing.T) {
		srv := newScript(t, hangUp, status(503, ""), status(503, ""))
		req, _ := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader("{}"))
		resp, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(3)).Do(req)
		require.NoError(t, err)
		readBody(t, resp)
		assert.Equal(t, 503, resp.StatusCode)
	})
	t.Run("POST after a 429 reports both attempts", func(t *testing.T) {
		srv := newScript(t, status(429, "", "Retry-After", "1"), hangUp, status(201, ""))
		_, err := newTestClient(clocktest.NewInstant(time.Time{})).Post(srv.URL, "application/json", strings.NewReader("{}"))
		var oue *pacer.OutcomeUnknownError
		require.ErrorAs(t, err, &oue)
		assert.Equal(t, 2, oue.Attempts)
		assert.Equal(t, int64(2), srv.hits.Load())
	})
	t.Run("GET is retried", func(t *testing.T) {
		srv := newScript(t, hangUp, status(200, "ok"))
		resp, err := newTestClient(clocktest.NewInstant(time.Time{})).Get(srv.URL)
		require.NoError(t, err)
		assert.Equal(t, "ok", readBody(t, resp))
	})
}

func TestDialFailureRetriedForAnyMethod(t *testing.T) {
	srv := newScript(t, status(200, ""))
	url := srv.URL
	srv.Close() // nothing listens: every dial is refused, so nothing was sent
	var retries int
	c := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(3),
		pacer.WithHooks(pacer.Hooks{OnRetry: func(pacer.RetryEvent) { retries++ }}))
	_, err := c.Post(url, "text/plain", strings.NewReader("x"))
	require.Error(t, err)
	assert.Equal(t, 2, retries)
}

func TestBodyReplayedByteForByte(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var got [][]byte
	capture := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got = append(got, b)
			w.WriteHeader(code)
		}
	}
	bodies := map[string]func() io.Reader{
		"with GetBody":    func() io.Reader { return bytes.NewReader(payload) },
		"without GetBody": func() io.Reader { return io.MultiReader(bytes.NewReader(payload)) },
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			got = nil
			srv := newScript(t, capture(503), capture(503), capture(200))
			req, _ := http.NewRequest(http.MethodPost, srv.URL, body())
			resp, err := newTestClient(clocktest.NewInstant(time.Time{})).Do(req)
			require.NoError(t, err)
			readBody(t, resp)
			require.Len(t, got, 3)
			for _, b := range got {
				assert.True(t, bytes.Equal(payload, b))
			}
		})
	}
}

func TestDiscardedResponsesReuseConnection(t *testing.T) {
	srv := newScript(t, status(503, strings.Repeat("x", 1000), "Retry-After", "0"), status(503, "y"), status(200, "ok"))
	resp, err := newTestClient(clocktest.NewInstant(time.Time{})).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "ok", readBody(t, resp))
	assert.Equal(t, int64(3), srv.hits.Load())
	assert.Equal(t, int64(1), srv.conns.Load(), "drained bodies let the connection be reused")
}

func TestRedirectFollowedOnce(t *testing.T) {
	var srv *script
	srv = newScript(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/next", http.StatusFound)
	}, status(200, "arrived"))
	resp, err := newTestClient(clocktest.NewInstant(time.Time{})).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "arrived", readBody(t, resp))
	assert.Equal(t, int64(2), srv.hits.Load())
}

func TestCancelDuringRetryWait(t *testing.T) {
	srv := newScript(t, status(429, "", "Retry-After", "60"), status(200, ""))
	clk := clocktest.NewManual(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	done := make(chan error, 1)
	go func() {
		_, err := newTestClient(clk).Do(req)
		done <- err
	}()
	require.True(t, clk.WaitForTimers(1, 5*time.Second), "the retry wait starts")
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not end the wait")
	}
	assert.Equal(t, int64(1), srv.hits.Load())
}

func TestTypedErrorsThroughHTTPClient(t *testing.T) {
	srv := newScript(t, status(429, "", "Retry-After", "5"))
	_, err := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(1)).Get(srv.URL)
	assert.True(t, errors.Is(err, pacer.ErrRateLimited))
	assert.NotContains(t, err.Error(), srv.URL+`": Get "`, "no doubled url.Error")
}

// closeTracker is a request body that records being closed.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestBodyClosedWhenNeverSent(t *testing.T) {
	// RoundTrip must close the body on every path, also when the request
	// is refused before it is sent.
	srv := newScript(t, status(200, ""))
	for name, getBody := range map[string]bool{"with GetBody": true, "without GetBody": false} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			body := &closeTracker{Reader: strings.NewReader("x")}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
			if getBody {
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
			}
			_, err := pacer.NewTransport(nil).RoundTrip(req)
			require.ErrorIs(t, err, context.Canceled)
			assert.True(t, body.closed)
			assert.Zero(t, srv.hits.Load())
		})
	}
}
