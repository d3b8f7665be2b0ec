package memstore

import (
	"net/http"
	"time"
)

// Approximate resets (issue 15).
//
// Many servers send their reset in whole unix seconds, truncated: ulule/limiter
// answered `X-RateLimit-Reset: 1796440370` (50.000) for a window that ran
// from 49.93 to 50.93, and go-chi/httprate names its current window's end the
// same way. Taken at its word, such a reset lets a pool send up to a second
// before the server's window ends, and every request sent then is refused
// while its answer still names the same past reset: a stream of 429s.
//
// A reset on a whole second R is therefore read as "somewhere in [R, R+1 s)",
// and a pool narrows that second down with what it saw, never past R+1 s:
//
//   - Anchored windows. An answer saying Remaining = Limit−1 was the first
//     request of its server window, which began when it arrived: at S,
//     between its grant g and its answer at. A window of length W (whole
//     seconds, as its resets are) ends at E = S+W, and R <= E < R+1 s, so
//     W < R+1 s−S <= R+1 s−g. Taking W as the largest whole second below
//     R+1 s−g gives E <= at+W: the window's answers (they name R) hold until
//     min(at+W, R+1 s). With a round trip of 1 ms that is 1 ms past the real
//     end, where R+1 s would waste up to a second per window. (If no whole
//     second of at least 1 s lies below R+1 s−g, the reset was already past
//     when the request went out: no anchor.) On a clock at whole seconds
//     (g = at, both whole) this is exactly R.
//   - Past resets. An answer whose whole-second reset is not after its
//     arrival (httprate's first answers said 26.000 at 26.154) holds until
//     R+1 s: the window has not ended, or the answer would name the next.
//   - Proven early. A 429 naming the pool, to a request sent at or after
//     the whole-second reset its answer names, proves that the server's
//     resets come early: from then on every whole-second reset the pool
//     hears holds until R+1 s unless anchored; and if the request was sent
//     at or after its window's anchored end, anchors are wrong for this
//     server (its windows do not start at a request, or are not whole
//     seconds) and every whole-second reset holds until R+1 s.
//
// Every hold these rules make ends at most 1 s after the reset the server
// named, and the pool then probes one request at a time, as after any reset.
// Resets not on a whole second (relative resets such as express's `reset=1`
// or throttled's seconds-until-full, read against the caller's clock, and
// millisecond resets) are taken as said.

// resetTrust is how far a pool trusts the whole-second resets it hears.
type resetTrust uint8

const (
	resetsAsSaid     resetTrust = iota // trusted unless past or anchored
	resetsEarly                        // a 429 came after a reset: R+1 s unless anchored
	resetsUnanchored                   // a 429 came after an anchored end: R+1 s always
)

// resetResolution is the resolution of a reset on a whole second.
const resetResolution = time.Second

// resetAnchor is the latest server window a pool saw begin (see above):
// its answers name the reset at unix second reset, and it ends by end.
type resetAnchor struct {
	reset int64
	end   time.Time
}

func onWholeSecond(t time.Time) bool { return t.Nanosecond() == 0 }

// anchorWindow records the window a fresh answer a (Remaining = Limit−1,
// naming the pool, whole-second reset) began.
func (p *learnedPool) anchorWindow(a answer) {
	rl := a.o.RateLimit
	if p.trust == resetsUnanchored || rl.Limit <= 0 || rl.Remaining != rl.Limit-1 ||
		rl.Reset.IsZero() || !onWholeSecond(rl.Reset) || a.granted.IsZero() {
		return
	}
	latest := rl.Reset.Add(resetResolution)
	span := latest.Sub(a.granted) // saturates for absurd resets
	if span <= resetResolution {
		return // no whole second of at least 1 s below it (and span-1 cannot wrap)
	}
	w := (span - 1) / resetResolution * resetResolution
	p.anchor = resetAnchor{reset: rl.Reset.Unix(), end: earlier(a.at.Add(w), latest)}
}

// anchoredWindow is the length of the anchored window naming the
// whole-second reset r, to the whole second, as seen from an answer at at
// (no earlier than the anchoring one): 0 if that window is not anchored,
// or anchored at R+1 s (its length unknown).
func (p *learnedPool) anchoredWindow(r, at time.Time) time.Duration {
	if p.trust == resetsUnanchored || !onWholeSecond(r) || p.anchor.reset != r.Unix() ||
		!p.anchor.end.Before(r.Add(resetResolution)) {
		return 0
	}
	// end = (the anchoring answer's time) + w, that answer no later than at.
	w := p.anchor.end.Sub(at)
	return max(resetResolution, (w+resetResolution-1)/resetResolution*resetResolution)
}

// doubtResets learns from a 429 naming the pool (see "Proven early").
func (p *learnedPool) doubtResets(a answer) {
	r := a.o.RateLimit.Reset
	if a.o.Status != http.StatusTooManyRequests || r.IsZero() || !onWholeSecond(r) || a.granted.Before(r) {
		return
	}
	switch {
	case p.anchor.reset == r.Unix() && !a.granted.Before(p.anchor.end):
		p.trust = resetsUnanchored
	case p.trust == resetsAsSaid:
		p.trust = resetsEarly
	}
}

// resetEnd is when a cap naming reset r, heard at at, ends (see above).
func (p *learnedPool) resetEnd(r, at time.Time) time.Time {
	if !onWholeSecond(r) {
		return r
	}
	switch {
	case p.trust != resetsUnanchored && p.anchor.reset == r.Unix():
		return p.anchor.end
	case p.trust != resetsAsSaid || !r.After(at):
		return r.Add(resetResolution)
	}
	return r
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
