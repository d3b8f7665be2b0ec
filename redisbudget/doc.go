// Package redisbudget provides a pacer.Store kept in Redis, so that every
// process using the same scope draws from one budget, exactly.
//
// A Store is used in place of pacer's in-memory store:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	store := redisbudget.New(rdb, redisbudget.FailOpen())
//
// # Model
//
// Each scope and configured window is a Redis sorted set whose members are
// slot ids. Reserve runs one Lua script (by SHA, loaded on NOSCRIPT) that
// drops members whose score has passed, counts the rest in every window of
// the ticket, and either adds the slot to every window or answers how long
// to wait. A member's score is when it stops counting:
//
//   - while the request is in flight: grant + Window + MaxInFlight, a safety
//     expiry so that a process that dies between Reserve and Observe leaks
//     its slot for a bounded time only;
//   - after Observe: Outcome.At + Window, pacer's rule that a slot is held
//     until Window after the response arrives, so no server-side window of
//     length Window sees more than Limit requests, whatever the latency;
//   - an Outcome that is not Counted (never sent, or a 5xx without
//     rate-limit headers) removes the member at once.
//
// Limits learned from responses are shared through per-scope keys read by
// the same script, per server-side pool as in pacer.MemoryStore: answers are
// told apart by the pool they name (RateLimit.Pool, else RateLimit.Limit),
// and each pool keeps its own block ("0 remaining until T", a 429's
// Retry-After with headers) and cap ("R remaining until T" caps the pool's
// grants before T, see Store.Observe). Each route (Ticket.Route) learns from
// its answers which pool it draws from, and a reservation on a known route
// checks that pool only; on a route not known yet, every pool (at most 8
// pools and 512 routes per scope, kept as long as the learned state). A
// 429's Retry-After without headers blocks the whole scope.
//
// A bare 429 (no headers, no Retry-After) holds the whole scope in every
// process, 1 s doubling to 1 min with each probe refused again; after a
// hold one request at a time probes across the fleet, and an answer other
// than 429 ends the hold. A probe that ends a lockout sets a shared pace at
// the rate the server sustained, which climbs back with successes (see the
// learned hash in script.go). Pacing (Ticket.Pace) is shared too. Adaptive
// mode (pacer.WithoutAdaptive) is not: its AIMD exists only in
// pacer.MemoryStore.
//
// Within a process, waiters of a scope queue by Ticket.Priority, then
// arrival, and only the head asks Redis; a denied head sleeps until the time
// the script named (plus a little jitter, see WithJitter) on the store's
// clock, or until a release made by this process wakes it. When the slot it
// waits for belongs to a request still in flight elsewhere, it sleeps
// min(Window, WithPollInterval): such a slot frees no earlier than Window
// after its answer.
//
// Keys are "<prefix>{<hash>}:<name>", hash being the first 24 hex digits of
// the scope's SHA-256 (no scope text reaches Redis) and the braces a Redis
// Cluster hash tag, so that all keys of a scope live in one slot. Every
// write sets an expiry a second past the key's last content (Window +
// MaxInFlight for windows), so nothing outlives its use.
//
// # Time
//
// By default the scripts read Redis's TIME, so that hosts whose clocks
// disagree still share one exact budget: every absolute time the caller
// passes (Outcome.At, learned resets) is handed over as an offset from the
// caller's clock (WithClock, default pacer.SystemClock), and waits are slept
// on that clock. With WithLocalTime the scripts use the caller's clock
// instead, which tests with scaled clocks need; hosts must then have
// synchronised clocks: a host whose clock runs δ behind the others sees
// their slots free δ late (harmless), and they see its slots free δ early,
// so a server window may see up to δ/Window × Limit requests too many.
//
// # Failures
//
// Every Redis call is bounded by WithTimeout (default 200ms of wall-clock
// time), whatever the go-redis client's own timeouts. When a call fails the
// store either fails closed (the default: Reserve returns an
// *UnavailableError matching ErrUnavailable) or, with FailOpen or
// WithFallback, serves the ticket from an in-process store with the same
// budgets (with FailOpenShare, each process's share of them). Slots remember
// which backend granted them, and Observe returns each to its own backend.
// After a failure Redis is not called again for WithRetryInterval (default
// 1s of wall-clock time); then it is probed again by the next call, so the
// store returns to Redis by itself once Redis is back (go-redis
// reconnects). With a Cluster client this is kept per master node, so a
// node that is down or stuck fails only the scopes it serves. Calls a cluster
// refuses without running them (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING)
// are sent again, 5 ms apart, within the bound. Usage reads each scope with
// plain pipelined commands (one round trip per node, never a cross-slot
// call) and never marks Redis down.
//
// A stall leaks no slot. A reserve call the store gave up on may still be
// run by a stalled Redis when it wakes (it was written on an open
// connection), so each call carries an expiry on Redis's TIME, when the
// store gives up on it (the offset between this host and Redis is learned
// from every reply, see serverClock), and a script that runs later takes
// nothing. Answers Observe could not send, and grants whose reply came too
// late, are kept in the process and sent once Redis answers again (up to
// maxPending of them). So one window after Redis resumes, the budget is whole.
//
// A Redis that loses its data (a restart without persistence, a failover to
// a replica that had not caught up) forgets the requests its windows
// counted. Each scope keeps an epoch in Redis; a store that granted in the
// scope recently enough that the epoch must still exist, and finds it gone
// or replaced, holds the scope in every process until one longest window
// after the new epoch began (see reserveScript). Stores that never granted in
// the scope cannot tell, so until one that did calls, they may grant up to
// the limit on the fresh windows.
package redisbudget
