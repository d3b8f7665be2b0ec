package pacertest

import (
	"net"
	"net/http"
	"strings"
)

// apiKey returns the request's API key: the X-API-Key header, else the token
// of "Authorization: Bearer <token>", else "".
func apiKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// clientIP returns the IP address of the request's peer.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// scopeKey returns the pool a request counts in for a limit of scope s.
func scopeKey(r *http.Request, s ScopeKind, orgs map[string]string) string {
	switch s {
	case ByOrg:
		key := apiKey(r)
		if org, ok := orgs[key]; ok {
			return org
		}
		return key
	case ByIP:
		return clientIP(r)
	case Global:
		return ""
	}
	return apiKey(r)
}

// pathSegments splits a path or pattern into its non-empty-ended segments.
func pathSegments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchPath reports whether path segments match pattern segments: ":x"
// matches any non-empty segment, a final "*" matches the rest.
func matchPath(pattern, path []string) bool {
	for i, s := range pattern {
		if s == "*" && i == len(pattern)-1 {
			return true
		}
		if i >= len(path) {
			return false
		}
		if strings.HasPrefix(s, ":") {
			if path[i] == "" {
				return false
			}
			continue
		}
		if s != path[i] {
			return false
		}
	}
	return len(path) == len(pattern)
}
