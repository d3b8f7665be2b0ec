package redisbudget

import (
	"time"

	"github.com/pacerhq/pacer"
)

// Defaults of the options below (durations are wall-clock for the timeout
// and retry interval, on the store's clock otherwise).
const (
	DefaultPrefix        = "pacer:"
	DefaultTimeout       = 200 * time.Millisecond
	DefaultMaxInFlight   = 2 * time.Minute
	DefaultRetryInterval = time.Second
	DefaultPollInterval  = time.Second
	DefaultProbeInterval = 20 * time.Millisecond
	DefaultJitter        = 10 * time.Millisecond
)

// Option configures a Store; pass options to New.
type Option func(*config)

type config struct {
	prefix      string
	clock       pacer.Clock
	serverTime  bool
	timeout     time.Duration
	maxInFlight time.Duration
	retry       time.Duration
	poll        time.Duration
	probe       time.Duration
	jitter      time.Duration
	fallback    pacer.Store
	failOpen    bool
	share       int // fallback share: 1/share of each budget; 0 none; -1 learned
	learning    bool
	queueLimit  int
}

func newConfig(opts []Option) config {
	c := config{
		prefix:      DefaultPrefix,
		clock:       pacer.SystemClock(),
		timeout:     DefaultTimeout,
		maxInFlight: DefaultMaxInFlight,
		retry:       DefaultRetryInterval,
		poll:        DefaultPollInterval,
		probe:       DefaultProbeInterval,
		jitter:      DefaultJitter,
		learning:    true,
		serverTime:  true,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.failOpen && c.fallback == nil {
		c.fallback = &pacer.MemoryStore{Clock: c.clock, QueueLimit: c.queueLimit, IgnoreServerLimits: !c.learning}
	}
	return c
}

// WithPrefix sets the prefix of every key the store writes (default
// "pacer:"). Stores that must share budgets need the same prefix.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithClock sets the clock the store reads and waits on (default
// pacer.SystemClock). Give it the transport's clock. The scripts still read
// Redis's TIME unless WithLocalTime is given too; a clock that does not run
// at the wall's pace (a test's scaled or manual clock) needs WithLocalTime.
func WithClock(k pacer.Clock) Option {
	return func(c *config) {
		if k != nil {
			c.clock = k
		}
	}
}

// WithLocalTime makes the scripts use the store's clock (WithClock) instead
// of Redis's TIME, the default. Then hosts sharing a budget must keep their
// clocks in sync: a host running δ behind the others lets a server window
// see up to δ/Window × Limit more requests than Limit (its slots free δ
// early for the others: measured +50% with δ = 500 ms on 20 per second).
// Use it for clocks that do not follow the wall, such as tests' scaled
// clocks.
func WithLocalTime() Option { return func(c *config) { c.serverTime = false } }

// WithServerTime makes the scripts read the current time from Redis (TIME),
// which is the default; it undoes an earlier WithLocalTime. Hosts with
// skewed clocks then share one exact budget: times the caller passes
// (Outcome.At, learned resets) are converted through their offset from the
// caller's clock. Waits are still slept on the caller's clock.
func WithServerTime() Option { return func(c *config) { c.serverTime = true } }

// WithTimeout bounds every Redis call, in wall-clock time (default 200ms).
// A call that takes longer counts as Redis being unavailable. The bound holds
// whatever the go-redis client's own timeouts; set ContextTimeoutEnabled on
// the client so that abandoned calls also stop at once.
func WithTimeout(d time.Duration) Option {
	return positive(d, func(c *config) *time.Duration { return &c.timeout })
}

// WithMaxInFlight sets how long a granted slot may stay unanswered before the
// store stops counting it as in flight (default 2 minutes): a process that
// dies between Reserve and Observe leaks its slot for Window + d at most.
// Set it above the longest request you expect.
func WithMaxInFlight(d time.Duration) Option {
	return positive(d, func(c *config) *time.Duration { return &c.maxInFlight })
}

// WithRetryInterval sets how long, in wall-clock time, the store keeps away
// from Redis after a failed call (default 1s): meanwhile it fails closed or
// serves from the fallback at once, without paying the timeout again.
func WithRetryInterval(d time.Duration) Option {
	return positive(d, func(c *config) *time.Duration { return &c.retry })
}

// WithPollInterval caps how long a waiter sleeps when the slot it waits for
// is held by a request still in flight in another process (default 1s). Such
// a slot frees no earlier than Window after its response, so the waiter
// sleeps min(Window, d) and asks again; releases made by this process wake
// it at once.
func WithPollInterval(d time.Duration) Option {
	return positive(d, func(c *config) *time.Duration { return &c.poll })
}

// WithProbeInterval sets how often a waiter asks again while its scope is
// probing (default 20ms): no learned cap is in force although the server
// sends rate-limit headers (or a scope without budgets has had no answer
// yet), so the processes send one request at a time until an answer brings
// fresh headers, and an answer is expected within a round trip. Releases
// made by this process wake the waiter at once.
func WithProbeInterval(d time.Duration) Option {
	return positive(d, func(c *config) *time.Duration { return &c.probe })
}

// WithJitter sets the largest random delay added to a waiter's sleep so that
// processes woken by the same release do not ask Redis at the same instant
// (default 10ms; never more than a quarter of the wait). Zero disables it.
func WithJitter(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.jitter = d
		}
	}
}

// FailOpen makes the store fail open to an in-process pacer.MemoryStore
// (with the store's clock, queue limit and learning setting): while Redis is
// unavailable each process keeps the tickets' budgets on its own, so the
// budget is per process, not shared, until Redis is back. Without FailOpen
// or WithFallback the store fails closed.
func FailOpen() Option { return func(c *config) { c.failOpen = true } }

// FailOpenShare is FailOpen with each process keeping only its share of
// each budget while Redis is unavailable: Limit/n requests per Window
// (rounded down, at least 1), so that n processes together stay within the
// limit instead of sending n times it (measured: 8 processes on 50 per
// second sent 400 per second during an outage with FailOpen, at most 48
// with FailOpenShare). With n = 0 the store learns n: every process of the
// same key prefix writes a heartbeat to Redis each second (one extra call),
// and n is how many did in the last three seconds, as last seen before
// Redis went away (1 until first seen). A fleet larger than a limit still
// sends n requests per window, one per process. It also applies to a
// fallback given with WithFallback.
func FailOpenShare(n int) Option {
	return func(c *config) {
		c.failOpen = true
		c.share = -1
		if n > 0 {
			c.share = n
		}
	}
}

// WithFallback makes the store fail open to s: while Redis is unavailable,
// tickets are served by s with the same budgets (per process, so the shared
// budget is not exact meanwhile). Slots granted by s are observed by s.
func WithFallback(s pacer.Store) Option { return func(c *config) { c.fallback = s } }

// WithoutLearning stops the store from throttling on the limits the server
// announces (headers, Retry-After): only the tickets' budgets apply, as with
// pacer.WithoutLearning for the in-memory store.
func WithoutLearning() Option { return func(c *config) { c.learning = false } }

// WithQueueLimit bounds how many of this process's requests may wait for a
// slot in one scope, besides the one asking Redis; beyond it Reserve fails
// at once with pacer.ErrQueueFull. 0 (the default) means no bound.
func WithQueueLimit(n int) Option { return func(c *config) { c.queueLimit = n } }

// positive is an Option setting the duration field that at selects to d,
// ignoring d <= 0 (the field keeps its default).
func positive(d time.Duration, at func(*config) *time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			*at(c) = d
		}
	}
}
