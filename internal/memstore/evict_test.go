package memstore

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/internal/clocktest"
)

func (st *Store) scopeCount() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.scopes)
}

// use reserves and answers one request of scope at once.
func (h *harness) use(tk Ticket) {
	h.t.Helper()
	sl, err := h.st.Reserve(context.Background(), tk)
	require.NoError(h.t, err)
	h.st.Observe(sl, Outcome{Sent: true, Status: 200, At: h.clk.Now()})
}

func TestIdleScopesEvicted(t *testing.T) {
	h := newHarness(t) // IdleTTL 0: DefaultIdleTTL
	budget := []Budget{{Limit: 1, Window: time.Second}}
	const n = 100_000
	for i := range n {
		h.use(Ticket{Scope: fmt.Sprint("key-", i), Budgets: budget})
	}
	require.Equal(t, n, h.st.scopeCount())
	h.clk.Advance(DefaultIdleTTL)
	// The round begins: each call forgets at most sweepBatch scopes, so no
	// call holds the map for a sweep of all of them.
	h.use(Ticket{Scope: "new"})
	assert.Equal(t, n-sweepBatch+1, h.st.scopeCount())
	calls := 1
	for h.st.scopeCount() > 1 {
		before := h.st.scopeCount()
		h.use(Ticket{Scope: "new"})
		calls++
		require.GreaterOrEqual(t, h.st.scopeCount(), before-sweepBatch, "call %d forgot more than a batch", calls)
		require.LessOrEqual(t, calls, n/sweepBatch+1, "the round does not end")
	}
	assert.Equal(t, "new", h.st.Usage()[0].Scope, "only the scope in use is left")
}

func TestEvictionBoundsMemory(t *testing.T) {
	// A stream of distinct keys, 1000 per tenth of IdleTTL: the map holds
	// the keys of at most 1.5 IdleTTL (the sweep runs every half IdleTTL).
	h := newHarness(t)
	h.st.IdleTTL = time.Minute
	most := 0
	for batch := range 50 {
		for i := range 1000 {
			h.use(Ticket{Scope: fmt.Sprint(batch, "/", i)})
		}
		most = max(most, h.st.scopeCount())
		h.clk.Advance(h.st.IdleTTL / 10)
	}
	assert.LessOrEqual(t, most, 16_000)
	assert.GreaterOrEqual(t, most, 10_000, "a scope used within IdleTTL is kept")
}

func TestEvictionKeepsLiveScopes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	h.st.IdleTTL = time.Minute
	h.st.Adaptive = AdaptiveOff
	ctx := context.Background()

	// in flight: reserved, never answered
	inFlight, err := h.st.Reserve(ctx, Ticket{Scope: "in flight"})
	require.NoError(t, err)
	// held: answered, but its window is longer than IdleTTL
	hour := Ticket{Scope: "held", Budgets: []Budget{{Limit: 1, Window: time.Hour}}}
	h.use(hour)
	// waiting: a waiter behind the held slot of another 1-per-hour scope
	waiting := Ticket{Scope: "waiting", Budgets: []Budget{{Limit: 1, Window: time.Hour}}}
	h.use(waiting)
	wctx, cancel := context.WithCancel(ctx)
	waiter := h.start(wctx, "waiter", waiting)
	// capped: a learned cap in force for an hour
	capped, err := h.st.Reserve(ctx, Ticket{Scope: "capped"})
	require.NoError(t, err)
	h.st.Observe(capped, Outcome{Sent: true, Status: 200, At: h.clk.Now(), HasRateLimit: true,
		RateLimit: RateLimit{Remaining: 5, Reset: h.clk.Now().Add(time.Hour)}})
	// blocked: a Retry-After of an hour
	blocked, err := h.st.Reserve(ctx, Ticket{Scope: "blocked"})
	require.NoError(t, err)
	h.st.Observe(blocked, Outcome{Sent: true, Status: 429, At: h.clk.Now(), RetryAfter: time.Hour})
	// idle: nothing held
	h.use(Ticket{Scope: "idle"})

	h.clk.Advance(10 * time.Minute)
	h.use(Ticket{Scope: "sweeper"})
	var names []string
	for _, u := range h.st.Usage() {
		names = append(names, u.Scope)
	}
	assert.Equal(t, []string{"blocked", "capped", "held", "in flight", "sweeper", "waiting"}, names)

	cancel()
	_, err = waiter.result(t)
	require.ErrorIs(t, err, context.Canceled)
	h.st.Observe(inFlight, Outcome{Sent: false, At: h.clk.Now()})
	h.clk.Advance(2 * time.Hour)
	h.use(Ticket{Scope: "sweeper"})
	assert.Equal(t, 1, h.st.scopeCount(), "all gone once nothing is held")
}

func TestEvictionDisabled(t *testing.T) {
	h := newHarness(t)
	h.st.IdleTTL = -1
	for i := range 100 {
		h.use(Ticket{Scope: fmt.Sprint(i)})
	}
	h.clk.Advance(24 * time.Hour)
	h.use(Ticket{Scope: "x"})
	assert.Equal(t, 101, h.st.scopeCount())
}

func TestObserveUnknownSlot(t *testing.T) {
	h := newHarness(t)
	h.st.Observe(Slot{Scope: "nowhere"}, Outcome{Sent: true, Status: 200})
	assert.Zero(t, h.st.scopeCount(), "Observe creates no scope")
	h.use(Ticket{Scope: "api"})
	h.st.Observe(Slot{Scope: "api"}, Outcome{Sent: true, Status: 200}) // observed twice
	assert.Zero(t, h.st.Usage()[0].InFlight)
}

// TestMillionScopes fills a store with a million idle learned scopes (one
// pool on one route each, as BenchmarkIdleScopeMemory), checks what they
// cost, takes a snapshot of them all, and forgets them a batch per call,
// all within its own deadline.
func TestMillionScopes(t *testing.T) {
	// Parallel: it runs once every other test of the package is done, so
	// that no timing test pays for its gigabyte of garbage (a stress test
	// run right after it on a busy machine sent too few requests).
	t.Parallel()
	t.Cleanup(debug.FreeOSMemory)
	const n = 1_000_000
	deadline := time.Now().Add(4 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Before(deadline) {
		deadline = d.Add(-10 * time.Second)
	}
	inTime := func(what string) {
		t.Helper()
		if time.Now().After(deadline) {
			t.Fatalf("past the test's deadline while %s", what)
		}
	}
	perScope, st := fillIdleScopes(t, n, inTime)
	t.Logf("%d idle learned scopes: %.0f bytes each", n, perScope)
	assert.LessOrEqual(t, perScope, 1024.0, "bytes per idle learned scope")

	started := time.Now()
	assert.Len(t, st.Usage(), n)
	t.Logf("Usage of %d scopes: %v", n, time.Since(started).Round(time.Millisecond))
	inTime("taking Usage")

	clk := st.Clock.(*clocktest.Manual)
	clk.Advance(DefaultIdleTTL)
	h := &harness{t: t, clk: clk, st: st, slots: map[string]Slot{}}
	calls := 0
	for st.scopeCount() > 1 {
		before := st.scopeCount()
		h.use(Ticket{Scope: "sweeper"})
		calls++
		require.GreaterOrEqual(t, st.scopeCount(), before-sweepBatch, "call %d forgot more than a batch", calls)
		if calls%10_000 == 0 {
			inTime("forgetting the scopes")
		}
	}
	t.Logf("forgotten in %d calls", calls)
	assert.LessOrEqual(t, calls, n/sweepBatch+1)
}
