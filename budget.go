package pacer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pacerhq/pacer/internal/memstore"
)

// Budget is a client-side limit: at most Limit requests reach the server in
// any interval of length Window or, if Fixed, in each of the server's fixed
// windows of length Window (see WithFixedWindow). A Budget with Limit <= 0
// or Window <= 0 limits nothing. Set budgets with WithBudget,
// WithFixedWindow and WithRouteBudget. A Store that does not tell fixed
// windows apart may run a Fixed budget as a sliding one, which never lets
// more requests through (redisbudget does).
type Budget struct {
	Limit  int
	Window time.Duration
	Fixed  bool
}

// MemoryStore is the in-memory Store of one process: the default store of
// a Transport, configured there by WithQueueLimit, WithoutAdaptive and
// WithoutLearning. Build one yourself only to use it elsewhere (as the
// fallback of a shared store, say). The zero value is ready to use; set the
// fields before the first call and do not change them afterwards. A
// MemoryStore is safe for concurrent use by multiple goroutines.
//
// Windows: each valid Budget of a ticket is an exact sliding window — in no
// interval of length Window does the server receive more than Limit
// requests of the scope, all budgets holding at once. A slot counts from
// Reserve until Window after its response arrived (Outcome.At), so the
// bound holds whatever the latency; a window keeps at most Limit release
// times (8 bytes each). A Fixed budget is a sliding window until a
// response aligns it with the server's windows (see WithFixedWindow), then
// a fixed window. Ticket.Pace spreads sends evenly, one every
// Window/Limit of the tightest budget.
//
// Queue: requests that cannot be granted wait in their scope's queue,
// higher Ticket.Priority first, first come first served among equals; a
// waiter whose context ends leaves at once and takes no slot. A waiter
// whose estimated turn — the earliest grant once the waiters ahead of it
// are served — is past its context's deadline gets a *RateLimitError at
// once, RetryAt being that turn.
//
// Learned limits: every response's rate-limit headers bound how many more
// requests the scope may send before the reset they name, counting those in
// flight; answers naming different limits are told apart per route (a
// per-endpoint API needs no route table). A 429's Retry-After holds the
// scope; a bare 429 holds it for a growing time, then lets one probe
// through at a time; adaptive mode paces servers that say nothing: a
// scope's first bare 429 starts additive increase, multiplicative decrease
// (AIMD) of its send rate, released once the rate far exceeds its use.
//
// Memory: a scope holding no slot, no waiter and no learned limit in force
// is forgotten IdleTTL after its last use, during later calls.
type MemoryStore struct {
	// Clock is the time source of windows and waits; nil means
	// SystemClock(). The Transport's default store uses WithClock's.
	Clock Clock
	// QueueLimit bounds how many requests may wait for a slot in one
	// scope; beyond it Reserve returns ErrQueueFull at once. 0 or less
	// means no bound.
	QueueLimit int
	// IdleTTL is how long an idle scope stays in memory after its last
	// use: 0 means 10 minutes, a negative value forever.
	IdleTTL time.Duration
	// IgnoreServerLimits turns learned limits off: response headers and
	// Retry-After no longer hold a scope back; only its budgets (and
	// adaptive mode) apply.
	IgnoreServerLimits bool
	// NoAdaptive turns adaptive mode off: bare 429s hold the scope but
	// never set its send rate.
	NoAdaptive bool

	once sync.Once
	eng  *memstore.Store
}

var _ Store = (*MemoryStore)(nil)

func (m *MemoryStore) engine() *memstore.Store {
	m.once.Do(func() {
		m.eng = &memstore.Store{Clock: m.Clock, QueueLimit: m.QueueLimit, IdleTTL: m.IdleTTL,
			IgnoreServerLimits: m.IgnoreServerLimits, Adaptive: adaptiveMode(m.NoAdaptive)}
	})
	return m.eng
}

// Reserve waits until t's scope may send one more request and holds a slot
// for it; see Store and MemoryStore for the rules and the errors.
func (m *MemoryStore) Reserve(ctx context.Context, t Ticket) (Slot, error) {
	var buf [4]memstore.Budget // tickets rarely carry more: no allocation
	mt := memstore.Ticket{Scope: t.Scope, Budgets: buf[:0], Pace: t.Pace, Priority: t.Priority, Route: t.Route}
	for _, b := range t.Budgets {
		mt.Budgets = append(mt.Budgets, memstore.Budget(b))
	}
	ms, err := m.engine().Reserve(ctx, mt)
	if err != nil {
		return Slot{}, m.storeError(t.Scope, err)
	}
	return Slot{Scope: ms.Scope, Granted: ms.Granted, Waited: ms.Waited, mem: ms}, nil
}

// storeError turns the engine's refusals into the package's errors.
func (m *MemoryStore) storeError(scope string, err error) error {
	var late *memstore.LateError
	switch {
	case errors.Is(err, memstore.ErrQueueFull):
		return ErrQueueFull
	case errors.As(err, &late):
		return &RateLimitError{Scope: scope, RetryAt: late.At, RetryAfter: late.At.Sub(clockOrSystem(m.Clock).Now()),
			RateLimit: fromMemLimit(late.Latest), Err: context.DeadlineExceeded}
	}
	return err
}

// Observe releases slot s into its scope's windows (freeing it at once if
// o.Sent is false), learns from o, and wakes the scope's next waiter. o.At
// must be on the store's clock; zero means now. A slot the store did not
// grant is ignored.
func (m *MemoryStore) Observe(s Slot, o Outcome) {
	rl := o.RateLimit
	m.engine().Observe(s.mem, memstore.Outcome{Sent: o.Sent, At: o.At, Status: o.Status,
		RateLimit: memstore.RateLimit{Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset, Window: rl.Window,
			Pool: rl.Pool},
		HasRateLimit: o.HasRateLimit, RetryAfter: o.RetryAfter})
}

// Usage returns a snapshot of every scope in memory, by scope name (see
// Store: Stats includes it).
func (m *MemoryStore) Usage() []Usage {
	us := m.engine().Usage()
	out := make([]Usage, len(us))
	for i, u := range us {
		out[i] = Usage{Scope: u.Scope, InWindow: u.InWindow, InFlight: u.InFlight, Queued: u.Queued,
			Learned: fromMemLimit(u.Learned), AdaptiveRate: u.AdaptiveRate}
	}
	return out
}

func fromMemLimit(rl memstore.RateLimit) RateLimit {
	return RateLimit{Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset, Window: rl.Window, Pool: rl.Pool}
}

func adaptiveMode(off bool) memstore.AdaptiveMode {
	if off {
		return memstore.AdaptiveOff
	}
	return memstore.AdaptiveAuto
}
