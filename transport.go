package pacer

import (
	"net/http"
	"strings"
)

// Transport is an http.RoundTripper that keeps a client within the rate
// limits of the servers it calls. See the package documentation for a
// request's path through it. The response reaches the caller with its body
// intact, or one typed error does (see the package documentation's list).
//
// A Transport is safe for concurrent use by multiple goroutines. Its zero
// value is not usable: call NewTransport.
type Transport struct {
	base    http.RoundTripper
	cfg     *config
	store   Store
	tracker *tracker
	scopes  scopes
	routes  routeNames

	breakers *breakers     // nil unless WithCircuitBreaker
	retries  *retryBudgets // nil unless WithRetryBudget
}

// NewTransport returns a Transport sending through base (a clone of
// http.DefaultTransport when base is nil), configured by opts. It panics
// when opts combine WithStore with an option that configures the default
// in-memory store (WithQueueLimit, WithoutAdaptive, WithoutLearning): such a
// setting belongs to the store passed to WithStore.
func NewTransport(base http.RoundTripper, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	cfg := newConfig(opts)
	t := &Transport{base: base, cfg: cfg, tracker: newTracker(cfg), store: cfg.newStore()}
	t.breakers, t.retries = newBreakers(cfg), newRetryBudgets(cfg)
	t.scopes = scopes{clock: cfg.clock, init: t.retries.fill}
	return t
}

// RoundTrip implements http.RoundTripper. It does not modify req: each
// attempt sends a clone, the same body replayed byte for byte.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.newCall(req)
	defer t.scopes.leave(c.scope)
	if err := c.prepare(req); err != nil {
		return c.end(nil, err)
	}
	return c.end(c.run())
}

// Stats returns a snapshot of the transport's figures per scope.
func (t *Transport) Stats() Stats {
	scopes := snapshot(t.scopes.all(), t.breakers, t.cfg.clock.Now())
	if ur, ok := t.store.(interface{ Usage() []Usage }); ok {
		for _, u := range ur.Usage() {
			s := scopes[u.Scope]
			s.InWindow, s.InFlight, s.Queued, s.AdaptiveRate = u.InWindow, u.InFlight, u.Queued, u.AdaptiveRate
			scopes[u.Scope] = s
		}
	}
	return Stats{Scopes: scopes}
}

// CloseIdleConnections closes the base transport's idle connections, when
// it has that method.
func (t *Transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// invalid reports whether req is one no HTTP transport sends: not http or
// https, no host, an invalid method or header field. net/http refuses such a
// request before it writes a byte, and so does any base wrapping it; pacer
// asks only after an attempt failed, and such a request is not retried.
func invalid(req *http.Request) bool {
	u := req.URL
	if u == nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || !validToken(req.Method) && req.Method != "" {
		return true
	}
	for k, vs := range req.Header {
		if !validToken(k) {
			return true
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return true
			}
		}
	}
	return false
}

// validToken reports whether s is an RFC 9110 token (a field name or a
// method).
func validToken(s string) bool {
	const tchar = "!#$%&'*+-.^_`|~"
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte(tchar, b) >= 0) {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v may be sent as a field value: no
// control character other than a horizontal tab.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}
