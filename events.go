package pacer

import (
	"net/url"
	"time"
)

// Hooks are callbacks for what pacer does. Each is optional. They run
// synchronously on the goroutine of the request concerned, so they must be
// fast and must not block; they may be called concurrently for different
// requests. Events never carry credentials: scopes hold hashes and URLs are
// stripped of userinfo and query.
type Hooks struct {
	// OnWait is called after a request waited for a slot in its budget.
	OnWait func(WaitEvent)
	// OnRateLimit is called for every response that carried rate-limit
	// information or had status 429.
	OnRateLimit func(RateLimitEvent)
	// OnRetry is called when an attempt failed and will be retried after
	// Wait.
	OnRetry func(RetryEvent)
	// OnGiveUp is called when pacer stops retrying a request that failed.
	OnGiveUp func(GiveUpEvent)
	// OnBreaker is called when a scope's circuit breaker changes state
	// (see WithCircuitBreaker).
	OnBreaker func(BreakerEvent)
}

// Request identifies the request an event is about, without secrets.
type Request struct {
	Method string
	URL    string // scheme://host/path: no userinfo, no query
	Scope  string
}

// WaitEvent reports a wait for a budget slot.
type WaitEvent struct {
	Request
	Wait time.Duration
}

// RateLimitEvent reports what the server said about its limit.
type RateLimitEvent struct {
	Request
	Status    int
	RateLimit RateLimit
	// HasRateLimit is false when the response (a bare 429) carried no
	// rate-limit headers.
	HasRateLimit bool
	RetryAfter   time.Duration
}

// RetryEvent reports a retry about to be waited for.
type RetryEvent struct {
	Request
	Attempt int           // the attempt that failed, 1-based
	Status  int           // its status, 0 after a transport error
	Err     error         // its transport error, if any
	Wait    time.Duration // the wait before the next attempt
}

// GiveUpEvent reports a request that failed for good.
type GiveUpEvent struct {
	Request
	Attempts int
	Status   int
	Err      error
}

// redactURL keeps scheme, host and path: query strings and userinfo often
// hold API keys.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}
