package pacer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// ScopeFunc maps a request to the name of the budget pool it draws from.
// Requests with the same scope share budgets, learned limits and a wait
// queue; requests in different scopes never wait for each other. A ScopeFunc
// must not return raw secrets: use HashSecret on credentials.
type ScopeFunc func(req *http.Request) string

// ScopeByHost puts every request to the same host (and port) in one scope.
// It is the default.
func ScopeByHost() ScopeFunc {
	return func(req *http.Request) string { return hostOf(req) }
}

// ScopeByHeader scopes requests by host and the value of the named header
// (an API key header such as "X-API-Key"), hashed: the raw value is never
// kept. Requests without the header share the host's scope.
func ScopeByHeader(name string) ScopeFunc {
	return func(req *http.Request) string {
		return withSecret(hostOf(req), req.Header.Get(name))
	}
}

// ScopeByBearer scopes requests by host and the bearer token of their
// Authorization header, hashed.
func ScopeByBearer() ScopeFunc {
	return func(req *http.Request) string {
		auth := req.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			token, ok = strings.CutPrefix(auth, "bearer ")
		}
		if !ok {
			token = ""
		}
		return withSecret(hostOf(req), strings.TrimSpace(token))
	}
}

// HashSecret returns a short, stable, one-way digest of a credential, fit to
// appear in scope names, logs and store keys: the first 16 hex digits of its
// SHA-256.
func HashSecret(secret string) string {
	h := hashSecret(secret)
	return string(h[:])
}

// hashSecret is HashSecret without allocating.
func hashSecret(secret string) [16]byte {
	sum := sha256.Sum256([]byte(secret))
	var h [16]byte
	hex.Encode(h[:], sum[:8])
	return h
}

func withSecret(host, secret string) string {
	if secret == "" {
		return host
	}
	h := hashSecret(secret)
	return host + " key:" + string(h[:])
}

func hostOf(req *http.Request) string {
	if req.URL != nil && req.URL.Host != "" {
		return strings.ToLower(req.URL.Host)
	}
	return strings.ToLower(req.Host)
}

type priorityKey struct{}

// ContextWithPriority returns a context whose requests wait in their scope's
// queue ahead of requests of lower priority (FIFO among equals). Requests
// without one have priority 0; any int works, higher first. Use it to let
// interactive calls (say 10) overtake a bulk job (say -10) sharing the same
// budget.
func ContextWithPriority(ctx context.Context, p int) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// priorityOf returns the priority set by ContextWithPriority (0 if none).
func priorityOf(ctx context.Context) int {
	p, _ := ctx.Value(priorityKey{}).(int)
	return p
}

// routeRule is a method and path template such as "GET /v1/campaigns/:id" with
// the budgets that apply to requests matching it.
type routeRule struct {
	pattern string   // as given, normalised: "GET /v1/campaigns/:id"
	method  string   // upper case; "" matches any method
	segs    []string // path segments; ":name" matches any one segment
	budgets []Budget
}

// parseRoute reads "METHOD /path/:param" or "/path" (any method).
func parseRoute(pattern string) routeRule {
	method, path, ok := strings.Cut(strings.TrimSpace(pattern), " ")
	if !ok {
		method, path = "", method
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	segs := splitPath(strings.TrimSpace(path))
	norm := "/" + strings.Join(segs, "/")
	if method != "" {
		norm = method + " " + norm
	}
	return routeRule{pattern: norm, method: method, segs: segs}
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether the request's method and path fit the route, and how
// many literal segments matched (more literals = a more specific route). It
// walks the path in place, without allocating.
func (r *routeRule) match(method, path string) (literals int, ok bool) {
	if r.method != "" && r.method != method {
		return 0, false
	}
	rest := strings.Trim(path, "/")
	for _, s := range r.segs {
		if rest == "" {
			return 0, false
		}
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		switch {
		case strings.HasPrefix(s, ":"):
			if seg == "" {
				return 0, false
			}
		case s != seg:
			return 0, false
		default:
			literals++
		}
	}
	return literals, rest == ""
}

// routeTable finds the most specific route for a request.
type routeTable []*routeRule

// lookup returns the most specific matching route, or nil.
func (t routeTable) lookup(req *http.Request) *routeRule {
	if len(t) == 0 {
		return nil
	}
	var best *routeRule
	bestLit := -1
	for _, r := range t {
		if lit, ok := r.match(req.Method, req.URL.Path); ok && lit > bestLit {
			best, bestLit = r, lit
		}
	}
	return best
}

// add merges budgets into the route with the same pattern, or appends one.
func (t routeTable) add(pattern string, b Budget) routeTable {
	r := parseRoute(pattern)
	for _, have := range t {
		if have.pattern == r.pattern {
			have.budgets = append(have.budgets, b)
			return t
		}
	}
	r.budgets = []Budget{b}
	return append(t, &r)
}
