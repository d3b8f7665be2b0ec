// Package pacerprom exports what a pacer Transport does as Prometheus
// metrics: a Collector whose counters and histograms are fed by pacer's
// hooks and whose gauges are read from Transport.Stats at each scrape.
//
//	c := pacerprom.New()
//	tr := pacer.NewTransport(nil, append(c.Options(), pacer.WithBudget(100, time.Minute))...)
//	c.Observe(tr)
//	prometheus.MustRegister(c)
//	http.Handle("/metrics", promhttp.Handler())
//
// # Metrics
//
// From the hooks, labelled scope, route, method and one more label each:
//
//	pacer_requests_sent_total{status_class}   attempts sent, retries included ("2xx", "4xx", "error")
//	pacer_rate_limited_total                  429 answers
//	pacer_retries_total{reason}               rate_limited, unavailable, server_error, transport, other
//	pacer_give_ups_total{error}               rate_limited, outcome_unknown, retry_budget_exhausted,
//	                                          circuit_open, store_unavailable, queue_full,
//	                                          deadline_exceeded, canceled, transport, or the status
//	pacer_attempt_duration_seconds            histogram: sending to response headers, per attempt
//	pacer_wait_seconds{reason}                histogram: throttle (a budget slot), retry_after (the
//	                                          server's word), backoff
//	pacer_breaker_transitions_total{scope,state}
//
// From Stats, per scope, at each scrape:
//
//	pacer_queued_requests, pacer_window_requests, pacer_in_flight_requests,
//	pacer_adaptive_rate_requests_per_second, pacer_server_remaining_requests,
//	pacer_server_limit_requests, pacer_breaker_state{state} (1 for the current state)
//
// Stats' own totals are not exported as counters: a scope idle for ten
// minutes is forgotten and its totals restart, which a counter must not do.
//
// # Labels and cardinality
//
// scope is the budget scope (a host, or a SHA-256 hash of a credential,
// never the credential); route the method and path with identifier-like
// segments folded ("GET /v1/campaigns/:id"); method a standard method or
// "_OTHER". Scopes and routes are admitted first come first served up to
// WithMaxScopes and WithMaxRoutes (100 and 200 by default); later ones read
// "_OTHER". No URL, query string, header value or error message is ever a
// label.
//
// Everything in this package is safe for concurrent use by multiple
// goroutines.
package pacerprom

import (
	"sync"

	"github.com/pacerhq/pacer"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the cardinality bounds.
const (
	DefaultMaxScopes = 100
	DefaultMaxRoutes = 200
)

// Default histogram buckets, in seconds. Waits run longer than attempts: a
// Retry-After or a budget's window, up to five minutes.
var (
	DefaultAttemptBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	DefaultWaitBuckets    = []float64{0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// Option configures a Collector.
type Option func(*config)

type config struct {
	namespace            string
	constLabels          prometheus.Labels
	attemptBuckets       []float64
	waitBuckets          []float64
	maxScopes, maxRoutes int
}

// WithNamespace sets the metric names' prefix (default "pacer").
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithConstLabels adds labels to every metric, such as the name of the
// client when one process runs several transports, each with its own
// Collector.
func WithConstLabels(l prometheus.Labels) Option { return func(c *config) { c.constLabels = l } }

// WithAttemptBuckets sets pacer_attempt_duration_seconds' buckets (default
// DefaultAttemptBuckets).
func WithAttemptBuckets(b ...float64) Option { return func(c *config) { c.attemptBuckets = b } }

// WithWaitBuckets sets pacer_wait_seconds' buckets (default
// DefaultWaitBuckets).
func WithWaitBuckets(b ...float64) Option { return func(c *config) { c.waitBuckets = b } }

// WithMaxScopes bounds how many distinct scope label values are exported
// (default DefaultMaxScopes); later scopes read "_OTHER". n < 1 means 1.
func WithMaxScopes(n int) Option { return func(c *config) { c.maxScopes = max(n, 1) } }

// WithMaxRoutes bounds how many distinct route label values are exported
// (default DefaultMaxRoutes); later routes read "_OTHER". n < 1 means 1.
func WithMaxRoutes(n int) Option { return func(c *config) { c.maxRoutes = max(n, 1) } }

// Collector is a prometheus.Collector of one pacer Transport's metrics.
// Create it with New, feed it with Hooks or Options, and give it the
// Transport with Observe. It is safe for concurrent use by multiple
// goroutines.
type Collector struct {
	sent, rateLimited, retries, giveUps, breakerTx *prometheus.CounterVec
	attempts, waits                                *prometheus.HistogramVec

	queued, window, inFlight, adaptive, remaining, limit, breaker *prometheus.Desc

	scopes, routes *bounded

	mu sync.RWMutex
	tr *pacer.Transport
	// children caches each series' counter or observer, so that an event
	// costs a map lookup and an atomic add.
	children map[childKey]any
}

// New returns a Collector configured by opts.
func New(opts ...Option) *Collector {
	cfg := config{namespace: "pacer", attemptBuckets: DefaultAttemptBuckets, waitBuckets: DefaultWaitBuckets,
		maxScopes: DefaultMaxScopes, maxRoutes: DefaultMaxRoutes}
	for _, o := range opts {
		o(&cfg)
	}
	ns, cl := cfg.namespace, cfg.constLabels
	req := []string{"scope", "route", "method"}
	counter := func(name, help string, extra ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: cl},
			append(append([]string(nil), req...), extra...))
	}
	gauge := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, append([]string{"scope"}, labels...), cl)
	}
	c := &Collector{
		sent:        counter("requests_sent_total", "Attempts sent to the server, retries included, by status class.", "status_class"),
		rateLimited: counter("rate_limited_total", "Responses with status 429."),
		retries:     counter("retries_total", "Failed attempts that were retried, by reason.", "reason"),
		giveUps:     counter("give_ups_total", "Requests that failed for good, by error class.", "error"),
		breakerTx: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "breaker_transitions_total",
			Help: "Changes of a scope's circuit breaker, by the state entered.", ConstLabels: cl}, []string{"scope", "state"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "attempt_duration_seconds",
			Help: "Time from sending an attempt to its response headers or error, on pacer's clock.", ConstLabels: cl,
			Buckets: cfg.attemptBuckets}, req),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "wait_seconds",
			Help:        "Waits for a budget slot (throttle) or before a retry (retry_after: the server's word; backoff), on pacer's clock.",
			ConstLabels: cl, Buckets: cfg.waitBuckets}, []string{"scope", "route", "method", "reason"}),
		queued:    gauge("queued_requests", "Requests waiting for a slot in the scope's budget."),
		window:    gauge("window_requests", "Slots counted in the scope's shortest configured window."),
		inFlight:  gauge("in_flight_requests", "Requests sent and not yet answered."),
		adaptive:  gauge("adaptive_rate_requests_per_second", "The adaptive mode's send rate; 0 when inactive."),
		remaining: gauge("server_remaining_requests", "Requests the server last said were left in its window."),
		limit:     gauge("server_limit_requests", "The limit the server last announced per window (0 if unknown)."),
		breaker:   gauge("breaker_state", "State of the scope's circuit breaker: 1 for the current state.", "state"),
		scopes:    newBounded(cfg.maxScopes), routes: newBounded(cfg.maxRoutes),
		children: make(map[childKey]any),
	}
	return c
}

// Observe makes the Collector report t's Stats at each scrape (replacing
// the Transport observed before, if any).
func (c *Collector) Observe(t *pacer.Transport) {
	c.mu.Lock()
	c.tr = t
	c.mu.Unlock()
}

// Options returns the pacer options that feed this Collector:
// pacer.WithHooks(c.Hooks(pacer.Hooks{})). A transport has one Hooks value,
// so a later pacer.WithHooks replaces it: to keep hooks of your own, pass
// pacer.WithHooks(c.Hooks(yours)) instead.
func (c *Collector) Options() []pacer.Option {
	return []pacer.Option{pacer.WithHooks(c.Hooks(pacer.Hooks{}))}
}

func (c *Collector) vecs() []prometheus.Collector {
	return []prometheus.Collector{c.sent, c.rateLimited, c.retries, c.giveUps, c.breakerTx, c.attempts, c.waits}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range c.vecs() {
		v.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{c.queued, c.window, c.inFlight, c.adaptive, c.remaining, c.limit, c.breaker} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the hooks' series, then the
// gauges of the observed Transport's Stats. Scopes past the bound are
// summed into "_OTHER".
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.vecs() {
		v.Collect(ch)
	}
	c.mu.RLock()
	tr := c.tr
	c.mu.RUnlock()
	if tr == nil {
		return
	}
	type figures struct {
		queued, window, inFlight, remaining, limit float64
		adaptive                                   float64
		breaker                                    pacer.BreakerState
		server                                     bool
	}
	byScope := map[string]*figures{}
	for scope, s := range tr.Stats().Scopes {
		scope = c.scopes.Admit(scope)
		f := byScope[scope]
		if f == nil {
			f = &figures{}
			byScope[scope] = f
		}
		f.queued += float64(s.Queued)
		f.window += float64(s.InWindow)
		f.inFlight += float64(s.InFlight)
		f.adaptive += s.AdaptiveRate
		f.breaker = worse(f.breaker, s.Breaker)
		if !s.ServerAt.IsZero() {
			f.server = true
			f.remaining += float64(s.Server.Remaining)
			f.limit += float64(s.Server.Limit)
		}
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for scope, f := range byScope {
		gauge(c.queued, f.queued, scope)
		gauge(c.window, f.window, scope)
		gauge(c.inFlight, f.inFlight, scope)
		gauge(c.adaptive, f.adaptive, scope)
		if f.server {
			gauge(c.remaining, f.remaining, scope)
			gauge(c.limit, f.limit, scope)
		}
		for _, st := range []pacer.BreakerState{pacer.BreakerClosed, pacer.BreakerOpen, pacer.BreakerHalfOpen} {
			v := 0.0
			if st == f.breaker {
				v = 1
			}
			gauge(c.breaker, v, scope, st.String())
		}
	}
}
