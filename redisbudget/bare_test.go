package redisbudget

import (
	"net/http"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/stretchr/testify/require"
)

func bare429(at time.Time) pacer.Outcome {
	return pacer.Outcome{Sent: true, At: at, Status: http.StatusTooManyRequests}
}

// TestBare429HoldsTheFleet: a bare 429 seen by one process holds the scope
// in every process, 1 s, then 2 s, 4 s ... up to 1 min with each probe
// refused again; one probe at a time goes out across the fleet; an answer
// other than 429 ends the hold.
func TestBare429HoldsTheFleet(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(WithMaxInFlight(time.Second)), e.store(WithMaxInFlight(time.Second))
	tk := ticket("s", per(1000, time.Hour))
	x := grant(t, a, tk)
	y := grant(t, b, tk)
	a.Observe(x, bare429(t0))
	deny(t, b, tk, time.Second, whyBare)
	b.Observe(y, bare429(t0.Add(10*time.Millisecond))) // the same burst: the hold does not grow
	deny(t, a, tk, time.Second, whyBare)

	at := t0.Add(time.Second)
	for _, hold := range []time.Duration{2, 4, 8, 16, 32, 60, 60} {
		e.clock.Set(at)
		p := grant(t, b, tk)                             // the probe
		deny(t, a, tk, DefaultProbeInterval, whyProbing) // one at a time
		b.Observe(p, bare429(at))
		deny(t, a, tk, hold*time.Second, whyBare)
		ttl, err := e.rdb.PTTL(t.Context(), keysOf(DefaultPrefix, "s").learned()).Result()
		require.NoError(t, err)
		require.LessOrEqual(t, ttl, max(hold*time.Second, time.Second)+keySlack, "the key lives no longer than the hold (or MaxInFlight)")
		at = at.Add(hold * time.Second)
	}
	e.clock.Set(at)
	p := grant(t, a, tk)
	a.Observe(p, answered(at))
	grant(t, b, tk)
	grant(t, a, tk) // the hold is over
}

// TestBare429NotWithHeaders: a 429 that says when (Retry-After) or carries
// rate-limit headers is no bare 429: it blocks as before, with no hold.
func TestBare429NotWithHeaders(t *testing.T) {
	e := newEnv(t)
	a := e.store()
	tk := ticket("s", per(100, time.Minute))
	x := grant(t, a, tk)
	o := bare429(t0)
	o.RetryAfter = 3 * time.Second
	a.Observe(x, o)
	deny(t, a, tk, 3*time.Second, whyBlocked)
	e.clock.Set(t0.Add(3 * time.Second))
	grant(t, a, tk)
}
