package memstore

import (
	"net/http"
	"time"
)

// Bounds of the scope-wide hold after a bare 429.
const (
	bareHoldMin = time.Second
	bareHoldMax = time.Minute
)

// bareHold is what a scope does after a bare 429: one with no Retry-After,
// no body hint and no rate-limit headers, from a server that will not say
// when it can take more. The whole scope holds back, not only the refused
// request: one refusal costs one probe, not one per waiting request. The
// hold starts at bareHoldMin and doubles with each probe refused again, up to
// bareHoldMax; when it ends, one request at a time probes until an answer
// other than 429 arrives, after which adaptive mode (see AdaptiveMode) sets
// the pace. So a server that refuses everything for its whole window (6000
// per five minutes, spent in one burst) sees a handful of probes, not a
// stream of retries. While a lockout is measured to infer the server's
// limit (see inference), probes come closer: at most 1/32 of the time since
// the run began apart.
//
// A bareHold is not safe for concurrent use; its scope's mutex guards it.
type bareHold struct {
	until   time.Time     // no grant before it
	next    time.Duration // the current hold's length
	probing bool          // after a hold: one request at a time
	// The run of successes before the current hold: from runStart, runOK
	// of them. When a probe is taken again, runOK over the time since
	// runStart is the rate the server sustained, window and lockout
	// included; resume holds it for adaptive mode.
	runStart time.Time
	runOK    int
	resume   float64 // requests per second; 0 when none is pending
}

// observe learns from the answer to a request granted at granted; gap, if
// positive, replaces the doubling hold while a lockout is measured (see
// inference.gap).
func (b *bareHold) observe(o Outcome, granted, at time.Time, gap time.Duration) {
	if !o.Sent || o.Status == 0 || o.Status >= 500 {
		return // says nothing about the limit
	}
	if o.Status != http.StatusTooManyRequests {
		b.taken(granted, at)
		return
	}
	if o.HasRateLimit || o.RetryAfter > 0 {
		return
	}
	switch {
	case b.next == 0:
		b.next = bareHoldMin
	case !granted.Before(b.until): // a probe, sent once the hold was over: refused again
		b.next = min(2*b.next, bareHoldMax)
	default:
		return // one of the burst that caused the current hold
	}
	if gap > 0 {
		b.next = gap
	}
	b.until, b.probing = at.Add(b.next), true
}

// taken records an answer other than 429, at at, to a request granted at
// granted: the server takes requests again, and the hold ends. A request
// sent before the hold began counts in the run of successes. A probe that
// ends a hold in which probes were refused ends a lockout: the server
// refused the scope for the rest of its window, and the run's successes
// over the time since the run began (lockout included) are the rate that
// window sustains, which resume offers to adaptive mode.
func (b *bareHold) taken(granted, at time.Time) {
	run := *b
	if b.next > 0 && !granted.Before(b.until) {
		run = bareHold{runStart: at}
		if span := at.Sub(b.runStart).Seconds(); b.next > bareHoldMin && b.runOK > 0 && span > 0 {
			run.resume = float64(b.runOK) / span
		}
	}
	if run.runOK == 0 {
		run.runStart = at
	}
	*b = bareHold{runStart: run.runStart, runOK: run.runOK + 1, resume: run.resume}
}

// takeResume returns the rate measured when the latest hold ended, once; 0
// if none is pending.
func (b *bareHold) takeResume() float64 {
	r := b.resume
	b.resume = 0
	return r
}

// probe reports whether a request granted at granted was a probe: sent once
// a hold was over. Its refusal says the server's window is still full, not
// that the scope sends too fast: the hold grows, and adaptive mode must not
// cut the rate for it (a lockout of a whole window would otherwise leave the
// rate at its floor when the server takes requests again).
func (b *bareHold) probe(granted time.Time) bool {
	return b.next > 0 && !granted.Before(b.until)
}

// gate adds the hold to g.
func (b *bareHold) gate(g *grantGate, inFlight int) {
	g.until(b.until)
	if b.probing && inFlight > 0 {
		g.untilAnswer()
	}
}
