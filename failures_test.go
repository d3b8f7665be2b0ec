package pacer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
)

// Every failure class, against a real server on 127.0.0.1: never sent
// (invalid, dial or TLS handshake failed, refused by pacer), maybe sent,
// answered. Each test bounds itself so a regression fails, never hangs.

// retryCounter counts OnRetry events and keeps the last.
type retryCounter struct {
	n    atomic.Int64
	last atomic.Pointer[pacer.RetryEvent]
}

func (r *retryCounter) hooks() pacer.Option {
	return pacer.WithHooks(pacer.Hooks{OnRetry: func(e pacer.RetryEvent) { r.n.Add(1); r.last.Store(&e) }})
}

func TestInvalidRequestSentOnceNeverRetried(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(200, "ok"))
	cases := map[string]func() *http.Request{
		"ftp scheme": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, strings.Replace(srv.URL, "http://", "ftp://", 1), nil)
			return r
		},
		"header name": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			r.Header["Bad Name"] = []string{"x"}
			return r
		},
		"header value": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			r.Header.Set("X-Value", "a\nb")
			return r
		},
	}
	wrapped := attemptFunc(http.DefaultTransport.RoundTrip) // middleware around net/http
	for name, mk := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(name+" "+method, func(t *testing.T) {
				var retries retryCounter
				tr := pacer.NewTransport(wrapped, retries.hooks(), pacer.WithBackoff(time.Second, time.Second, pacer.FullJitter))
				req := mk()
				req.Method = method
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				start := time.Now()
				_, err := tr.RoundTrip(req.WithContext(ctx))
				require.Error(t, err)
				assert.Less(t, time.Since(start), 900*time.Millisecond, "no backoff: it is not retried")
				assert.Zero(t, retries.n.Load())
				assert.NotErrorIs(t, err, pacer.ErrOutcomeUnknown, "nothing was sent")
			})
		}
	}
	assert.Zero(t, srv.hits.Load(), "the server saw none of them")
}

// attemptFunc is a RoundTripper made of a function: here, middleware that
// passes requests on to net/http.
type attemptFunc func(*http.Request) (*http.Response, error)

func (f attemptFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tlsRefuser accepts connections and answers the TLS handshake with a
// fatal handshake_failure alert: every handshake fails before a byte of
// the request is written.
func tlsRefuser(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	conns = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			_, _ = c.Write([]byte{21, 3, 1, 0, 2, 2, 40}) // alert record: fatal, handshake_failure
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), conns
}

func TestTLSHandshakeFailureIsNeverSent(t *testing.T) {
	t.Parallel()
	addr, conns := tlsRefuser(t)
	tr := pacer.NewTransport(nil, pacer.WithMaxAttempts(3), pacer.WithBackoff(time.Millisecond, time.Millisecond, pacer.FullJitter))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/items", strings.NewReader("{}"))
	_, err := tr.RoundTrip(req)
	require.Error(t, err)
	assert.NotErrorIs(t, err, pacer.ErrOutcomeUnknown, "the handshake failed: the server got nothing")
	assert.ErrorContains(t, err, "handshake failure", "the transport's own error reaches the caller")
	assert.Equal(t, int64(3), conns.Load(), "never sent, so a POST is retried like a failed dial")
}

// failingStore is a Store whose backend is down.
type failingStore struct{ calls atomic.Int64 }

var errBackendDown = errors.New("backend down")

func (s *failingStore) Reserve(context.Context, pacer.Ticket) (pacer.Slot, error) {
	s.calls.Add(1)
	return pacer.Slot{}, errBackendDown
}

func (s *failingStore) Observe(pacer.Slot, pacer.Outcome) {}

func TestStoreFailureReturnedAtOnce(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(200, "ok"))
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			st := &failingStore{}
			var retries retryCounter
			tr := pacer.NewTransport(nil, pacer.WithStore(st), retries.hooks(), pacer.WithBackoff(time.Second, time.Second, pacer.FullJitter))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, method, srv.URL, strings.NewReader("x"))
			start := time.Now()
			_, err := tr.RoundTrip(req)
			var se *pacer.StoreError
			require.ErrorAs(t, err, &se)
			assert.ErrorIs(t, err, errBackendDown)
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
			assert.NotErrorIs(t, err, pacer.ErrOutcomeUnknown)
			assert.Equal(t, int64(1), st.calls.Load(), "asked once: not retried")
			assert.Zero(t, retries.n.Load())
			assert.Less(t, time.Since(start), 900*time.Millisecond)
		})
	}
	assert.Zero(t, srv.hits.Load())
}

func TestRetryEventCarriesTransportError(t *testing.T) {
	t.Parallel()
	srv := newScript(t, hangUp, status(200, "ok"))
	var retries retryCounter
	c := newTestClient(clocktest.NewInstant(time.Time{}), retries.hooks())
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	readBody(t, resp)
	require.Equal(t, int64(1), retries.n.Load())
	ev := retries.last.Load()
	assert.Error(t, ev.Err, "the dropped connection is reported")
	assert.Zero(t, ev.Status)
	assert.False(t, ev.ServerWait)
	assert.Equal(t, "GET /", ev.Route)
}

func TestWithStoreRefusesDefaultStoreOptions(t *testing.T) {
	for name, opt := range map[string]pacer.Option{
		"WithQueueLimit":  pacer.WithQueueLimit(10),
		"WithoutAdaptive": pacer.WithoutAdaptive(),
		"WithoutLearning": pacer.WithoutLearning(),
	} {
		assert.PanicsWithValue(t,
			"pacer: "+name+" configures the default in-memory store; with WithStore, configure the store passed instead",
			func() { pacer.NewTransport(nil, pacer.WithStore(new(pacer.MemoryStore)), opt) }, name)
		assert.NotPanics(t, func() { pacer.NewTransport(nil, opt) }, name)
	}
}

// A waiter with ten ahead of it on a one-per-100-ms budget is served in
// about 1.1 s: with a 300 ms deadline it fails at once, naming its turn.
func TestQueuedWaiterPastItsDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(200, "ok"))
	tr := pacer.NewTransport(nil, pacer.WithBudget(1, 100*time.Millisecond))
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	resp, err := client.Get(srv.URL) // takes the budget's one slot
	require.NoError(t, err)
	readBody(t, resp)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	for range 10 {
		go func() {
			defer func() { done <- struct{}{} }()
			if resp, err := sendGET(ctx, client, srv.URL); err == nil {
				resp.Body.Close()
			}
		}()
	}
	awaitCond(t, "ten waiters queued", func() bool { return tr.Stats().Scopes[scopeOf(tr)].Queued >= 9 })

	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	_, err = sendGET(short, client, srv.URL)
	elapsed := time.Since(start)
	var rle *pacer.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, elapsed, 200*time.Millisecond, "fails at once, not at its deadline")
	assert.Greater(t, time.Until(rle.RetryAt), 500*time.Millisecond, "its turn comes after the ten ahead")
	cancel()
	for range 10 {
		<-done
	}
}

// hookPanics makes one hook panic once; the caller recovers, as net/http
// does for handlers.
func TestHookPanicReleasesSlot(t *testing.T) {
	t.Parallel()
	boom := func() { panic("hook failed") }
	hooks := map[string]func(*atomic.Bool) pacer.Hooks{
		"OnAttempt": func(armed *atomic.Bool) pacer.Hooks {
			return pacer.Hooks{OnAttempt: func(pacer.AttemptEvent) {
				if armed.Swap(false) {
					boom()
				}
			}}
		},
		"OnWait": func(armed *atomic.Bool) pacer.Hooks {
			return pacer.Hooks{OnWait: func(pacer.WaitEvent) {
				if armed.Swap(false) {
					boom()
				}
			}}
		},
	}
	for name, mk := range hooks {
		t.Run(name, func(t *testing.T) {
			srv := newScript(t, status(200, "ok", "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "99", "X-RateLimit-Reset", "1"))
			armed := new(atomic.Bool)
			tr := pacer.NewTransport(nil, pacer.WithHooks(mk(armed)), pacer.WithBudget(1, 50*time.Millisecond))
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			if name == "OnWait" { // the second request waits for the first's slot
				resp, err := client.Get(srv.URL)
				require.NoError(t, err)
				readBody(t, resp)
			}
			armed.Store(true)
			func() {
				defer func() { assert.Equal(t, "hook failed", recover()) }()
				resp, err := client.Get(srv.URL)
				if err == nil {
					resp.Body.Close()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for range 3 {
				resp, err := sendGET(ctx, client, srv.URL)
				require.NoError(t, err, "the scope is not wedged")
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}
			assert.Zero(t, tr.Stats().Scopes[scopeOf(tr)].InFlight)
		})
	}
}

// A panic in OnBreaker while a half-open circuit admits a probe gives the
// probe's place back.
func TestBreakerHookPanicReleasesPermit(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(500, ""), status(500, ""), status(200, "ok"))
	clk := clocktest.NewManual(time.Time{})
	armed := new(atomic.Bool)
	tr := pacer.NewTransport(nil, pacer.WithClock(clk), pacer.WithMaxAttempts(1),
		pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 2, Probes: 1, CoolDown: time.Second}),
		pacer.WithHooks(pacer.Hooks{OnBreaker: func(e pacer.BreakerEvent) {
			if e.To == pacer.BreakerHalfOpen && armed.Swap(false) {
				panic("hook failed")
			}
		}}))
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	for range 2 {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		readBody(t, resp)
	}
	require.Equal(t, pacer.BreakerOpen, tr.Stats().Scopes[scopeOf(tr)].Breaker)
	clk.Advance(time.Second)
	armed.Store(true)
	func() {
		defer func() { assert.Equal(t, "hook failed", recover()) }()
		_, _ = client.Get(srv.URL)
	}()
	resp, err := client.Get(srv.URL)
	require.NoError(t, err, "the probe's place was given back")
	assert.Equal(t, "ok", readBody(t, resp))
	assert.Equal(t, pacer.BreakerClosed, tr.Stats().Scopes[scopeOf(tr)].Breaker)
}

// Discarding a response whose body stalls takes a bounded time: the retry
// goes ahead instead of waiting for the body.
func TestStalledBodyOfRetriedResponse(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	stall := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "x")
		w.(http.Flusher).Flush()
		select { // then nothing, until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}
	srv := newScript(t, stall, status(200, "ok"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := sendGET(ctx, newTestClient(clocktest.NewInstant(time.Time{})), srv.URL)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, time.Since(start), 2*time.Second)
}
