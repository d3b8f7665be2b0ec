package pacer

import (
	"net/http"
	"time"
)

// Bounds of what a scope learns from response headers.
const (
	// maxLimitCaps bounds the caps a scope keeps; beyond it two are merged
	// into one as strict as both.
	maxLimitCaps = 8
	// defaultLearnedWindow is how long a Remaining without a Reset (and no
	// window learned yet) is trusted.
	defaultLearnedWindow = time.Second
)

// headerState is what the scope's latest answered response (status below
// 500) said about rate-limit headers.
type headerState uint8

const (
	headersUnknown headerState = iota // no such response yet
	headersSent                       // it carried rate-limit headers
	headersAbsent                     // it did not (a server failing open)
)

// limitCap is one learned bound: while now is before until, a grant needs
// learnedLimits.sent < sent.
type limitCap struct {
	sent  int64
	until time.Time
}

// learnedLimits is what a scope's responses said about the server's limit,
// turned into bounds on the scope's cumulative count of sent requests.
//
// sent counts the grants that were (or may yet be) sent; done counts the
// answers to them. A grant carries done as it was at grant time (Slot.Mark).
// When the answer X says Remaining R, the server has counted X and every
// request answered before X was sent, so at most R further requests may
// reach it: the requests not answered before X was sent may or may not have
// been counted, and are assumed to count against R. Hence the cap
//
//	sent <= doneAtGrant(X) + 1 + R,
//
// valid until X's Reset. Each cap is safe on its own, whatever order the
// answers arrive in, so a stale answer can only add a looser cap. The scope
// keeps the caps no other cap is stricter and longer-lived than, at most
// maxLimitCaps of them.
//
// These caps hold back up to the number of requests in flight around each
// answer. When the scope falls quiet (every request sent is answered), all
// of them have been counted, so the lowest Remaining said since the scope
// was last quiet is exact and replaces them (see epochLow): a burst of
// concurrent requests can use the server's whole limit.
//
// A learnedLimits is not safe for concurrent use; its scope's mutex guards it.
type learnedLimits struct {
	sent, done int64
	caps       [maxLimitCaps]limitCap // by until ascending, hence by sent ascending
	ncaps      int
	blocked    time.Time // a 429's Retry-After: no grant before it
	headers    headerState
	latest     RateLimit     // the latest RateLimit observed
	window     time.Duration // the latest window the server named
	epoch      epochLow      // the lowest Remaining said since the scope was last quiet
	started    bool          // epoch is initialised
	// doubt is set by a 5xx answer without rate-limit headers, which the
	// server may or may not have counted, and cleared by an answer with
	// headers. In doubt, a scope its caps hold back probes one request at a
	// time instead of waiting for the reset: a 503 storm must not park the
	// scope for a whole window once the server has recovered.
	doubt bool
	bare  bareHold // after bare 429s
}

// epochLow tracks, for the answers since the scope last had nothing in
// flight (its epoch), the lowest Remaining said and its reset. When the
// scope falls quiet again, every request it sent has been counted by the
// server, and the last one the server counted said a Remaining no lower than
// this: so at most low more may go out, exactly, with no request in doubt.
// That exact cap replaces the caps before it, which had to assume the
// requests in flight around them were not yet counted.
type epochLow struct {
	low   int64 // -1: no answer with headers yet
	until time.Time
	blind bool // an answer of the epoch carried no headers: no exact cap
}

// note records an answer of the epoch.
func (e *epochLow) note(o Outcome, until time.Time) {
	if !o.HasRateLimit {
		e.blind = true
		return
	}
	r := int64(max(o.RateLimit.Remaining, 0))
	switch {
	case e.low < 0 || r < e.low:
		e.low, e.until = r, until
	case r == e.low:
		e.until = later(e.until, until)
	}
}

// granted counts a grant and returns its mark: done at grant time.
func (l *learnedLimits) granted() uint64 {
	l.sent++
	return uint64(l.done)
}

// observe learns from the answer to a slot granted with mark. It must be
// called for sent requests only; unsent ones just take back their grant.
func (l *learnedLimits) observe(mark uint64, o Outcome, granted, at time.Time) {
	if !o.Sent {
		l.sent--
		return
	}
	l.done++
	l.bare.observe(o, granted, at)
	switch {
	case o.HasRateLimit:
		l.doubt = false
	case o.Status >= 500:
		l.doubt = true
	}
	if o.Status > 0 && o.Status < 500 {
		l.headers = headersAbsent
		if o.HasRateLimit {
			l.headers = headersSent
		}
	}
	if o.Status == http.StatusTooManyRequests && o.RetryAfter > 0 {
		l.blocked = later(l.blocked, at.Add(o.RetryAfter))
	}
	if !l.started {
		l.epoch, l.started = epochLow{low: -1}, true
	}
	l.epoch.note(o, l.capEnd(o.RateLimit, at))
	if o.HasRateLimit {
		l.learn(int64(mark), o.RateLimit, at)
	}
	if l.done == l.sent {
		l.settle(at)
	}
}

// settle runs when the scope falls quiet (every request sent is answered):
// the epoch's lowest Remaining becomes the exact cap; a new epoch begins.
func (l *learnedLimits) settle(at time.Time) {
	e := l.epoch
	l.epoch = epochLow{low: -1}
	if e.blind || e.low < 0 || !e.until.After(at) {
		return
	}
	l.ncaps = 0
	l.addCap(limitCap{sent: l.sent + e.low, until: e.until})
}

// capEnd is how long what rl says holds: its Reset, else the learned window.
func (l *learnedLimits) capEnd(rl RateLimit, at time.Time) time.Time {
	if !rl.Reset.IsZero() {
		return rl.Reset
	}
	return at.Add(positiveOr(rl.Window, positiveOr(l.window, defaultLearnedWindow)))
}

// learn adds the cap said by rl, on an answer to a request granted when
// doneAtGrant answers were in.
func (l *learnedLimits) learn(doneAtGrant int64, rl RateLimit, at time.Time) {
	l.latest = rl
	if rl.Window > 0 {
		l.window = rl.Window
	}
	until := l.capEnd(rl, at)
	if !until.After(at) {
		return // already reset: nothing to hold back
	}
	l.addCap(limitCap{sent: doneAtGrant + 1 + int64(max(rl.Remaining, 0)), until: until})
}

// addCap inserts c unless a kept cap is at least as strict for at least as
// long, dropping the caps c makes redundant.
func (l *learnedLimits) addCap(c limitCap) {
	kept := l.caps[:0]
	for _, k := range l.caps[:l.ncaps] {
		if k.sent <= c.sent && !k.until.Before(c.until) {
			return // c adds nothing
		}
		if c.sent <= k.sent && !c.until.Before(k.until) {
			continue // k adds nothing beside c
		}
		kept = append(kept, k)
	}
	l.ncaps = len(kept)
	if l.ncaps == maxLimitCaps {
		l.mergeClosest()
	}
	i := l.ncaps
	for i > 0 && l.caps[i-1].until.After(c.until) {
		l.caps[i] = l.caps[i-1]
		i--
	}
	l.caps[i] = c
	l.ncaps++
}

// mergeClosest replaces the two neighbouring caps whose ends are closest by
// one cap as strict as both: the smaller count, until the later end.
func (l *learnedLimits) mergeClosest() {
	best := 0
	for i := 1; i+1 < l.ncaps; i++ {
		if l.caps[i+1].until.Sub(l.caps[i].until) < l.caps[best+1].until.Sub(l.caps[best].until) {
			best = i
		}
	}
	l.caps[best].until = l.caps[best+1].until
	copy(l.caps[best+1:l.ncaps], l.caps[best+2:l.ncaps])
	l.ncaps--
}

// prune forgets the caps that have expired at now.
func (l *learnedLimits) prune(now time.Time) {
	n := 0
	for n < l.ncaps && !l.caps[n].until.After(now) {
		n++
	}
	if n > 0 {
		copy(l.caps[:], l.caps[n:l.ncaps])
		l.ncaps -= n
	}
}

// probing reports whether the scope must send one request at a time to learn
// where it stands: the server sends rate-limit headers (or, for a scope with
// no configured budget, may send them) but no cap is in force.
func (l *learnedLimits) probing(configured bool) bool {
	return l.ncaps == 0 && (l.headers == headersSent || l.headers == headersUnknown && !configured)
}

// gate adds the learned limits to g.
func (l *learnedLimits) gate(g *grantGate, inFlight int, configured bool) {
	l.prune(g.now)
	g.until(l.blocked)
	l.bare.gate(g, inFlight)
	capped := l.ncaps > 0 && l.caps[0].sent <= l.sent // caps are by sent ascending
	if capped && l.doubt {
		capped = false // probe instead (see doubt)
		if inFlight > 0 {
			g.untilAnswer()
		}
	}
	for i := 0; capped && i < l.ncaps && l.caps[i].sent <= l.sent; i++ {
		g.until(l.caps[i].until) // this prefix blocks
	}
	if l.probing(configured) && inFlight > 0 {
		g.untilAnswer()
	}
}

// holds reports whether anything learned is still in force at now.
func (l *learnedLimits) holds(now time.Time) bool {
	l.prune(now)
	return l.ncaps > 0 || l.blocked.After(now) || l.bare.next > 0
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
