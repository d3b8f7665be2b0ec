package redisbudget

import (
	"testing"
	"time"

	"github.com/pacerhq/pacer"
)

// poolAnswer is a 200 naming pool (by name, or by its limit when name is
// ""), with n remaining until reset.
func poolAnswer(name string, limit, n int, reset time.Time) pacer.Outcome {
	return pacer.Outcome{Sent: true, At: t0, Status: 200, HasRateLimit: true,
		RateLimit: pacer.RateLimit{Pool: name, Limit: limit, Remaining: n, Reset: reset}}
}

// TestPoolsPerRoute: answers naming different limits are told apart, each
// route learns its pool, and a request waits for its own pool only; a route
// not known yet waits for every pool.
func TestPoolsPerRoute(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	small := ticket("s", per(1000, time.Hour))
	small.Route = 1
	big := small
	big.Route = 2
	fresh := small
	fresh.Route = 3
	reset := t0.Add(time.Minute)

	s1, s2 := grant(t, a, small), grant(t, b, big)
	a.Observe(s1, poolAnswer("", 20, 0, reset))   // route 1 draws from the pool of 20, spent
	b.Observe(s2, poolAnswer("", 120, 50, reset)) // route 2 from the pool of 120
	deny(t, b, small, time.Minute, whyBlocked)    // in every process
	for range 3 {
		grant(t, a, big) // the other pool is not held
	}
	deny(t, a, fresh, time.Minute, whyBlocked) // an unknown route waits for every pool

	// Named pools are told apart by name, whatever their limits.
	c := e.store()
	one, two := ticket("n", per(1000, time.Hour)), ticket("n", per(1000, time.Hour))
	one.Route, two.Route = 1, 2
	s1, s2 = grant(t, c, one), grant(t, c, two)
	c.Observe(s1, poolAnswer("core", 60, 0, reset))
	c.Observe(s2, poolAnswer("search", 60, 10, reset))
	deny(t, c, one, time.Minute, whyBlocked)
	grant(t, c, two)
}

// TestPoolCapCountsItsOwnRequests: "R remaining" caps the requests of its
// pool only; requests of other pools do not use it up.
func TestPoolCapCountsItsOwnRequests(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	x := ticket("s", per(1000, time.Hour))
	x.Route = 1
	y := x
	y.Route = 2
	reset := t0.Add(time.Minute)
	sx, sy := grant(t, a, x), grant(t, b, y)
	a.Observe(sx, poolAnswer("", 20, 5, reset))
	b.Observe(sy, poolAnswer("", 120, 100, reset))
	for range 10 {
		grant(t, b, y) // pool 120: does not count against pool 20
	}
	// sy, granted before its route's pool was known, counts against
	// pool 20's cap too (it may have drawn from it): 4 more, not 5.
	for range 4 {
		grant(t, a, x)
	}
	deny(t, b, x, time.Minute, whyCapped) // pool 20's 5 are used
	grant(t, a, y)
}
