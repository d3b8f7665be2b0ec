package pacer

import (
	"context"
	"net/url"
	"time"
)

// Hooks are callbacks for what pacer does. Each is optional. Every hook
// runs synchronously on the goroutine that called RoundTrip for the
// request concerned (OnBreaker: the one whose attempt changed the
// circuit), so it must be fast and must not block; hooks may be called
// concurrently for different requests. A hook runs with no budget slot
// held, or behind a guard that gives the slot back if it panics: a hook
// that panics (and a caller that recovers) cannot wedge its scope. Events
// never carry credentials: scopes hold hashes and URLs are stripped of
// userinfo and query.
type Hooks struct {
	// OnAttempt is called after every attempt that was sent, with its
	// answer (status, what its headers said of the server's limit, the wait
	// it asked for) or its transport error.
	OnAttempt func(AttemptEvent)
	// OnWait is called after a request waited for a slot in its budget.
	OnWait func(WaitEvent)
	// OnRetry is called when an attempt failed and will be retried after
	// Wait.
	OnRetry func(RetryEvent)
	// OnGiveUp is called when a request ends in an error, or with a
	// failed response pacer stopped retrying.
	OnGiveUp func(GiveUpEvent)
	// OnBreaker is called when a scope's circuit breaker changes state
	// (see WithCircuitBreaker).
	OnBreaker func(BreakerEvent)
}

// then returns hooks calling h's hook, then next's, for each event.
func (h Hooks) then(next Hooks) Hooks {
	return Hooks{
		OnAttempt: chain(h.OnAttempt, next.OnAttempt),
		OnWait:    chain(h.OnWait, next.OnWait),
		OnRetry:   chain(h.OnRetry, next.OnRetry),
		OnGiveUp:  chain(h.OnGiveUp, next.OnGiveUp),
		OnBreaker: chain(h.OnBreaker, next.OnBreaker),
	}
}

// chain calls a, then b; either may be nil.
func chain[E any](a, b func(E)) func(E) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(e E) { a(e); b(e) }
}

// RequestInfo identifies the request an event is about, without secrets.
type RequestInfo struct {
	Method string
	// URL is scheme://host/path: no userinfo, no query.
	URL string
	// Route is the method and path with identifier-like segments folded
	// ("GET /v1/campaigns/:id"): a label of bounded cardinality.
	Route string
	// Scope is the request's budget scope (credentials hashed).
	Scope string
	// Context is the request's context, for tracing integrations.
	Context context.Context
}

// AttemptEvent reports one attempt that was sent.
type AttemptEvent struct {
	RequestInfo
	Attempt  int           // 1-based
	Status   int           // 0 after a transport error
	Err      error         // the transport error, if any
	Duration time.Duration // from sending to the response headers or the error
	// RateLimit is what the response's headers said, when HasRateLimit
	// (false for a bare 429, say).
	RateLimit    RateLimit
	HasRateLimit bool
	// RetryAfter is the wait the response asked for (Retry-After, a body
	// hint, the reset of an exhausted window), 0 if none.
	RetryAfter time.Duration
}

// WaitEvent reports a wait for a budget slot.
type WaitEvent struct {
	RequestInfo
	Wait time.Duration
}

// RetryEvent reports a retry about to be waited for.
type RetryEvent struct {
	RequestInfo
	Attempt int           // the attempt that failed, 1-based
	Status  int           // its status, 0 after a transport error
	Err     error         // its transport error, if any
	Wait    time.Duration // the wait before the next attempt
	// ServerWait reports that Wait is the server's word (Retry-After, a
	// body hint, the reset of an exhausted window), not backoff.
	ServerWait bool
}

// GiveUpEvent reports a request that failed for good.
type GiveUpEvent struct {
	RequestInfo
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
	scheme := u.Scheme + ":"
	if u.Scheme == "" {
		scheme = ""
	}
	return scheme + "//" + u.Host + u.EscapedPath() // one allocation
}
