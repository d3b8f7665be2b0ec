package route

import "strings"

// routeKey folds a request's method and path into a number naming its
// route, so a scope can learn which of the server's limits each route draws
// from (see learnedLimits). Segments that look like identifiers count as
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
	for len(path) > 0 {
		var seg string
		seg, path = cutSegment(path)
		if seg == "" {
			break
		}
		if idLike(seg) {
			seg = ":id"
		}
		add(seg)
	}
	return max(h, 1)
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
