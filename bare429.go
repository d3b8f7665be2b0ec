package pacer

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
// stream of retries.
//
// A bareHold is not safe for concurrent use; its scope's mutex guards it.
type bareHold struct {
	until   time.Time     // no grant before it
	next    time.Duration // the current hold's length
	probing bool          // after a hold: one request at a time
}

// observe learns from the answer to a request granted at granted.
func (b *bareHold) observe(o Outcome, granted, at time.Time) {
	if !o.Sent || o.Status == 0 || o.Status >= 500 {
		return // says nothing about the limit
	}
	if o.Status != http.StatusTooManyRequests || o.HasRateLimit || o.RetryAfter > 0 {
		if o.Status != http.StatusTooManyRequests {
			*b = bareHold{} // the server takes requests again
		}
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
	b.until, b.probing = at.Add(b.next), true
}

// gate adds the hold to g.
func (b *bareHold) gate(g *grantGate, inFlight int) {
	g.until(b.until)
	if b.probing && inFlight > 0 {
		g.untilAnswer()
	}
}
