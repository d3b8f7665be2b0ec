package pacertest

import (
	"fmt"
	"net/http"
	"time"
)

// policy is one configured Limit and its pools, one per scope key.
type policy struct {
	Limit
	route string // "" for a global limit, the route pattern, or "default"
	pools map[string]*pool
}

// pool is one policy's state for one scope key.
type pool struct {
	enforce *window // requests the limiter counted
	seen    *window // every accepted request, counted or not (evidence)
	maxSeen int     // most accepted requests ever inside one window
}

// compiledRoute is a Route ready for matching.
type compiledRoute struct {
	method   string
	segs     []string
	policies []*policy
}

// limiter decides whether a request may pass. It is not safe for concurrent
// use; the Server's mutex guards it.
type limiter struct {
	origin   time.Time
	orgs     map[string]string
	global   []*policy
	routes   []compiledRoute
	fallback []*policy
	all      []*policy // every policy, in configuration order
}

// usage is one policy's state for one request, as a response reports it.
type usage struct {
	Limit
	remaining int
	reset     time.Time // when the next slot frees
	exhausted bool
}

// decision is the limiter's verdict on one request.
type decision struct {
	allowed bool
	usages  []usage   // the policies that applied, in configuration order
	retryAt time.Time // rejected: when every exhausted policy has a slot
}

// newLimiter compiles cfg; it panics on an invalid Limit.
func newLimiter(cfg *Config, origin time.Time) *limiter {
	l := &limiter{origin: origin, orgs: cfg.Orgs}
	l.global = l.compile(cfg.Limits, "")
	for _, rt := range cfg.Routes {
		l.routes = append(l.routes, compiledRoute{
			method:   rt.Method,
			segs:     pathSegments(rt.Pattern),
			policies: l.compile(rt.Limits, rt.Pattern),
		})
	}
	l.fallback = l.compile(cfg.DefaultRouteLimits, "default")
	return l
}

func (l *limiter) compile(limits []Limit, route string) []*policy {
	var ps []*policy
	for _, lim := range limits {
		if lim.Requests <= 0 || lim.Window <= 0 {
			panic(fmt.Sprintf("pacertest: limit %+v needs positive Requests and Window", lim))
		}
		if lim.Name == "" {
			lim.Name = fmt.Sprintf("%d-per-%s-%s", lim.Requests, lim.Window, lim.Scope)
		}
		p := &policy{Limit: lim, route: route, pools: map[string]*pool{}}
		ps = append(ps, p)
		l.all = append(l.all, p)
	}
	return ps
}

// policies returns the policies that apply to r: the global ones, then those
// of the first matching route, or else the default route limits.
func (l *limiter) policies(r *http.Request) []*policy {
	segs := pathSegments(r.URL.Path)
	route := l.fallback
	for _, rt := range l.routes {
		if (rt.method == "" || rt.method == r.Method) && matchPath(rt.segs, segs) {
			route = rt.policies
			break
		}
	}
	return append(append([]*policy(nil), l.global...), route...)
}

// pool returns p's pool for r, creating it on first use.
func (l *limiter) pool(p *policy, r *http.Request) *pool {
	key := scopeKey(r, p.Scope, l.orgs)
	pl, ok := p.pools[key]
	if !ok {
		pl = &pool{
			enforce: newWindow(p.Kind, p.Window, l.origin),
			seen:    newWindow(p.Kind, p.Window, l.origin),
		}
		p.pools[key] = pl
	}
	return pl
}

// decide admits r at now if every applicable policy has room, and counts
// it. With failOpen the request is admitted without being counted (the
// limiter backend "failed"), yet still recorded as evidence.
func (l *limiter) decide(r *http.Request, now time.Time, failOpen bool) decision {
	ps := l.policies(r)
	pools := make([]*pool, len(ps))
	d := decision{allowed: true}
	for i, p := range ps {
		pools[i] = l.pool(p, r)
		if !failOpen && pools[i].enforce.n(now) >= p.Requests {
			d.allowed = false
		}
	}
	if d.allowed {
		for _, pl := range pools {
			if !failOpen {
				pl.enforce.add(now)
			}
			pl.seen.add(now)
			pl.maxSeen = max(pl.maxSeen, pl.seen.n(now))
		}
	}
	for i, p := range ps {
		u := usage{
			Limit:     p.Limit,
			remaining: max(0, p.Requests-pools[i].enforce.n(now)),
			reset:     pools[i].enforce.freeAt(now),
		}
		u.exhausted = !d.allowed && u.remaining == 0
		if u.exhausted && u.reset.After(d.retryAt) {
			d.retryAt = u.reset
		}
		d.usages = append(d.usages, u)
	}
	return d
}
