package pacer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/internal/clocktest"
)

// A Transport's per-scope state lives in one map with one eviction: idle
// scopes are forgotten (counters, circuit and retry bucket together), busy
// ones are kept however idle.
func TestScopesForgetIdleScopes(t *testing.T) {
	clk := clocktest.NewManual(time.Time{})
	b := &breakers{cfg: Breaker{}.withDefaults(), clock: clk}
	rb := newRetryBudgets(&config{retryBudget: &RetryBudget{}})
	s := scopes{clock: clk, init: rb.fill}

	inUse := s.enter("in use") // a RoundTrip that lasts
	cooling := s.enter("cooling")
	cooling.mu.Lock()
	b.circuit(cooling).open(clk.Now(), time.Hour) // open for an hour
	cooling.mu.Unlock()
	s.leave(cooling)
	used := s.enter("used")
	used.sent.Add(1)
	rb.spend(used)
	s.leave(used)
	for i := range 100_000 { // a stream of one-off scopes
		s.leave(s.enter(fmt.Sprint("key-", i)))
	}
	require.Len(t, s.all(), 100_003)

	clk.Advance(scopeIdle + time.Second)
	again := s.enter("used") // an existing scope: no sweep, state kept
	assert.Equal(t, int64(1), again.sent.Load())
	s.leave(again)
	s.leave(s.enter("new")) // adding a scope sweeps
	names := map[string]bool{}
	for _, st := range s.all() {
		names[st.name] = true
	}
	assert.Equal(t, map[string]bool{"in use": true, "cooling": true, "used": true, "new": true}, names)

	clk.Advance(scopeIdle + time.Second)
	s.leave(s.enter("newer"))
	_, kept := map[string]bool{}, false
	for _, st := range s.all() {
		kept = kept || st.name == "used"
	}
	assert.False(t, kept, "forgotten once idle")
	fresh := s.enter("used")
	assert.Zero(t, fresh.sent.Load(), "a forgotten scope starts again")
	assert.InDelta(t, 10, fresh.tokens, 1e-9, "with a full retry bucket")
	s.leave(fresh)
	s.leave(inUse)
}
