package demo

import "github.com/pacerhq/pacer"

// Totals are the figures of a Transport summed over all its scopes.
type Totals struct {
	// Sent is the number of attempts that reached the server, retries
	// included.
	Sent int64
	// RateLimited is the number of 429 responses received.
	RateLimited int64
	// Retries is the number of attempts that were retries.
	Retries int64
	// GivenUp is the number of requests that failed for good.
	GivenUp int64
	// Queued is the number of requests waiting for a slot right now.
	Queued int
}

// Sum adds up the figures of every scope in st.
func Sum(st pacer.Stats) Totals {
	var t Totals
	for _, s := range st.Scopes {
		t.Sent += s.Sent
		t.RateLimited += s.RateLimited
		t.Retries += s.Retries
		t.GivenUp += s.GivenUp
		t.Queued += s.Queued
	}
	return t
}

// LatestServer returns the most recent thing any scope's server said about
// its limit, and false if no server said anything yet.
func LatestServer(st pacer.Stats) (pacer.RateLimit, bool) {
	var best pacer.ScopeStats
	found := false
	for _, s := range st.Scopes {
		if s.ServerAt.IsZero() {
			continue
		}
		if !found || s.ServerAt.After(best.ServerAt) {
			best, found = s, true
		}
	}
	return best.Server, found
}
