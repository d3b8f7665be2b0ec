package redisbudget

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartHoldsOneWindow kills Redis (no persistence: every window is
// lost) under load from four processes on 20 per second and restarts it at
// once. The processes find their scope's epoch gone and hold it for one
// window from the new epoch, so no window sees more than the limit; after
// that the budget is whole again.
//
// Before, the fresh windows let a whole limit through at once, on top of the
// requests the lost windows had counted: up to one window of extra requests
// (measured: 40 in a window, +100%).
func TestRestartHoldsOneWindow(t *testing.T) {
	const (
		limit  = 20
		window = time.Second
		skew   = 30 * time.Millisecond // see TestStallLeaksNoGrant
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := startRedis(t)
	f := newFleet(t, r, 4, limit, window, WithTimeout(testTimeout), WithRetryInterval(50*time.Millisecond))
	f.run(2)

	time.Sleep(1500 * time.Millisecond) // the budget is in steady use
	r.kill()
	r.restart(t)
	restarted := time.Now()
	// The hold runs one window from the new epoch, which begins at the
	// first write after go-redis has reconnected; processes reconnect at
	// different times, and one that finds the epoch replaced again holds
	// again. The best of the four windows after the first is measured.
	time.Sleep(5*window + 300*time.Millisecond)
	f.halt()
	require.NoError(t, ctx.Err(), "the scenario ran within its deadline")

	most := f.maxIn(window - skew)
	after := 0
	for k := 1; k <= 4; k++ {
		from := restarted.Add(time.Duration(k)*window + 200*time.Millisecond)
		after = max(after, f.between(from, from.Add(window)))
	}
	t.Logf("restart: at most %d in %v (limit %d, %+d); %d in the best window of the four after the first (%.0f%%); errors %v",
		most, window-skew, limit, most-limit, after, 100*float64(after)/limit, f.errs)
	assert.LessOrEqual(t, most, limit, "the limit held across the restart")
	assert.GreaterOrEqual(t, after, limit*9/10, "the budget is whole again within five windows of the restart")
}

// A store that granted in a scope and finds the scope's epoch gone (or
// replaced) holds it until one window after the new epoch began; a store
// that expected nothing does not know better and grants.
func TestLostEpochHolds(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	tk := ticket("s", per(5, time.Minute), per(10, time.Second))
	a.Observe(reserve(t, a, tk), answered(t0))
	require.NoError(t, e.rdb.FlushAll(context.Background()).Err()) // Redis lost everything

	e.clock.Advance(10 * time.Second)
	slot := reserve(t, b, tk) // b never granted here: a fresh epoch, no hold
	b.Observe(slot, answered(e.clock.Now()))

	// a granted less than a minute + MaxInFlight ago: the epoch it saw must
	// still be there; it is not, so the scope is held one (longest) window
	// from the new epoch, for a and b alike.
	e.clock.Advance(time.Second)
	deny(t, a, tk, time.Minute-time.Second, whyHeld)
	deny(t, b, tk, time.Minute-time.Second, whyHeld)
	e.clock.Advance(time.Minute - time.Second)
	grant(t, a, tk)
	grant(t, b, tk)
}
