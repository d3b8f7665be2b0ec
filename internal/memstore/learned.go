package memstore

import (
	"net/http"
	"time"
)

// Bounds of what a scope learns from response headers.
const (
	// maxLimitCaps bounds the caps a pool keeps; beyond it two are merged
	// into one as strict as both.
	maxLimitCaps = 8
	// defaultLearnedWindow is how long a Remaining without a Reset (and no
	// window learned yet) is trusted.
	defaultLearnedWindow = time.Second
	// maxPools bounds the limits a scope tells apart; an answer naming yet
	// another one teaches nothing but the scope-wide state.
	maxPools = 8
	// maxRoutes bounds the routes a scope remembers; requests on further
	// routes count in every pool.
	maxRoutes = 512
)

// headerState is what the latest answered response (status below 500) of a
// scope or pool said about rate-limit headers.
type headerState uint8

const (
	headersUnknown headerState = iota // no such response yet
	headersSent                       // it carried rate-limit headers
	headersAbsent                     // it did not (a server failing open)
)

// Route states besides a pool index.
const (
	routeUnseen int8 = -1 // no answer has named a limit for it yet
	routeMixed  int8 = -2 // its answers named different limits
)

// routeState is what a scope knows of one route (see routeKey).
type routeState struct {
	pool     int8 // index of its pool, routeUnseen or routeMixed
	inFlight int32
}

// learnedLimits is what a scope's responses said about the server's limits.
//
// A server may keep several limits for one scope: one per endpoint, with a
// shared pool for the rest (vendor-docs/campaigns-api.txt). The answers say
// which one they speak for by the Limit they name, so a scope keeps one
// learnedPool per limit named (at most maxPools), and learns which pool
// each route draws from (remembering at most maxRoutes routes; requests on
// others count against every pool). A request on a route known to draw from one pool counts
// against that pool only and waits for that pool only: a tight endpoint
// holds back neither a generous one nor the shared pool. A request on a
// route not known yet, or whose answers named different limits, counts
// against every pool and waits for all of them; while a route is unseen,
// it sends one request at a time, as a new scope does, until an answer
// names its limit. A pool made by an answer counts the requests in flight
// at that moment, which may draw from it. So with one limit per scope this
// is exactly one pool, and with several no answer is ever trusted for more
// than it said.
//
// Scope-wide stay: a Retry-After on a 429 that named no limit, the hold
// after bare 429s, and the latest RateLimit (for Stats).
//
// A learnedLimits is not safe for concurrent use; its scope's mutex guards it.
type learnedLimits struct {
	pools []learnedPool // grown as answers name limits, up to maxPools
	// The routes remembered: the first one inline (most scopes see one or
	// a few), the others in routes, made when a second route comes.
	first   routeEntry
	routes  map[uint64]*routeState
	seq     uint64      // grants so far; a grant's number
	blocked time.Time   // a 429's Retry-After when it named no limit
	headers headerState // of the scope's latest answer
	// inferOff: the scope infers no limit (its server spoke, or the
	// evidence was inconsistent); else infer, made at its first answer.
	inferOff bool
	latest   RateLimit  // the latest RateLimit observed
	bare     bareHold   // after bare 429s
	infer    *inference // a header-less server's limit, from its lockout
}

// grantRecord is what a slot carries of its grant: its number, its route,
// and the pools it counts against with their marks (done at grant time).
// The zero grantRecord counts against no pool.
type grantRecord struct {
	seq   uint64
	route uint64
	one   int8  // its one pool's index + 1, or 0: the first n pools
	n     int8  // pools counted when one is 0
	mark  int64 // the mark in its one pool
	marks *[maxPools]int64
}

// counts reports whether the grant counts against pool i, and its mark there.
func (r *grantRecord) counts(i int) (int64, bool) {
	switch {
	case r.one > 0:
		return r.mark, int(r.one) == i+1
	case i < int(r.n):
		return r.marks[i], true
	}
	return 0, false
}

// routeEntry is a route remembered inline.
type routeEntry struct {
	key   uint64
	used  bool
	state routeState
}

// find returns the state of the route key, nil if it is not remembered.
func (l *learnedLimits) find(key uint64) *routeState {
	if l.first.used && l.first.key == key {
		return &l.first.state
	}
	return l.routes[key]
}

// route returns the state of the route key, made unseen if there is room;
// nil if the scope remembers too many routes.
func (l *learnedLimits) route(key uint64) *routeState {
	if rs := l.find(key); rs != nil {
		return rs
	}
	if !l.first.used {
		l.first = routeEntry{key: key, used: true, state: routeState{pool: routeUnseen}}
		return &l.first.state
	}
	if 1+len(l.routes) >= maxRoutes {
		return nil
	}
	if l.routes == nil {
		l.routes = make(map[uint64]*routeState)
	}
	rs := &routeState{pool: routeUnseen}
	l.routes[key] = rs
	return rs
}

// class returns the wait-queue class of a request on route key: its pool's
// index when the route is known to draw from one pool, else classOther.
func (l *learnedLimits) class(key uint64) int {
	if rs := l.find(key); rs != nil && rs.pool >= 0 {
		return int(rs.pool)
	}
	return classOther
}

// granted counts a grant at now on route key and returns its record.
func (l *learnedLimits) granted(key uint64, now time.Time) grantRecord {
	l.seq++
	r := grantRecord{seq: l.seq, route: key}
	rs := l.route(key)
	if rs != nil && rs.pool >= 0 {
		p := &l.pools[rs.pool]
		p.grant(now)
		r.one, r.mark = rs.pool+1, p.done
		return r
	}
	if rs != nil && rs.pool == routeUnseen {
		rs.inFlight++
	}
	if len(l.pools) > 0 {
		r.marks, r.n = new([maxPools]int64), int8(len(l.pools))
		for i := range len(l.pools) {
			r.marks[i] = l.pools[i].done
			l.pools[i].grant(now)
		}
	}
	return r
}

// observe learns from the answer o to the grant r (granted at granted,
// answered at at); others is the number of the scope's requests still in
// flight. Unsent requests just take back their grant. It returns the pool
// the answer taught r's route to draw from, or -1 if it taught none.
func (l *learnedLimits) observe(r grantRecord, o Outcome, granted, at time.Time, others int) (mapped int) {
	l.leaveRoute(r)
	if !o.Sent {
		l.unsent(r)
		return -1
	}
	gap := l.inferFrom(o, granted, at)
	l.bare.observe(o, granted, at, gap)
	if o.Status > 0 && o.Status < 500 {
		l.headers = headersAbsent
		if o.HasRateLimit {
			l.headers = headersSent
		}
	}
	named, fresh := -1, false
	mapped = -1
	if o.HasRateLimit {
		l.latest = o.RateLimit
		named, fresh = l.namedPool(r, o.RateLimit, others)
		mapped = l.learnRoute(r.route, named)
	} else if o.Status == http.StatusTooManyRequests && o.RetryAfter > 0 {
		l.blocked = later(l.blocked, at.Add(o.RetryAfter))
	}
	rs := l.find(r.route)
	mixed := rs != nil && rs.pool == routeMixed
	for i := range len(l.pools) {
		a := answer{o: o, granted: granted, at: at, named: i == named}
		a.fresh = a.named && fresh
		other := o.HasRateLimit && !a.named
		a.eclipse = other && mixed
		a.elsewhere = other && rs != nil && !mixed
		l.pools[i].observe(r, i, a)
	}
	return mapped
}

// unsent takes back the grant r, which never reached the server.
func (l *learnedLimits) unsent(r grantRecord) {
	for i := range len(l.pools) {
		p := &l.pools[i]
		if _, counted := r.counts(i); counted || p.takeOrphan(r.seq) {
			p.sent--
		}
	}
}

// leaveRoute ends the grant's part in its route's probing.
func (l *learnedLimits) leaveRoute(r grantRecord) {
	if r.one > 0 {
		return
	}
	if rs := l.find(r.route); rs != nil && rs.pool == routeUnseen && rs.inFlight > 0 {
		rs.inFlight--
	}
}

// namedPool returns the index of the pool rl names and whether this answer
// made it (-1 if it is new and the scope has no room).
func (l *learnedLimits) namedPool(r grantRecord, rl RateLimit, others int) (int, bool) {
	id := poolOf(rl)
	i := 0
	for i < len(l.pools) && l.pools[i].id != id {
		i++
	}
	if i < len(l.pools) {
		return i, false
	}
	if i == maxPools {
		return -1, false
	}
	l.pools = append(l.pools, newPool(id, others, l.seq))
	return i, true
}

// learnRoute records that an answer on route key named pool i (-1: one
// the scope has no room for): an unseen route draws from it from now on,
// and a route whose answers named two pools is mixed. It returns i if the
// route was unseen until now, else -1.
func (l *learnedLimits) learnRoute(key uint64, i int) int {
	rs := l.find(key)
	switch {
	case rs == nil:
	case i < 0:
		rs.pool = routeMixed
	case rs.pool == routeUnseen:
		rs.pool = int8(i)
		return i
	case rs.pool >= 0 && rs.pool != int8(i):
		rs.pool = routeMixed
	}
	return -1
}

// gate adds the learned limits that apply to a request on route key to g;
// inFlight is the scope's requests in flight, configured whether it has
// budgets of its own.
func (l *learnedLimits) gate(g *grantGate, key uint64, inFlight int, configured bool) {
	g.until(l.blocked)
	l.bare.gate(g, inFlight)
	if l.infer != nil {
		l.infer.gate(g, inFlight)
	}
	rs := l.find(key)
	if rs != nil && rs.pool >= 0 {
		l.pools[rs.pool].gate(g)
		return
	}
	for i := range len(l.pools) {
		l.pools[i].gate(g)
	}
	if l.probing(rs, inFlight, configured) {
		g.untilAnswer()
	}
}

// probing reports whether a request on a route in state rs (nil: not
// remembered) must wait for an answer to learn where it stands: a new
// scope, whose server may send rate-limit headers, sends one request at a
// time until an answer comes (unless it has budgets of its own); once the
// server named a limit, so does each route no answer has named one for.
func (l *learnedLimits) probing(rs *routeState, inFlight int, configured bool) bool {
	if len(l.pools) == 0 {
		return inFlight > 0 && l.headers == headersUnknown && !configured
	}
	return rs != nil && rs.pool == routeUnseen && rs.inFlight > 0 && l.headers != headersAbsent
}

// holds reports whether anything learned is still in force at now.
func (l *learnedLimits) holds(now time.Time) bool {
	for i := range len(l.pools) {
		if l.pools[i].holds(now) {
			return true
		}
	}
	return l.blocked.After(now) || l.bare.next > 0 ||
		l.infer != nil && l.infer.holds(now)
}

// inferFrom feeds the answer o (to a request granted at granted, answered
// at at) to the scope's inference, and returns the hold gap it asks for
// (0: none; see inference.gap). The inference is made at the scope's first
// answer and dropped, for good, once it fails.
func (l *learnedLimits) inferFrom(o Outcome, granted, at time.Time) time.Duration {
	if l.inferOff {
		return 0
	}
	if l.infer == nil {
		l.infer = &inference{}
	}
	l.infer.observe(o, granted, at, l.bare.probe(granted))
	if l.infer.state == inferFailed {
		l.noInference()
		return 0
	}
	return l.infer.gap(at)
}

// noInference stops the scope inferring a limit, for good.
func (l *learnedLimits) noInference() { l.infer, l.inferOff = nil, true }

// takeInferred reports, once, that an inferred budget began.
func (l *learnedLimits) takeInferred() bool {
	return l.infer != nil && l.infer.takeLearned()
}
