package pacer

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// Option configures a Transport (and the client of NewClient).
type Option func(*config)

// DefaultMaxWait bounds a single wait before a retry, and every hold a
// server's answer can put on a scope (see WithMaxWait).
const DefaultMaxWait = 5 * time.Minute

// Defaults of the other options, as their documentation states.
const (
	defaultMaxAttempts = 5
	defaultBodyBuffer  = 1 << 20
)

type config struct {
	clock           Clock
	logger          *slog.Logger
	hooks           Hooks
	maxAttempts     int
	backoff         backoff
	bodyBuffer      int64
	maxWait         time.Duration
	retryStatuses   map[int]bool
	return429       bool
	idempotencyKeys bool
	rand            func() float64

	scope      ScopeFunc
	budgets    []Budget
	routes     routeTable
	headroom   float64
	pace       bool
	store      Store
	queueLimit int
	noLearning bool
	noAdaptive bool
	memOptions []string // the options given that configure the default store

	breaker     *Breaker     // WithCircuitBreaker; nil: off
	retryBudget *RetryBudget // WithRetryBudget; nil: off
}

func newConfig(opts []Option) *config {
	c := &config{
		clock:       SystemClock(),
		maxAttempts: defaultMaxAttempts,
		maxWait:     DefaultMaxWait,
		scope:       ScopeByHost(),
		rand:        rand.Float64,
		bodyBuffer:  defaultBodyBuffer,
	}
	c.retryStatuses = statusSet(defaultRetryStatuses)
	for _, o := range opts {
		o(c)
	}
	c.finish()
	return c
}

func statusSet(codes []int) map[int]bool {
	m := make(map[int]bool, len(codes))
	for _, s := range codes {
		m[s] = true
	}
	return m
}

// WithMaxAttempts sets how many times a request is sent at most, the first
// attempt included (default 5). n < 1 means 1: no retries at all. With n of
// 2 or more, attempts the server refused with a 429 (it did nothing) do not
// count: such a request
// is sent again when its scope may send, for as long as the refusals last
// no longer than the max wait (WithMaxWait) and the context's deadline
// allows.
func WithMaxAttempts(n int) Option {
	return func(c *config) { c.maxAttempts = max(n, 1) }
}

// WithBackoff sets the exponential backoff used when the server gives no
// hint: the n-th retry waits up to base·2^(n-1), capped at ceiling and
// randomised by j (defaults 250 ms, 30 s and FullJitter; a non-positive
// duration means its default). The cap applies after jitter: no wait is
// longer than ceiling.
func WithBackoff(base, ceiling time.Duration, j Jitter) Option {
	return func(c *config) { c.backoff = backoff{Base: base, Cap: ceiling, Jitter: j} }
}

// WithMaxWait bounds every wait before a retry (default DefaultMaxWait).
// When the server asks for a longer wait, or the wait would pass the
// context's deadline, the request ends at once with a *RateLimitError (for a
// 429) or the last response (for other statuses). It also bounds the hold
// a server's answer puts on its whole scope (a Retry-After, a reset with
// nothing remaining): past it, one request probes whether the server still
// means it — unless the server named a longer window; when two answers in
// a row ask for such a hold, it is kept (up to a day), and a 429 that
// confirms it is waited out in the queue like every request of the scope.
// Waits for a slot in a budget's queue are bounded by the context alone,
// and fail at once when the request's turn is past its deadline.
func WithMaxWait(d time.Duration) Option {
	return func(c *config) { c.maxWait = d }
}

// WithRetryStatuses replaces the statuses retried when repeating the request
// cannot duplicate work (default 500, 502, 504). 429 and 503 are always
// retried: the server did not act on the request.
func WithRetryStatuses(codes ...int) Option {
	return func(c *config) { c.retryStatuses = statusSet(codes) }
}

// WithRateLimitResponses makes a request that is still rate limited when
// pacer stops retrying return its final 429 response (body intact) instead
// of a *RateLimitError.
func WithRateLimitResponses() Option {
	return func(c *config) { c.return429 = true }
}

// WithIdempotencyKeys adds a random Idempotency-Key header to every POST and
// PATCH request that has none, the same key on every attempt, so that such
// requests may be retried after 5xx statuses and lost connections on servers
// that de-duplicate by key.
func WithIdempotencyKeys() Option {
	return func(c *config) { c.idempotencyKeys = true }
}

// WithClock sets the clock for every wait and timestamp (default the system
// clock). Tests pass a fake or scaled clock, such as pacertest's.
func WithClock(clk Clock) Option {
	return func(c *config) { c.clock = clockOrSystem(clk) }
}

// WithLogger sends pacer's events to l (default: no logging). Waits are
// logged at Debug, retries at Info, give-ups at Warn. Credentials never
// appear: scopes hold hashes and URLs are logged without query or userinfo.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithHooks registers callbacks for pacer's events (see Hooks). It adds to
// the hooks of earlier WithHooks options: each event calls them all, in the
// order given, so an integration (pacerotel, pacerprom) and your own hooks
// can share a transport.
func WithHooks(h Hooks) Option {
	return func(c *config) { c.hooks = c.hooks.then(h) }
}

// WithBudget adds a client-side budget: at most limit requests reach the
// server in any interval of length window (see Store for how latency is
// accounted for). Repeat it for several windows at once (100 per minute AND
// 1000 per hour). With route budgets (WithRouteBudget), these budgets apply
// to requests matching no route, as one shared pool per scope.
func WithBudget(limit int, window time.Duration) Option {
	return func(c *config) { c.budgets = append(c.budgets, Budget{Limit: limit, Window: window}) }
}

// WithFixedWindow adds a client-side budget for a server that counts in
// fixed windows (100 per calendar minute, all slots free at once when the
// minute ends): at most limit requests in each of the server's windows of
// length window. Its windows are aligned like the server's, which the
// client learns rather than assumes: until the rate-limit headers of two
// answers at least 2 s apart name the same reset of this window (a reset
// for the window itself or, naming no window, for this limit, within one
// window of the answer), the budget runs as WithBudget's sliding window,
// which is safe for any alignment; from then on the reset is one of the
// server's boundaries and the budget is a fixed window, so a burst that
// filled one window goes out when the server's next one starts instead of
// a full window after each answer. A reset pacer capped at the max wait
// moves with every answer and never aligns it; one that contradicts the
// boundary in force makes the budget sliding again until confirmed anew.
// Alignment works with WithoutLearning too: the reset only places the
// budget's windows, it holds nothing back.
//
// The alignment allows 2 s for a reset rounded up to a whole second and
// Date's 1 s resolution: a request answered less than 2 s before a window
// ends also counts in the next one. Windows shorter than 20 s, and servers
// that send no reset (or whose reset names another limit, as with
// WithHeadroom's reduced limit and no window in the headers), keep the
// sliding window.
func WithFixedWindow(limit int, window time.Duration) Option {
	return func(c *config) {
		c.budgets = append(c.budgets, Budget{Limit: limit, Window: window, Fixed: true})
	}
}

// WithRouteBudget adds a budget for the requests matching a route template
// such as "GET /v1/campaigns/:id" (":name" matches one path segment; the
// method is optional). Each route is its own scope, within the scope of
// WithScope; requests matching no route use the WithBudget budgets. When
// several routes match, the one with the most literal segments wins.
func WithRouteBudget(route string, limit int, window time.Duration) Option {
	return func(c *config) { c.routes = c.routes.add(route, Budget{Limit: limit, Window: window}) }
}

// WithScope sets how requests are grouped into budget scopes (default
// ScopeByHost). Use ScopeByHeader or ScopeByBearer for per-credential limits
// and a custom ScopeFunc for, say, an organisation whose keys share a pool.
func WithScope(f ScopeFunc) Option {
	return func(c *config) { c.scope = f }
}

// WithHeadroom runs the configured budgets at a fraction of their limit
// (0.9 runs 100/min at 90/min), leaving room for retries and other clients,
// as API providers advise. f outside (0, 1] is ignored.
func WithHeadroom(f float64) Option {
	return func(c *config) {
		if f > 0 && f <= 1 {
			c.headroom = f
		}
	}
}

// WithPacing spreads each scope's requests evenly over its budget's window
// (100 per minute: one every 600 ms) instead of letting a full window out in
// one burst.
func WithPacing() Option {
	return func(c *config) { c.pace = true }
}

// WithStore replaces the in-memory budget store, for example with a store
// shared by several processes (see the redisbudget module). Configure that
// store itself: NewTransport panics when WithStore is combined with
// WithQueueLimit, WithoutAdaptive or WithoutLearning, which configure the
// default store only.
func WithStore(s Store) Option {
	return func(c *config) { c.store = s }
}

// WithQueueLimit bounds how many requests may wait for a slot in one scope;
// beyond it requests fail at once with ErrQueueFull. 0 (the default) means
// no bound. It applies to the default in-memory store.
func WithQueueLimit(n int) Option {
	return func(c *config) { c.queueLimit = n; c.memOption("WithQueueLimit") }
}

// WithoutAdaptive turns off the default store's adaptive mode: for
// servers that answer a bare 429 and say nothing of their limit, a scope's
// send rate is otherwise cut on each 429 and raised on successes (AIMD),
// starting at its first bare 429. Bare 429s still hold the scope.
func WithoutAdaptive() Option {
	return func(c *config) { c.noAdaptive = true; c.memOption("WithoutAdaptive") }
}

// WithoutLearning stops the default store from throttling on the limits the
// server announces in its response headers; only configured budgets apply.
func WithoutLearning() Option {
	return func(c *config) { c.noLearning = true; c.memOption("WithoutLearning") }
}

func (c *config) memOption(name string) { c.memOptions = append(c.memOptions, name) }

// WithBodyBuffer bounds how many bytes of a request body without GetBody
// pacer reads into memory so that a retry can send it again (default
// 1 MiB). A longer body is streamed through once, and the
// request is not sent again after that. Bodies that can be read afresh
// (an *os.File, any io.ReaderAt and io.Seeker) are never buffered.
func WithBodyBuffer(n int64) Option {
	return func(c *config) { c.bodyBuffer = max(n, 0) }
}

// scopeOf returns the request's scope and budgets (headroom applied).
func (c *config) scopeOf(req *http.Request) (string, []Budget) {
	scope := c.scope(req)
	if len(c.routes) == 0 {
		return scope, c.budgets
	}
	if r := c.routes.lookup(req); r != nil {
		return scope + " " + r.pattern, r.budgets
	}
	return scope + " *", c.budgets
}

// finish applies headroom to every budget, once.
func (c *config) finish() {
	if c.headroom == 0 {
		return
	}
	c.budgets = withHeadroom(c.budgets, c.headroom)
	for _, r := range c.routes {
		r.budgets = withHeadroom(r.budgets, c.headroom)
	}
}

func withHeadroom(bs []Budget, f float64) []Budget {
	out := make([]Budget, len(bs))
	for i, b := range bs {
		out[i] = Budget{Limit: max(1, int(float64(b.Limit)*f)), Window: b.Window, Fixed: b.Fixed}
	}
	return out
}

// number is what positiveOr accepts: the option fields that default when
// unset.
type number interface {
	~int | ~int64 | ~float64
}

// positiveOr returns v when it is set (positive), else def: options read
// zero or a negative value as "use the default".
func positiveOr[T number](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// newStore returns the configured store, or a MemoryStore on the
// transport's clock with the queue and learning options applied.
func (c *config) newStore() Store {
	if c.store != nil {
		if len(c.memOptions) > 0 {
			panic("pacer: " + c.memOptions[0] + " configures the default in-memory store; with WithStore, configure the store passed instead")
		}
		return c.store
	}
	return &MemoryStore{Clock: c.clock, QueueLimit: c.queueLimit, IgnoreServerLimits: c.noLearning,
		NoAdaptive: c.noAdaptive}
}
