package pacertest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Server is a rate-limited HTTP API listening on 127.0.0.1, for use in
// tests. Configure it through Config between NewUnstartedServer and Start,
// or pass the Config to NewServer.
//
// Each request goes through, in order: Faults.Latency; an outage or
// Faults.Fail503 (503, nothing counted); the limiter (429 when a limit is
// exhausted; with Faults.DropHeaders the limiter fails open instead); the
// application (Config.Handler or the items API); Faults.ResetAfterCommit.
//
// The server writes the Date header from its clock, and every reset and
// Retry-After value is in the clock's time.
//
// Server's methods are safe for concurrent use by multiple goroutines, except
// that Start must be called once, before the server is used.
type Server struct {
	// URL is the base URL, of the form http://127.0.0.1:port, with no
	// trailing slash. It is set by Start.
	URL string

	// Config describes the API. It may be changed between
	// NewUnstartedServer and Start, not after.
	Config Config

	ts      *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu     sync.Mutex // guards the fields below
	clock  Clock
	lim    *limiter
	rec    *recorder
	dice   *dice
	app    *itemsApp // nil with a custom Config.Handler
	outage bool
}

// NewServer starts and returns a new Server. The caller should call Close
// when finished, to shut it down.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer returns a new Server but doesn't start it. After
// changing its Config, the caller should call Start, then Close.
func NewUnstartedServer(cfg Config) *Server {
	return &Server{Config: cfg, closing: make(chan struct{})}
}

// Start starts the server. Fixed windows are aligned to the clock's time at
// Start. Start panics if the server is already started or a Limit is
// invalid (Requests or Window not positive).
//
// Like httptest, running the test binary with -httptest.serve=127.0.0.1:8000
// makes Start block and serve on that address, to probe the API by hand.
func (s *Server) Start() {
	clock := clockOf(s.Config.Clock)
	now := clock.Now()
	lim := newLimiter(&s.Config, now) // panics on an invalid Limit
	app := s.Config.Handler
	var items *itemsApp
	if app == nil {
		items = newItemsApp(s.Config.BulkMax)
		app = items
	}
	s.mu.Lock()
	if s.lim != nil {
		s.mu.Unlock()
		panic("pacertest: Server already started")
	}
	s.clock, s.lim, s.app = clock, lim, items
	s.rec = newRecorder(now)
	s.dice = newDice(s.Config.Faults.Seed)
	s.mu.Unlock()
	s.ts = httptest.NewUnstartedServer(s.handler(app))
	s.ts.Start()
	s.URL = s.ts.URL
}

// Close shuts down the server and blocks until all outstanding requests on
// it have completed. Requests still waiting out Faults.Latency are answered
// 503 at once. Close may be called more than once.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Client returns an HTTP client configured for requests to the server. It
// is closed (its idle connections dropped) by Close. Client panics if the
// server is not started.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		panic("pacertest: Client called before Start")
	}
	return s.ts.Client()
}

// Clock returns the server's clock: Config.Clock, or real time if that is
// nil. Hand it to the client under test so both agree on time.
func (s *Server) Clock() Clock {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clock != nil {
		return s.clock
	}
	return clockOf(s.Config.Clock)
}

// Evidence returns a snapshot of what the server saw so far. Before Start it
// returns the zero Evidence.
func (s *Server) Evidence() Evidence {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lim == nil {
		return Evidence{}
	}
	e := Evidence{
		Accepted:   s.rec.counts[accepted],
		Rejected:   s.rec.counts[rejected],
		Failed:     s.rec.counts[failed],
		FailedOpen: s.rec.failedOpen,
		Dropped:    s.rec.dropped,
		Windows:    s.lim.windows(),
		Series:     s.rec.series(),
	}
	if s.app != nil {
		e.fillCreated(s.app.createdCounts())
	}
	return e
}

func clockOf(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

// verdict is what the server decided for one request before the app runs.
type verdict struct {
	outcome  outcome
	failOpen bool
	d        decision
}

// decide draws the faults and asks the limiter, recording the outcome.
func (s *Server) decide(r *http.Request, now time.Time) verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v verdict
	switch {
	case s.inOutage(now) || s.dice.roll(s.Config.Faults.Fail503):
		v.outcome = failed
	default:
		v.failOpen = s.dice.roll(s.Config.Faults.DropHeaders)
		v.d = s.lim.decide(r, now, v.failOpen)
		if !v.d.allowed {
			v.outcome = rejected
		}
	}
	if v.failOpen {
		s.rec.failedOpen++
	}
	s.rec.record(v.outcome, now)
	return v
}

// handler returns the server's http.Handler in front of app.
func (s *Server) handler(app http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.delay(r) {
			http.Error(w, "pacertest: server closing", http.StatusServiceUnavailable)
			return
		}
		now := s.clock.Now()
		w.Header().Set("Date", httpDate(now))
		v := s.decide(r, now)
		switch v.outcome {
		case failed:
			s.fail(w, now)
		case rejected:
			s.reject(w, v.d, now)
		default:
			if !v.failOpen && !s.Config.HeadersOn429Only {
				setRateLimitHeaders(w.Header(), s.Config.Headers, v.d.usages, now)
			}
			s.serveApp(w, r, app)
		}
	})
}

// fail answers 503 Service Unavailable.
func (s *Server) fail(w http.ResponseWriter, now time.Time) {
	setRetryAfter(w.Header(), s.Config.RetryAfter, now.Add(s.retryAfter503()), now)
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}

// reject answers 429 Too Many Requests for decision d.
func (s *Server) reject(w http.ResponseWriter, d decision, now time.Time) {
	h := w.Header()
	setRateLimitHeaders(h, s.Config.Headers, d.usages, now)
	setRetryAfter(h, s.Config.RetryAfter, d.retryAt, now)
	ctype, body := body429(s.Config.Body429, d, now)
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write(body) //nolint:errcheck // the client may be gone; nothing to do
}

// serveApp runs the application. A POST that may meet ResetAfterCommit is
// recorded first, so that a creating answer can be dropped.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request, app http.Handler) {
	if r.Method != http.MethodPost || s.Config.Faults.ResetAfterCommit <= 0 {
		app.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, r)
	creating := rec.Code == http.StatusCreated && rec.Header().Get(headerReplayed) == ""
	if creating && s.rollReset() && resetConnection(w, s.countDrop) {
		return
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()) //nolint:errcheck // the client may be gone
}

// countDrop records a create whose answer is about to be dropped.
func (s *Server) countDrop() {
	s.mu.Lock()
	s.rec.dropped++
	s.mu.Unlock()
}

// rollReset draws ResetAfterCommit.
func (s *Server) rollReset() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dice.roll(s.Config.Faults.ResetAfterCommit)
}
