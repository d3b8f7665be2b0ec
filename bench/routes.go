package main

import (
	"strings"

	"github.com/pacerhq/pacer/pacertest"
)

// limitsFor returns the limits a pacertest server with cfg applies to a
// request: the global Limits, then those of its route (see routeOf). It
// mirrors the server's documented matching so that the rate-limited
// contenders and the theoretical minimum see the documented limits.
func limitsFor(cfg pacertest.Config, method, path string) []pacertest.Limit {
	_, route := routeOf(cfg, method, path)
	return append(append([]pacertest.Limit(nil), cfg.Limits...), route...)
}

// routeOf returns the route a request falls in and that route's own limits:
// the first matching Route (":x" matches one segment, a final "*" the
// rest), named by its method and pattern, or else "default" and the
// DefaultRouteLimits.
func routeOf(cfg pacertest.Config, method, path string) (string, []pacertest.Limit) {
	for _, rt := range cfg.Routes {
		if (rt.Method == "" || rt.Method == method) && matchPattern(rt.Pattern, path) {
			return rt.Method + " " + rt.Pattern, rt.Limits
		}
	}
	return "default", cfg.DefaultRouteLimits
}

func matchPattern(pattern, path string) bool {
	pat, segs := splitSegments(pattern), splitSegments(path)
	for i, s := range pat {
		if s == "*" && i == len(pat)-1 {
			return true
		}
		if i >= len(segs) || (!strings.HasPrefix(s, ":") && s != segs[i]) {
			return false
		}
	}
	return len(segs) == len(pat)
}

func splitSegments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
