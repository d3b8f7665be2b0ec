package pacer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const overloadWorkers = 8

// served is every request the server answered.
func served(srv *pacertest.Server) int {
	e := srv.Evidence()
	return e.Accepted + e.Rejected + e.Failed
}

// awaitCond polls cond until it holds, failing the test after 10 s of real
// time (a bound for a stuck test, not a timing assumption).
func awaitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func sendGET(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

// eventLog records breaker events.
type eventLog struct {
	mu     sync.Mutex
	events []pacer.BreakerEvent
	onOpen func() // called on the first closed → open change
}

func (l *eventLog) add(e pacer.BreakerEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.From == pacer.BreakerClosed && e.To == pacer.BreakerOpen && l.onOpen != nil {
		l.onOpen()
		l.onOpen = nil
	}
	l.events = append(l.events, e)
}

func (l *eventLog) count(to pacer.BreakerState) (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.To == to {
			n++
		}
	}
	return n
}

func (l *eventLog) last() pacer.BreakerEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return pacer.BreakerEvent{}
	}
	return l.events[len(l.events)-1]
}

// TestBreakerOutageEndToEnd: 8 workers call a real server that fails every
// request for a while and then recovers. Once the breaker opens, the server
// sees only the probes of each half-open spell (plus at most one attempt
// per worker already under way), and traffic resumes without help.
func TestBreakerOutageEndToEnd(t *testing.T) {
	const probes = 2
	clk := pacertest.NewScaledClock(20)
	srv := pacertest.NewServer(pacertest.Config{Clock: clk})
	defer srv.Close()
	hitsAtOpen := -1
	log := &eventLog{onOpen: func() { hitsAtOpen = served(srv) }}
	tr := pacer.NewTransport(nil, pacer.WithClock(clk),
		pacer.WithBackoff(20*time.Millisecond, 200*time.Millisecond, pacer.FullJitter),
		pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 20, CoolDown: 2 * time.Second, Probes: probes}),
		pacer.WithHooks(pacer.Hooks{OnBreaker: log.add}))
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	var ok, refused, failed atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range overloadWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := sendGET(ctx, client, srv.URL+"/v1/things")
				switch {
				case err == nil && resp.StatusCode == http.StatusOK:
					ok.Add(1)
				case errors.Is(err, pacer.ErrCircuitOpen):
					refused.Add(1)
					time.Sleep(time.Millisecond) // a caller would do something else
				default:
					failed.Add(1)
				}
			}
		})
	}

	awaitCond(t, "healthy traffic", func() bool { return ok.Load() >= 100 })
	srv.SetOutage(true)
	awaitCond(t, "three half-open spells", func() bool { return log.count(pacer.BreakerHalfOpen) >= 3 })
	log.mu.Lock()
	duringOutage := served(srv) - hitsAtOpen
	log.mu.Unlock()
	halfOpens := log.count(pacer.BreakerHalfOpen) // read after the hits: an upper bound
	refusedInOutage := refused.Load()
	closedInOutage := log.count(pacer.BreakerClosed)
	srv.SetOutage(false)

	assert.Zero(t, closedInOutage, "the failing probes keep it open")
	assert.LessOrEqual(t, duringOutage, overloadWorkers+probes*halfOpens,
		"while open the server sees only probes (and attempts already under way)")
	t.Logf("outage: breaker open with %d half-open spells; server saw %d requests; %d calls refused at once",
		halfOpens, duringOutage, refusedInOutage)

	okBefore := ok.Load()
	awaitCond(t, "the breaker to close by itself", func() bool { return log.last().To == pacer.BreakerClosed })
	awaitCond(t, "traffic to resume", func() bool { return ok.Load() >= okBefore+100 })
	host := strings.TrimPrefix(srv.URL, "http://")
	assert.Equal(t, pacer.BreakerClosed, tr.Stats().Scopes[host].Breaker)
	last := log.last()
	assert.Equal(t, pacer.BreakerHalfOpen, last.From)
	assert.Equal(t, host, last.Scope)
}

// callPhase runs overloadWorkers goroutines making n requests each and sorts the
// results: 200s, retry-budget refusals, anything else.
func callPhase(t *testing.T, c *http.Client, u string, n int) (ok, budget, other int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range overloadWorkers {
		wg.Go(func() {
			for range n {
				resp, err := sendGET(context.Background(), c, u)
				mu.Lock()
				switch {
				case err == nil && resp.StatusCode == http.StatusOK:
					ok++
				case errors.Is(err, pacer.ErrRetryBudgetExhausted):
					budget++
					var ue *url.Error
					var rbe *pacer.RetryBudgetError
					if assert.ErrorAs(t, err, &ue, "through the client as a *url.Error") &&
						assert.ErrorAs(t, err, &rbe) {
						assert.Equal(t, http.StatusServiceUnavailable, rbe.StatusCode)
					}
				default:
					other++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok, budget, other
}

// TestRetryBudgetOutageEndToEnd: 8 workers call a real server that fails
// every request for a while. With the retry budget on, the server receives at
// most 1.1 requests per request the callers made; without it, every request
// is tried defaultMaxAttempts times (the control shows the test measures).
func TestRetryBudgetOutageEndToEnd(t *testing.T) {
	const perWorker = 25
	const calls = overloadWorkers * perWorker
	cases := []struct {
		name        string
		opts        []pacer.Option
		low, high   float64 // bounds of server requests per call in the outage
		budgetFails int
	}{
		{"with retry budget", []pacer.Option{pacer.WithRetryBudget(pacer.RetryBudget{})}, 1, 1.1, calls},
		{"without (control)", nil, 5, 5, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := pacertest.NewScaledClock(20)
			srv := pacertest.NewServer(pacertest.Config{Clock: clk})
			defer srv.Close()
			opts := append([]pacer.Option{pacer.WithClock(clk), pacer.WithBackoff(10*time.Millisecond, 100*time.Millisecond, pacer.FullJitter)}, tc.opts...)
			tr := pacer.NewTransport(nil, opts...)
			defer tr.CloseIdleConnections()
			c, u := &http.Client{Transport: tr}, srv.URL+"/v1/things"

			ok, _, _ := callPhase(t, c, u, 10)
			require.Equal(t, overloadWorkers*10, ok, "healthy")

			srv.SetOutage(true)
			before := served(srv)
			ok, budget, other := callPhase(t, c, u, perWorker)
			sent := served(srv) - before
			srv.SetOutage(false)
			ratio := float64(sent) / calls
			t.Logf("outage: %d calls, %d server requests: %.3fx", calls, sent, ratio)
			assert.Zero(t, ok)
			assert.Equal(t, tc.budgetFails, budget)
			assert.Equal(t, calls-tc.budgetFails, other, "the rest end with their last 503")
			assert.GreaterOrEqual(t, ratio, tc.low)
			assert.LessOrEqual(t, ratio, tc.high)

			ok, _, _ = callPhase(t, c, u, 10)
			assert.Equal(t, overloadWorkers*10, ok, "recovered")
		})
	}
}

// TestRetryBudgetSpending: failures spend from the budget, a 429 that says
// how long to wait does not.
func TestRetryBudgetSpending(t *testing.T) {
	cases := []struct {
		name     string
		step     http.HandlerFunc
		code     int
		wantHits int64
		wantErr  error
	}{
		// MaxTokens 3: the first retry leaves 2 (> 1.5), the second 1.
		{"503", status(503, ""), 503, 2, pacer.ErrRetryBudgetExhausted},
		{"503 with Retry-After", status(503, "", "Retry-After", "1"), 503, 2, pacer.ErrRetryBudgetExhausted},
		{"bare 429", status(429, ""), 429, 2, pacer.ErrRetryBudgetExhausted},
		// Refusals cost no attempt: retried for the max wait (10 s), 1 s apart.
		{"429 with Retry-After: free", status(429, "", "Retry-After", "1", "X-RateLimit-Remaining", "0"), 429, 11, pacer.ErrRateLimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScript(t, tc.step)
			c := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithRetryBudget(pacer.RetryBudget{MaxTokens: 3}),
				pacer.WithMaxWait(10*time.Second))
			_, err := c.Get(srv.URL)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.wantHits, srv.hits.Load())
			var rbe *pacer.RetryBudgetError
			if errors.As(err, &rbe) {
				host := strings.TrimPrefix(srv.URL, "http://")
				assert.Equal(t, &pacer.RetryBudgetError{Scope: host, StatusCode: tc.code, Attempts: 2}, rbe)
			}
		})
	}
}

// gateStore grants a slot at once to requests of priority 1 and holds every
// other request until its context ends, as a budget's queue would.
type gateStore struct {
	waiting, granted atomic.Int64
}

func (s *gateStore) Reserve(ctx context.Context, t pacer.Ticket) (pacer.Slot, error) {
	if t.Priority == 1 {
		s.granted.Add(1)
		return pacer.Slot{Scope: t.Scope}, nil
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	<-ctx.Done()
	return pacer.Slot{}, ctx.Err()
}

func (s *gateStore) Observe(pacer.Slot, pacer.Outcome) {}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBreakerReleasesQueuedWaiters: requests waiting in the scope's queue
// when the breaker opens are released at once with *CircuitOpenError; the
// whole cycle (open, half-open, closed) shows in events, logs and Stats.
func TestBreakerReleasesQueuedWaiters(t *testing.T) {
	srv := newScript(t, status(503, ""), status(503, ""), status(503, ""), status(200, "ok"))
	host := strings.TrimPrefix(srv.URL, "http://")
	clk := clocktest.NewManual(time.Time{})
	store := &gateStore{}
	log := &eventLog{}
	var logs syncBuffer
	tr := pacer.NewTransport(nil, pacer.WithClock(clk), pacer.WithStore(store), pacer.WithMaxAttempts(1),
		pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 3, CoolDown: time.Minute, Probes: 1}),
		pacer.WithHooks(pacer.Hooks{OnBreaker: log.add}),
		pacer.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	pass := pacer.ContextWithPriority(context.Background(), 1)

	const waiters = 5
	errs := make(chan error, waiters)
	for range waiters {
		go func() {
			_, err := sendGET(context.Background(), c, srv.URL)
			errs <- err
		}()
	}
	awaitCond(t, "the waiters to queue", func() bool { return store.waiting.Load() == waiters })

	for range 3 {
		resp, err := sendGET(pass, c, srv.URL)
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}
	want := &pacer.CircuitOpenError{Scope: host, Until: clk.Now().Add(time.Minute)}
	for range waiters {
		var err error
		select {
		case err = <-errs:
		case <-time.After(10 * time.Second):
			t.Fatal("a waiter was not released")
		}
		var ue *url.Error
		var coe *pacer.CircuitOpenError
		require.ErrorAs(t, err, &ue)
		require.ErrorAs(t, err, &coe)
		assert.Equal(t, want, coe)
	}
	assert.Equal(t, int64(3), srv.hits.Load(), "the waiters never reached the server")

	_, err := sendGET(pass, c, srv.URL)
	require.ErrorIs(t, err, pacer.ErrCircuitOpen, "refused at once while open")
	assert.Equal(t, int64(3), store.granted.Load(), "without asking the store")
	assert.Equal(t, pacer.BreakerOpen, tr.Stats().Scopes[host].Breaker)

	clk.Advance(time.Minute)
	assert.Equal(t, pacer.BreakerHalfOpen, tr.Stats().Scopes[host].Breaker)
	resp, err := sendGET(pass, c, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the probe goes through")
	assert.Equal(t, pacer.BreakerClosed, tr.Stats().Scopes[host].Breaker)

	log.mu.Lock()
	events := log.events
	log.mu.Unlock()
	open := clocktest.Epoch
	assert.Equal(t, []pacer.BreakerEvent{
		{Scope: host, From: pacer.BreakerClosed, To: pacer.BreakerOpen, At: open, Until: open.Add(time.Minute), Requests: 3, Failures: 3},
		{Scope: host, From: pacer.BreakerOpen, To: pacer.BreakerHalfOpen, At: open.Add(time.Minute)},
		{Scope: host, From: pacer.BreakerHalfOpen, To: pacer.BreakerClosed, At: open.Add(time.Minute)},
	}, events)
	out := logs.String()
	assert.Contains(t, out, `level=WARN msg="pacer: circuit open"`)
	assert.Contains(t, out, `level=INFO msg="pacer: circuit half-open"`)
	assert.Contains(t, out, `level=INFO msg="pacer: circuit closed"`)
}

// TestBreakerCutsRetryWaitsShort: a request waiting to retry is released
// with *CircuitOpenError as soon as the circuit opens, instead of sleeping
// out a long Retry-After only to be refused.
func TestBreakerCutsRetryWaitsShort(t *testing.T) {
	srv := newScript(t, status(503, "", "Retry-After", "30"))
	clk := clocktest.NewManual(time.Time{})
	c := newTestClient(clk, pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 3, CoolDown: time.Minute}))

	done := make(chan error, 1)
	go func() {
		_, err := sendGET(context.Background(), c, srv.URL)
		done <- err
	}()
	require.True(t, clk.WaitForTimers(1, 10*time.Second), "the first request waits 30 s to retry")

	// Two requests whose deadline is too near to wait: each ends with its 503.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 {
		resp, err := sendGET(ctx, c, srv.URL)
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}
	var err error
	select {
	case err = <-done: // the third failure opened the circuit
	case <-time.After(10 * time.Second):
		clk.Advance(time.Hour) // let it go before failing
		t.Fatal("the waiting request was not released")
	}
	var coe *pacer.CircuitOpenError
	require.ErrorAs(t, err, &coe)
	assert.Equal(t, clocktest.Epoch.Add(time.Minute), coe.Until)
	assert.Equal(t, int64(3), srv.hits.Load())
}
