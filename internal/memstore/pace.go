package memstore

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// paceRate returns the even send rate that keeps within every window: the
// smallest Limit/Window, in requests per second (rate.Inf if there is none).
func paceRate(ws []slidingWindow) rate.Limit {
	r := rate.Inf
	for i := range ws {
		b := ws[i].budget
		r = min(r, rate.Limit(float64(b.Limit)/b.Window.Seconds()))
	}
	return r
}

// setPace makes *l pace sends at r with a burst of 1, creating the limiter on
// first use; r == rate.Inf removes it.
func setPace(l **rate.Limiter, r rate.Limit, now time.Time) {
	switch {
	case r == rate.Inf:
		*l = nil
	case *l == nil:
		*l = rate.NewLimiter(r, 1)
	case (*l).Limit() != r:
		(*l).SetLimitAt(now, r)
	}
}

// limiterDelay returns how long after now l will hold a whole token: 0 if it
// holds one already (by the same rounding AllowN uses, so AllowN(now, 1)
// then succeeds). The delay is rounded up, so that waking after it finds
// the token there.
func limiterDelay(l *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - l.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	r := float64(l.Limit())
	if r <= 0 {
		return rate.InfDuration
	}
	ns := missing / r * float64(time.Second)
	if ns < 1 {
		return 0
	}
	if ns >= math.MaxInt64/2 {
		return rate.InfDuration
	}
	return time.Duration(math.Ceil(ns))
}

// paceInterval returns the time between two sends at l's rate (0 for an
// infinite rate, rate.InfDuration for none at all).
func paceInterval(l *rate.Limiter) time.Duration {
	r := float64(l.Limit())
	switch {
	case l.Limit() == rate.Inf:
		return 0
	case r <= 0:
		return rate.InfDuration
	}
	return time.Duration(float64(time.Second) / r)
}
