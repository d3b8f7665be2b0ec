package pacerotel

import (
	"net/http"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of pacerotel's meter and tracer.
const ScopeName = "github.com/pacerhq/pacer/pacerotel"

// Defaults of the cardinality bounds (see the package documentation).
const (
	DefaultMaxScopes = 100
	DefaultMaxRoutes = 200
	DefaultMaxHosts  = 100
)

// Option configures an Instrumentation.
type Option func(*config)

type config struct {
	mp                            metric.MeterProvider
	tp                            trace.TracerProvider
	clock                         pacer.Clock
	maxScopes, maxRoutes, maxHost int
}

// WithMeterProvider sets the MeterProvider (default otel.GetMeterProvider()
// at New).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets the TracerProvider (default
// otel.GetTracerProvider() at New).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithClock times http.client.request.duration on clk, pacer's clock
// (default the wall clock).
func WithClock(clk pacer.Clock) Option {
	return func(c *config) { c.clock = clk }
}

// WithMaxScopes bounds how many distinct pacer.scope values are exported
// (default DefaultMaxScopes); later scopes read "_OTHER". n < 1 means 1.
func WithMaxScopes(n int) Option { return func(c *config) { c.maxScopes = max(n, 1) } }

// WithMaxRoutes bounds how many distinct pacer.route values are exported
// (default DefaultMaxRoutes); later routes read "_OTHER". n < 1 means 1.
func WithMaxRoutes(n int) Option { return func(c *config) { c.maxRoutes = max(n, 1) } }

// WithMaxHosts bounds how many distinct server.address values are exported
// (default DefaultMaxHosts); later hosts read "_OTHER". n < 1 means 1.
func WithMaxHosts(n int) Option { return func(c *config) { c.maxHost = max(n, 1) } }

// Instrumentation records pacer's events as OTel metrics and spans. Create
// it with New; one Instrumentation serves one Transport (Observe reads that
// Transport's Stats). It is safe for concurrent use by multiple goroutines.
type Instrumentation struct {
	tracer trace.Tracer
	meter  metric.Meter
	clock  pacer.Clock

	duration    metric.Float64Histogram // http.client.request.duration
	sent        metric.Int64Counter
	rateLimited metric.Int64Counter
	retries     metric.Int64Counter
	giveUps     metric.Int64Counter
	waits       metric.Float64Histogram
	breakerTx   metric.Int64Counter

	queued, inWindow, inFlight, remaining, limit, breaker metric.Int64ObservableGauge
	adaptive                                              metric.Float64ObservableGauge

	scopes, routes, hosts *bounded
	attrs                 attrCache
}

// Bucket boundaries, in seconds. The duration buckets are the semantic
// conventions' advice for http.client.request.duration; waits run longer
// (a Retry-After or a budget's window), up to five minutes.
var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	waitBuckets     = []float64{0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// New returns an Instrumentation configured by opts. Errors creating
// instruments (none with a conforming SDK: the names are valid) go to
// otel.Handle, and the instrument concerned records nothing.
func New(opts ...Option) *Instrumentation {
	c := config{maxScopes: DefaultMaxScopes, maxRoutes: DefaultMaxRoutes, maxHost: DefaultMaxHosts}
	for _, o := range opts {
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.clock == nil {
		c.clock = pacer.SystemClock()
	}
	m := c.mp.Meter(ScopeName)
	in := &Instrumentation{tracer: c.tp.Tracer(ScopeName), meter: m, clock: c.clock,
		scopes: newBounded(c.maxScopes), routes: newBounded(c.maxRoutes), hosts: newBounded(c.maxHost)}
	in.attrs.m = make(map[attrKey]*measure)
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	in.duration, err = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests: one logical call through pacer, its waits and retries included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	check(err)
	in.sent, err = m.Int64Counter("pacer.requests.sent", metric.WithUnit("{request}"),
		metric.WithDescription("Attempts sent to the server, retries included."))
	check(err)
	in.rateLimited, err = m.Int64Counter("pacer.rate_limited", metric.WithUnit("{response}"),
		metric.WithDescription("Responses with status 429."))
	check(err)
	in.retries, err = m.Int64Counter("pacer.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Failed attempts pacer retried, by reason."))
	check(err)
	in.giveUps, err = m.Int64Counter("pacer.give_ups", metric.WithUnit("{request}"),
		metric.WithDescription("Requests that failed for good, by error class."))
	check(err)
	in.waits, err = m.Float64Histogram("pacer.wait.duration", metric.WithUnit("s"),
		metric.WithDescription("Waits: for a budget slot (throttle), or before a retry (retry_after, backoff)."),
		metric.WithExplicitBucketBoundaries(waitBuckets...))
	check(err)
	in.breakerTx, err = m.Int64Counter("pacer.breaker.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("Changes of a scope's circuit breaker, by the state entered."))
	check(err)
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return g
	}
	in.queued = gauge("pacer.requests.queued", "{request}", "Requests waiting for a slot in their scope's budget.")
	in.inWindow = gauge("pacer.requests.in_window", "{request}", "Slots counted in the scope's shortest configured window.")
	in.inFlight = gauge("pacer.requests.in_flight", "{request}", "Requests sent and not yet answered.")
	in.remaining = gauge("pacer.server.remaining", "{request}", "Requests the server last said were left in its window.")
	in.limit = gauge("pacer.server.limit", "{request}", "The limit the server last announced per window (0 if unknown).")
	in.breaker = gauge("pacer.breaker.state", "1", "State of the scope's circuit breaker: 0 closed, 1 open, 2 half-open.")
	in.adaptive, err = m.Float64ObservableGauge("pacer.adaptive.rate", metric.WithUnit("{request}/s"),
		metric.WithDescription("The adaptive mode's send rate; 0 when inactive."))
	check(err)
	for _, err := range errs {
		otel.Handle(err)
	}
	return in
}

// Options returns the pacer options that feed this Instrumentation:
// pacer.WithHooks(in.Hooks(pacer.Hooks{})). A transport has one Hooks
// value, so a later pacer.WithHooks replaces it: to keep hooks of your own,
// pass pacer.WithHooks(in.Hooks(yours)) instead.
func (in *Instrumentation) Options() []pacer.Option {
	return []pacer.Option{pacer.WithHooks(in.Hooks(pacer.Hooks{}))}
}

// attrKey names one attribute set: which instrument family it is for, and
// its (already bounded) values.
type attrKey struct {
	family               uint8
	scope, route, method string
	extra, host          string
	port, status         int
}

const (
	famSent uint8 = iota
	famRequest
	famRetry
	famGiveUp
	famWait
	famScope
	famBreaker
	famDuration
)

// attrCache holds one measurement option per attribute set, built once:
// a measurement then costs a map lookup instead of building and sorting a
// set. Its size is bounded by the product of the attributes' bounds. It is
// safe for concurrent use; a measure, once built, is never changed.
type attrCache struct {
	mu sync.RWMutex
	m  map[attrKey]*measure
}

// measure is one attribute set as the variadic options of Add, Record and
// Observe, held in slices so that passing them allocates nothing.
type measure struct {
	add []metric.AddOption
	rec []metric.RecordOption
	obs []metric.ObserveOption
}

func (c *attrCache) get(k attrKey) *measure {
	c.mu.RLock()
	o, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return o
	}
	opt := metric.WithAttributeSet(k.set())
	o = &measure{add: []metric.AddOption{opt}, rec: []metric.RecordOption{opt}, obs: []metric.ObserveOption{opt}}
	c.mu.Lock()
	c.m[k] = o
	c.mu.Unlock()
	return o
}

// set builds the attributes of k.
func (k attrKey) set() attribute.Set {
	kv := make([]attribute.KeyValue, 0, 8)
	if k.scope != "" {
		kv = append(kv, attribute.String("pacer.scope", k.scope))
	}
	if k.family == famScope || k.family == famBreaker {
		if k.family == famBreaker {
			kv = append(kv, attribute.String("pacer.breaker.state", k.extra))
		}
		return attribute.NewSet(kv...)
	}
	if k.route != "" {
		kv = append(kv, attribute.String("pacer.route", k.route))
	}
	kv = append(kv, attribute.String("http.request.method", k.method))
	switch k.family {
	case famSent:
		kv = append(kv, attribute.String("pacer.status_class", k.extra))
	case famRetry:
		kv = append(kv, attribute.String("pacer.retry.reason", k.extra))
	case famGiveUp:
		kv = append(kv, attribute.String("error.type", k.extra))
	case famWait:
		kv = append(kv, attribute.String("pacer.wait.reason", k.extra))
	case famDuration:
		kv = append(kv, attribute.String("server.address", k.host), attribute.Int("server.port", k.port))
		if k.status != 0 {
			kv = append(kv, attribute.Int("http.response.status_code", k.status))
		}
		if k.extra != "" {
			kv = append(kv, attribute.String("error.type", k.extra))
		}
	}
	return attribute.NewSet(kv...)
}

// options returns the measurement option for a request's attributes.
func (in *Instrumentation) option(family uint8, r pacer.RequestInfo, extra string) *measure {
	return in.attrs.get(attrKey{family: family, scope: in.scopes.Admit(r.Scope), route: in.routes.Admit(r.Route),
		method: knownMethod(r.Method), extra: extra})
}

func (in *Instrumentation) now() time.Time { return in.clock.Now() }

// host returns the bounded server.address and server.port of a request.
func (in *Instrumentation) host(req *http.Request) (string, int) {
	u := req.URL
	port := 0
	if p := u.Port(); p != "" {
		port = atoi(p)
	} else if u.Scheme == "https" {
		port = 443
	} else {
		port = 80
	}
	return in.hosts.Admit(u.Hostname()), port
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || n > 65535 {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
