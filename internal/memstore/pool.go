package memstore

import (
	"math"
	"net/http"
	"slices"
	"time"
)

// poolID tells the server's limits apart: the name the server gives the
// pool (GitHub's X-RateLimit-Resource, Discord's bucket, an IETF policy
// name) when it gives one, else the Limit its answers name (0 when they
// name none). Routes whose answers name the same Limit are taken to draw
// from one pool: merging two pools that are in fact separate only makes
// pacer stricter than it needs to be; a named pool needs no such guess, so
// two pools of equal Limit (GitHub's core and search) stay apart. (The
// Window is left out: servers name it on some answers and not on others.)
type poolID struct {
	name  string
	limit int
}

func poolOf(rl RateLimit) poolID {
	if rl.Pool != "" {
		return poolID{name: rl.Pool}
	}
	return poolID{limit: rl.Limit}
}

// limitCap is one learned bound: while now is before until, a grant needs
// learnedPool.sent < sent.
type limitCap struct {
	sent  int64
	until time.Time
}

// learnedPool is what a scope's answers said about one of the server's
// limits (see poolID), turned into bounds on the pool's cumulative count of
// sent requests.
//
// sent counts the grants that were (or may yet be) sent and count against
// the pool; done counts the answers to them. A grant carries done as it was
// at grant time (its mark). When the answer X says Remaining R, the server
// has counted X and every request answered before X was sent, so at most R
// further requests may reach it: the requests not answered before X was
// sent may or may not have been counted, and are assumed to count against
// R. Hence the cap
//
//	sent <= doneAtGrant(X) + 1 + R,
//
// valid until X's Reset. Each cap is safe on its own, whatever order the
// answers arrive in, so a stale answer can only add a looser cap. The pool
// keeps the caps no other cap is stricter and longer-lived than, at most
// maxLimitCaps of them.
//
// These caps hold back up to the number of requests in flight around each
// answer. When the pool falls quiet (every request it counts is answered),
// all of them have been counted, so the lowest Remaining said since the
// pool was last quiet is exact and replaces them (see epochLow): a burst of
// concurrent requests can use the server's whole limit.
//
// A learnedPool is not safe for concurrent use; its scope's mutex guards it.
type learnedPool struct {
	id         poolID
	sent, done int64
	// caps, by until ascending, hence by sent ascending: at most
	// maxLimitCaps, grown as needed, nil while none is in force (an idle
	// pool keeps no array of them)
	caps    []limitCap
	blocked time.Time     // a 429's Retry-After: no grant before it
	window  time.Duration // the window the answers named
	epoch   epochLow      // the lowest Remaining said since the pool was last quiet
	slide   *slider       // made when an answer says the pool is used up (slide.go)
	// The latest window the pool saw begin (see resets.go).
	anchor resetAnchor
	// A pool made while requests were in flight counts them (they may draw
	// from it): the grants numbered up to orphanSeq that it did not count
	// at grant time, orphans of them still unanswered (at most the
	// requests in flight at that time).
	orphanSeq uint64
	orphans   int32
	trust     resetTrust  // how far the pool trusts whole-second resets
	headers   headerState // whether the pool's latest answer named its limit
	// doubt is set by a 5xx answer without rate-limit headers, which the
	// server may or may not have counted, and cleared by an answer naming
	// the pool. In doubt, a pool its caps hold back probes one request at a
	// time instead of waiting for the reset: a 503 storm must not park it
	// for a whole window once the server has recovered.
	doubt bool
}

// newPool returns the pool of id, made at an answer: it counts the
// answered request (still to be observed) and the others in flight, granted
// up to seq.
func newPool(id poolID, others int, seq uint64) learnedPool {
	return learnedPool{
		id: id, sent: int64(1 + others), epoch: epochLow{low: -1},
		orphanSeq: seq, orphans: int32(min(others, math.MaxInt32)),
	}
}

// epochLow tracks, for the answers since the pool last had nothing in
// flight (its epoch), the lowest Remaining said and its reset. When the
// pool falls quiet again, every request it counted has been counted by the
// server, and the last one the server counted said a Remaining no lower
// than this: so at most low more may go out, exactly, with no request in
// doubt. That exact cap replaces the caps before it, which had to assume
// the requests in flight around them were not yet counted.
type epochLow struct {
	low   int64 // -1: no answer with headers yet
	until time.Time
	blind bool // an answer of the epoch did not name the pool: no exact cap
}

// note records an answer of the epoch; named reports whether it named the
// pool's limit.
func (e *epochLow) note(o Outcome, named bool, until time.Time) {
	if !named {
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

// answer is an answer as one pool sees it.
type answer struct {
	o           Outcome
	granted, at time.Time // when its request was granted, and answered
	// named: its headers named this pool's limit; fresh: it made the pool.
	named, fresh bool
	// eclipse: it named another pool on a route drawing from both. The
	// server names its most restrictive limit, so this pool is not the
	// binding one now: once its caps expire it need not probe.
	eclipse bool
	// elsewhere: it named another pool on a route known to draw from that
	// one alone, so it did not draw from this pool.
	elsewhere bool
}

// answered records the answer a to a request the pool counts.
func (p *learnedPool) answered(a answer) {
	o := a.o
	p.done++
	switch {
	case a.named:
		p.doubt = false
		p.doubtResets(a)
		p.anchorWindow(a)
		p.slideNote(a)
	case o.Status >= 500 && !o.HasRateLimit:
		p.doubt = true
	}
	if o.Status > 0 && o.Status < 500 {
		switch {
		case a.named:
			p.headers = headersSent
		case !o.HasRateLimit || a.eclipse:
			p.headers = headersAbsent
		}
	}
	if a.named && o.Status == http.StatusTooManyRequests && o.RetryAfter > 0 {
		p.blocked = later(p.blocked, a.at.Add(o.RetryAfter))
	}
	p.epoch.note(o, a.named, p.capEnd(o.RateLimit, a.at))
}

// observe learns, in pool i, from the answer a to the grant r.
func (p *learnedPool) observe(r grantRecord, i int, a answer) {
	mark, counted := r.counts(i)
	switch {
	case a.elsewhere && (counted || p.takeOrphan(r.seq)):
		p.sent-- // counted in case it drew from this pool: it did not
	case counted:
		p.answered(a)
		if a.named {
			p.learn(mark, a.o.RateLimit, a.at)
		}
	case a.fresh: // the pool counts it since it was made
		p.answered(a)
		p.learn(0, a.o.RateLimit, a.at)
	case a.named:
		// Not counted at its grant, yet it drew from this pool: in
		// flight when the pool was made (an orphan), or on a route
		// thought to draw elsewhere. Count it; with no mark, what it
		// said is not learned (the caps stand).
		if !p.takeOrphan(r.seq) {
			p.sent++
		}
		p.answered(a)
	case p.takeOrphan(r.seq):
		p.answered(a)
	default:
		return
	}
	p.settle(a.at)
}

// grant counts a grant at now against the pool.
func (p *learnedPool) grant(now time.Time) {
	p.sent++
	if p.slide != nil {
		p.slide.granted(now)
	}
}

// takeOrphan reports whether the grant numbered seq, which the pool did not
// count at grant time, was in flight when the pool was made (so the pool
// counted it then), and takes it off the orphans.
func (p *learnedPool) takeOrphan(seq uint64) bool {
	if p.orphans == 0 || seq > p.orphanSeq {
		return false
	}
	p.orphans--
	return true
}

// settle runs after an answer: when the pool falls quiet (every request it
// counts is answered), the epoch's lowest Remaining becomes the exact cap,
// and a new epoch begins.
func (p *learnedPool) settle(at time.Time) {
	if p.done != p.sent {
		return
	}
	e := p.epoch
	p.epoch = epochLow{low: -1}
	if e.blind || e.low < 0 || !e.until.After(at) || p.sliding() {
		return
	}
	p.caps = p.caps[:0]
	p.addCap(limitCap{sent: satAdd(p.sent, e.low), until: e.until})
}

// capEnd is how long what rl, heard at at, says holds: its Reset (read as
// resets.go says), else the learned window.
func (p *learnedPool) capEnd(rl RateLimit, at time.Time) time.Time {
	if !rl.Reset.IsZero() {
		return p.resetEnd(rl.Reset, at)
	}
	return at.Add(positiveOr(rl.Window, positiveOr(p.window, defaultLearnedWindow)))
}

// learn adds the cap said by rl, on an answer to a request granted when
// doneAtGrant answers were in.
func (p *learnedPool) learn(doneAtGrant int64, rl RateLimit, at time.Time) {
	if rl.Window > 0 {
		p.window = rl.Window
	}
	if p.sliding() {
		return // the counter decides (slide.go)
	}
	until := p.capEnd(rl, at)
	if !until.After(at) {
		return // already reset: nothing to hold back
	}
	p.addCap(limitCap{sent: satAdd(doneAtGrant+1, int64(max(rl.Remaining, 0))), until: until})
}

// addCap inserts c unless a kept cap is at least as strict for at least as
// long, dropping the caps c makes redundant.
func (p *learnedPool) addCap(c limitCap) {
	kept := p.caps[:0]
	for _, k := range p.caps {
		if k.sent <= c.sent && !k.until.Before(c.until) {
			return // c adds nothing
		}
		if c.sent <= k.sent && !c.until.Before(k.until) {
			continue // k adds nothing beside c
		}
		kept = append(kept, k)
	}
	clear(p.caps[len(kept):])
	p.caps = kept
	if len(p.caps) == maxLimitCaps {
		p.mergeClosest()
	}
	i := len(p.caps)
	for i > 0 && p.caps[i-1].until.After(c.until) {
		i--
	}
	p.caps = slices.Insert(p.caps, i, c)
}

// mergeClosest replaces the two neighbouring caps whose ends are closest by
// one cap as strict as both: the smaller count, until the later end.
func (p *learnedPool) mergeClosest() {
	best := 0
	for i := 1; i+1 < len(p.caps); i++ {
		if p.caps[i+1].until.Sub(p.caps[i].until) < p.caps[best+1].until.Sub(p.caps[best].until) {
			best = i
		}
	}
	p.caps[best].until = p.caps[best+1].until
	p.caps = slices.Delete(p.caps, best+1, best+2)
}

// prune forgets the caps that have expired at now, and their array with
// the last of them.
func (p *learnedPool) prune(now time.Time) {
	n := 0
	for n < len(p.caps) && !p.caps[n].until.After(now) {
		n++
	}
	switch {
	case n == len(p.caps):
		p.caps = nil
	case n > 0:
		p.caps = slices.Delete(p.caps, 0, n)
	}
}

// gate adds the pool's bounds to g: its Retry-After, its caps (or, in
// doubt, one probe at a time past them), and one request at a time while
// no cap is in force but the server names the pool's limit.
func (p *learnedPool) gate(g *grantGate) {
	p.prune(g.now)
	g.until(p.blocked)
	if p.slide != nil {
		p.slide.gate(g)
		if p.sliding() {
			return
		}
	}
	inFlight := p.sent > p.done
	capped := len(p.caps) > 0 && p.caps[0].sent <= p.sent // caps are by sent ascending
	if capped && p.doubt {
		capped = false // probe instead (see doubt)
		if inFlight {
			g.untilAnswer()
		}
	}
	for i := 0; capped && i < len(p.caps) && p.caps[i].sent <= p.sent; i++ {
		g.until(p.caps[i].until) // this prefix blocks
	}
	if len(p.caps) == 0 && p.headers == headersSent && inFlight {
		g.untilAnswer()
	}
}

// holds reports whether anything the pool learned is in force at now.
func (p *learnedPool) holds(now time.Time) bool {
	p.prune(now)
	return len(p.caps) > 0 || p.blocked.After(now) || p.slide != nil && p.slide.holds(now)
}

// satAdd returns a+b for b >= 0, saturating at math.MaxInt64: a server's
// Remaining may be anything up to it, and a cap that wrapped around would
// hold the pool back until its reset instead of letting it send.
// (doneAtGrant+1 and sent count requests actually granted: they do not come
// near it.) Times need no such care: time.Time's Add and Sub saturate.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
