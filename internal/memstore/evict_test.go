package memstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
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
	for i := range 100_000 {
		h.use(Ticket{Scope: fmt.Sprint("key-", i), Budgets: budget})
	}
	require.Equal(t, 100_000, h.st.scopeCount())
	h.clk.Advance(DefaultIdleTTL)
	h.use(Ticket{Scope: "new", Budgets: budget})
	assert.Equal(t, 1, h.st.scopeCount(), "only the scope just used is left")
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
