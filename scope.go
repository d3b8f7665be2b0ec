package pacer

import (
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
