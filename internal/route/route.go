// Package route names a request's route: its method and path with the
// segments that look like identifiers folded into ":id", as a number (Key,
// for stores learning per route) or as text (Template, for events and
// metrics, whose cardinality it bounds).
package route

import "strings"

// Key folds a request's method and path into a number naming its route, so
// a store can learn which of the server's limits each route draws from.
// Segments that look like identifiers count as
// one ":id" segment, so /v1/campaigns/7 and /v1/campaigns/c8 share a key:
// any segment with a digit in it except a version ("v1", "v2.1"). Other
// segments are literal. It never returns 0 and does not allocate.
func Key(method, path string) uint64 {
	const (
		offset = 14695981039346656037 // FNV-1a, 64 bits
		prime  = 1099511628211
	)
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h = (h ^ '/') * prime
	}
	add(method)
	for seg := range segments(path) {
		add(seg)
	}
	return max(h, 1)
}

// Template returns the route as text: "GET /v1/campaigns/:id". It names
// the same routes as Key.
func Template(method, path string) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte(' ')
	n := 0
	for seg := range segments(path) {
		b.WriteByte('/')
		b.WriteString(seg)
		n++
	}
	if n == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// segments yields the non-empty segments of path, identifier-like ones as
// ":id".
func segments(path string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for len(path) > 0 {
			var seg string
			seg, path = cutSegment(path)
			if seg == "" {
				return
			}
			if idLike(seg) {
				seg = ":id"
			}
			if !yield(seg) {
				return
			}
		}
	}
}

// cutSegment returns the first non-empty segment of path and the rest.
func cutSegment(path string) (seg, rest string) {
	for len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '/' {
			return path[:i], path[i:]
		}
	}
	return path, ""
}

// idLike reports whether a path segment looks like an identifier: it has a
// digit and is not a version.
func idLike(seg string) bool {
	return strings.ContainsAny(seg, "0123456789") && !version(seg)
}

// version reports whether seg is "v" or "V" followed by digits and dots.
func version(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' && seg[0] != 'V' {
		return false
	}
	return strings.Trim(seg[1:], "0123456789.") == ""
}
