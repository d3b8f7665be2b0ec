package memstore

import (
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// AdaptiveMode mirrors pacer.AdaptiveMode, value for value; see there.
type AdaptiveMode int

// The adaptive modes (see pacer.AdaptiveAuto and the others).
const (
	AdaptiveAuto AdaptiveMode = iota
	AdaptiveOff
	AdaptiveAlways
)

// Tuning of adaptive mode.
const (
	// adaptiveBeta is the fraction of the measured send rate a 429 cuts the
	// allowed rate to.
	adaptiveBeta = 0.7
	// adaptiveFloor is the lowest allowed rate, in requests per second.
	adaptiveFloor = 0.5
	// adaptiveRun is the number of successes in which the additive increase
	// climbs from a cut back to the rate cut from; the increase per success
	// doubles after every such run without a 429.
	adaptiveRun = 150
	// adaptiveCooldown is the least time between two cuts. Besides, a 429
	// cuts only if its request was sent after the latest cut, so the 429s of
	// requests in flight at a cut count once.
	adaptiveCooldown = 100 * time.Millisecond
	// adaptiveRelease: AdaptiveAuto releases a scope when its allowed rate is
	// this many times both the rate of the latest cut and the measured send
	// rate.
	adaptiveRelease = 4
	// adaptiveGrowth and adaptiveMinSlope bound how fast the allowed rate
	// may grow, whatever the step: by at most adaptiveGrowth of itself per
	// second, or adaptiveMinSlope requests per second per second if that is
	// more (so a rate at the floor climbs to 20/s in about 20 s). Without the
	// bound the doubling step grows the rate faster and faster once
	// successes come quickly, and a queued backlog floods the server before
	// the first 429 can answer: the requests in flight when a limit is hit
	// number about rate × round trip.
	adaptiveGrowth   = 0.1
	adaptiveMinSlope = 1.0
)

// aimd is a scope's adaptive mode: a rate.Limiter (burst 1) whose rate a 429
// cuts and every success raises.
//
// An aimd is not safe for concurrent use; its scope's mutex guards it.
type aimd struct {
	lim       *rate.Limiter // nil until the first activation
	active    bool
	meter     sendMeter
	ceiling   float64 // send rate at the latest cut, requests per second
	step      float64 // increase per success, requests per second
	lastCut   time.Time
	lastRaise time.Time
	successes int // since the latest cut
}

// sent records a grant for the send-rate measurement.
func (a *aimd) sent(now time.Time) { a.meter.add(now) }

// rate returns the allowed rate in requests per second, 0 when inactive.
func (a *aimd) rate() float64 {
	if !a.active {
		return 0
	}
	return float64(a.lim.Limit())
}

// gate adds the adaptive rate to g.
func (a *aimd) gate(g *grantGate) {
	if a.active {
		g.until(g.now.Add(limiterDelay(a.lim, g.now)))
	}
}

// take spends the adaptive rate's token for a grant at now.
func (a *aimd) take(now time.Time) {
	if a.active {
		a.lim.AllowN(now, 1)
	}
}

// observe adapts the rate to the answer o (arrived at at) to a request
// granted at granted; queued is the number of requests waiting in the scope.
func (a *aimd) observe(mode AdaptiveMode, granted time.Time, o Outcome, at time.Time, queued int) {
	if mode == AdaptiveOff || !o.Sent {
		return
	}
	switch {
	case o.Status == http.StatusTooManyRequests:
		if a.active && !granted.Before(a.lastCut) && at.Sub(a.lastCut) >= adaptiveCooldown ||
			!a.active && (mode == AdaptiveAlways || !o.HasRateLimit) {
			a.cut(at)
		}
	case a.active && o.Status > 0 && o.Status < 500:
		a.raise(at, mode, queued)
	}
}

// cut lowers the allowed rate to adaptiveBeta times the rate the scope was
// sending at (at most the allowed rate), activating adaptive mode. The
// probes of a scope refused through a whole window do not cut (see
// bareHold.probe); the lockout's end sets the rate instead (resume).
func (a *aimd) cut(now time.Time) {
	base := a.meter.at(now)
	if a.active && (base <= 0 || base > a.rate()) {
		base = a.rate()
	}
	base = max(base, adaptiveFloor)
	a.ceiling = base
	a.step = (1 - adaptiveBeta) * base / adaptiveRun
	a.successes = 0
	a.lastCut = now
	a.set(now, max(adaptiveFloor, adaptiveBeta*base))
	a.active = true
}

// resume caps the allowed rate at r, the rate the server sustained over
// the run of successes and the lockout that ended it (see bareHold): after
// a whole window refused, the rate cut at the first 429 of the burst is far
// above what the window lets through, and a backlog sent at it would be
// refused again. The climb restarts from there.
func (a *aimd) resume(now time.Time, r float64) {
	if !a.active {
		return
	}
	r = max(adaptiveFloor, r)
	a.ceiling = r
	a.step = (1 - adaptiveBeta) * r / adaptiveRun
	a.successes = 0
	a.lastRaise = now
	a.set(now, r)
}

// stand deactivates adaptive mode: a budget inferred from the server's
// lockout (see inference) paces the scope. A 429 activates it again.
func (a *aimd) stand() { a.active = false }

// raise adds the step to the allowed rate after a success; AdaptiveAuto
// releases the scope once nothing waits and the rate is far above what it
// is used at (a backlog let out all at once would flood a full window).
func (a *aimd) raise(now time.Time, mode AdaptiveMode, queued int) {
	since := later(a.lastCut, a.lastRaise)
	dt := max(now.Sub(since), 0).Seconds()
	r := a.rate() + min(a.step, max(adaptiveMinSlope, adaptiveGrowth*a.rate())*dt)
	a.lastRaise = now
	a.set(now, r)
	if a.successes++; a.successes%adaptiveRun == 0 {
		a.step *= 2
	}
	if mode == AdaptiveAuto && queued == 0 && r >= adaptiveRelease*max(a.ceiling, a.meter.at(now)) {
		a.active = false
	}
}

func (a *aimd) set(now time.Time, r float64) {
	if a.lim == nil {
		a.lim = rate.NewLimiter(rate.Limit(r), 1)
		return
	}
	a.lim.SetLimitAt(now, rate.Limit(r))
}

// Send-rate measurement, as in the AWS SDKs' adaptive retry mode: counts per
// half-second bucket, smoothed.
const (
	meterBucket = 500 * time.Millisecond
	meterSmooth = 0.8 // weight of the latest bucket
)

// sendMeter measures a scope's send rate in requests per second.
type sendMeter struct {
	bucket time.Time // start of the current bucket
	count  int       // sends in the current bucket
	rate   float64   // smoothed rate of the completed buckets
}

func (m *sendMeter) add(now time.Time) {
	m.roll(now)
	m.count++
}

// at returns the measured rate at now: the smoothed rate, or the current
// bucket's if that is higher (a burst that began within the bucket).
func (m *sendMeter) at(now time.Time) float64 {
	m.roll(now)
	return max(m.rate, float64(m.count)/meterBucket.Seconds())
}

func (m *sendMeter) roll(now time.Time) {
	b := now.Truncate(meterBucket)
	if m.bucket.IsZero() {
		m.bucket = b
		return
	}
	if !b.After(m.bucket) {
		return
	}
	m.rate = meterSmooth*float64(m.count)/meterBucket.Seconds() + (1-meterSmooth)*m.rate
	for empty := b.Sub(m.bucket)/meterBucket - 1; empty > 0 && m.rate > 0; empty-- {
		m.rate *= 1 - meterSmooth // idle buckets count as 0 sends
		if m.rate < 1e-9 {
			m.rate = 0
		}
	}
	m.bucket, m.count = b, 0
}
