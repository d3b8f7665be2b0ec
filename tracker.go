package pacer

import (
	"context"
	"log/slog"
	"math/bits"
	"net/http"
	"time"
)

// Stats is a snapshot of what a Transport has done, per scope.
type Stats struct {
	// Scopes maps each scope seen recently to its figures.
	Scopes map[string]ScopeStats
}

// ScopeStats are the figures of one scope. Counts are totals since the scope
// was first seen (or since it was last evicted for being idle).
type ScopeStats struct {
	// Sent is the number of attempts sent to the server, retries included.
	Sent int64
	// InWindow is the number of slots counted in the scope's shortest
	// configured window now; InFlight the requests sent and not yet
	// answered; Queued the requests waiting for a slot (from the Store,
	// when it reports usage).
	InWindow, InFlight, Queued int
	// Server is what the server last said about its limit, at ServerAt
	// (zero if it never said anything).
	Server   RateLimit
	ServerAt time.Time
	// Waits summarises the waits for a slot that were not instant.
	Waits WaitStats
	// RateLimited is the number of 429 responses received.
	RateLimited int64
	// Retries is the number of attempts that were retries.
	Retries int64
	// GivenUp is the number of requests that failed for good (after
	// retries, or refused by a budget, breaker or deadline).
	GivenUp int64
	// AdaptiveRate is the adaptive mode's current send rate in requests
	// per second; 0 when inactive.
	AdaptiveRate float64
	// Breaker is the state of the scope's circuit breaker (BreakerClosed
	// when none is on).
	Breaker BreakerState
}

// WaitStats summarises throttled waits: how many, how long in total, and
// the median, 99th percentile (each within 12.5%) and longest.
type WaitStats struct {
	Count         int64
	Total         time.Duration
	P50, P99, Max time.Duration
}

// tracker counts events in each scope's state, calls hooks and logs. It
// is safe for concurrent use.
type tracker struct {
	clock  Clock
	logger *slog.Logger
	hooks  Hooks
}

func newTracker(c *config) *tracker {
	return &tracker{clock: c.clock, logger: c.logger, hooks: c.hooks}
}

func (t *tracker) sent(st *scopeState) { st.sent.Add(1) }

// waited records a wait for a slot in scope; info describes the request,
// built only when a hook or a log line needs it.
func (t *tracker) waited(st *scopeState, info func() RequestInfo, d time.Duration) {
	if d <= 0 {
		return
	}
	st.mu.Lock()
	if st.waits == nil {
		st.waits = &histogram{}
	}
	st.waits.record(d)
	st.mu.Unlock()
	if t.hooks.OnWait == nil && !t.logs(slog.LevelDebug) {
		return
	}
	r := info()
	t.log(slog.LevelDebug, "pacer: waited for a slot", r, slog.Duration("wait", d))
	if t.hooks.OnWait != nil {
		t.hooks.OnWait(WaitEvent{RequestInfo: r, Wait: d})
	}
}

// attempted records an attempt that was sent: its outcome o (with the
// server's word on its limit), its error, and how long it took.
func (t *tracker) attempted(st *scopeState, info func() RequestInfo, attempt int, o Outcome, err error, d time.Duration) {
	limited := o.Status == http.StatusTooManyRequests
	if limited {
		st.rateLimited.Add(1)
	}
	if o.HasRateLimit {
		st.mu.Lock()
		st.server, st.serverAt = o.RateLimit, o.At
		st.mu.Unlock()
	}
	if t.hooks.OnAttempt == nil && !(limited && t.logs(slog.LevelWarn)) {
		return
	}
	r := info()
	if limited {
		t.log(slog.LevelWarn, "pacer: rate limited", r, slog.Duration("retry_after", o.RetryAfter))
	}
	if t.hooks.OnAttempt != nil {
		t.hooks.OnAttempt(AttemptEvent{RequestInfo: r, Attempt: attempt, Status: o.Status, Err: err, Duration: d,
			RateLimit: o.RateLimit, HasRateLimit: o.HasRateLimit, RetryAfter: o.RetryAfter})
	}
}

func (t *tracker) retry(st *scopeState, info func() RequestInfo, e RetryEvent) {
	e.RequestInfo = info()
	st.retries.Add(1)
	attrs := []slog.Attr{slog.Int("attempt", e.Attempt), slog.Int("status", e.Status), slog.Duration("wait", e.Wait)}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	t.log(slog.LevelInfo, "pacer: retrying", e.RequestInfo, attrs...)
	if t.hooks.OnRetry != nil {
		t.hooks.OnRetry(e)
	}
}

func (t *tracker) giveUp(st *scopeState, info func() RequestInfo, e GiveUpEvent) {
	e.RequestInfo = info()
	st.givenUp.Add(1)
	attrs := []slog.Attr{slog.Int("attempts", e.Attempts), slog.Int("status", e.Status)}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	t.log(slog.LevelWarn, "pacer: giving up", e.RequestInfo, attrs...)
	if t.hooks.OnGiveUp != nil {
		t.hooks.OnGiveUp(e)
	}
}

// breaker logs a circuit's change of state (Warn when it opens, Info
// otherwise) and calls the hook.
func (t *tracker) breaker(e BreakerEvent) {
	level := slog.LevelInfo
	if e.To == BreakerOpen {
		level = slog.LevelWarn
	}
	t.log(level, "pacer: circuit "+e.To.String(), RequestInfo{Scope: e.Scope}, slog.String("from", e.From.String()))
	if t.hooks.OnBreaker != nil {
		t.hooks.OnBreaker(e)
	}
}

func (t *tracker) logs(level slog.Level) bool {
	return t.logger != nil && t.logger.Enabled(context.Background(), level)
}

func (t *tracker) log(level slog.Level, msg string, r RequestInfo, attrs ...slog.Attr) {
	if !t.logs(level) {
		return
	}
	attrs = append(attrs, slog.String("method", r.Method), slog.String("url", r.URL), slog.String("scope", r.Scope))
	t.logger.LogAttrs(context.Background(), level, msg, attrs...)
}

// snapshot returns the figures of every scope in states, as of now; usage
// from the store is merged in by Stats. Each state is locked on its own:
// no lock is held across scopes.
func snapshot(states []*scopeState, b *breakers, now time.Time) map[string]ScopeStats {
	out := make(map[string]ScopeStats, len(states))
	for _, st := range states {
		s := ScopeStats{Sent: st.sent.Load(), RateLimited: st.rateLimited.Load(), Retries: st.retries.Load(),
			GivenUp: st.givenUp.Load()}
		st.mu.Lock()
		s.Server, s.ServerAt = st.server, st.serverAt
		if h := st.waits; h != nil {
			s.Waits = WaitStats{Count: h.n, Total: h.total, P50: h.quantile(0.5), P99: h.quantile(0.99), Max: h.max}
		}
		s.Breaker = b.state(st, now)
		st.mu.Unlock()
		out[st.name] = s
	}
	return out
}

// histogram records durations in log-linear buckets: eight per power of two,
// so a quantile read from it is within 12.5% of the true value. It takes a
// fixed 2 KiB however many durations it records. Not safe for concurrent
// use; the tracker guards it.
type histogram struct {
	counts [64 * subBuckets]uint32
	n      int64
	total  time.Duration
	max    time.Duration
}

const subBits = 3
const subBuckets = 1 << subBits

func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.total += d
	h.max = max(h.max, d)
}

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1))
	sub := (v >> (e - subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + int(sub)
}

// upperBound is the largest value that falls in bucket i.
func upperBound(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/subBuckets + subBits - 1
	sub := uint64(i % subBuckets)
	lo := (uint64(1) << e) | sub<<(e-subBits)
	return lo + (uint64(1) << (e - subBits)) - 1
}

// quantile returns an upper bound of the q-quantile (0 < q <= 1), never more
// than the largest duration recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen >= rank {
			return min(time.Duration(upperBound(i)), h.max)
		}
	}
	return h.max
}
