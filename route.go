package pacer

import (
	"net/http"
	"strings"
)

// route is a method and path template such as "GET /v1/campaigns/:id" with
// the budgets that apply to requests matching it.
type route struct {
	pattern string   // as given, normalised: "GET /v1/campaigns/:id"
	method  string   // upper case; "" matches any method
	segs    []string // path segments; ":name" matches any one segment
	budgets []Budget
}

// parseRoute reads "METHOD /path/:param" or "/path" (any method).
func parseRoute(pattern string) route {
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
	return route{pattern: norm, method: method, segs: segs}
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
func (r *route) match(method, path string) (literals int, ok bool) {
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
type routeTable []*route

// lookup returns the most specific matching route, or nil.
func (t routeTable) lookup(req *http.Request) *route {
	if len(t) == 0 {
		return nil
	}
	var best *route
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
