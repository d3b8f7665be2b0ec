package interop

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/stretchr/testify/require"
	"github.com/throttled/throttled/v2"
	"github.com/throttled/throttled/v2/store/memstore"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// The limit every middleware enforces, per client IP.
const (
	limitN      = 20
	limitWindow = time.Second
)

// event is one answer the server gave: when the request arrived (before the
// limiter saw it), its status, and the rate-limit headers the limiter set.
type event struct {
	At     time.Time
	Status int
	Header map[string]string
}

// serverLog is what a server recorded: every answer in arrival order, and how
// many times each item id was created (by requests the limiter let through).
type serverLog struct {
	Events  []event
	Creates map[string]int
}

// keepHeader selects the headers worth recording.
var keepHeader = regexp.MustCompile(`(?i)^(x-ratelimit|ratelimit|retry-after)`)

// recorder is the recording side of a Go server: outer wraps the limiter and
// logs every answer; items is the handler the limiter protects.
type recorder struct {
	mu  sync.Mutex
	log serverLog
}

func newRecorder() *recorder {
	return &recorder{log: serverLog{Creates: map[string]int{}}}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (r *recorder) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, req)
		h := map[string]string{}
		for k, v := range w.Header() {
			if keepHeader.MatchString(k) && len(v) > 0 {
				h[k] = v[0]
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		r.mu.Lock()
		r.log.Events = append(r.log.Events, event{At: at, Status: sw.status, Header: h})
		r.mu.Unlock()
	})
}

// items creates the item named by the JSON body's id: POST /items {"id":"…"}.
func (r *recorder) items() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/items" {
			http.NotFound(w, req)
			return
		}
		var body struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<10)).Decode(&body); err != nil || body.ID == "" {
			http.Error(w, "want {\"id\":\"…\"}", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.log.Creates[body.ID]++
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"`+body.ID+`"}`)
	})
}

func (r *recorder) snapshot() serverLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := serverLog{Events: append([]event(nil), r.log.Events...), Creates: map[string]int{}}
	for k, v := range r.log.Creates {
		out.Creates[k] = v
	}
	return out
}

// target is a running rate-limited server: POST url+"/items" is limited,
// GET url+"/ping" is not.
type target struct {
	url  string
	logs func() (serverLog, error)
	// minimum is the theoretical minimum time for n creates sent from start
	// by a client with zero latency (see minimum_test.go).
	minimum func(n int, start time.Time) time.Duration
	// notBefore: the run starts no earlier (its middleware's joinAfter
	// after the limiter was made).
	notBefore time.Time
}

// middleware wraps a handler in a real rate limiter. A new one is made for
// every run, so each run starts from a cold window.
type middleware struct {
	name    string
	headers string // what it sends, for the report
	build   func(t testing.TB) (wrap func(http.Handler) http.Handler, minimum func(n int, start time.Time) time.Duration)
	// joinAfter: the run starts this long after the limiter is made (0:
	// at once). It matters where windows are aligned to the limiter's
	// creation instant (httprate), not to a client's first request.
	joinAfter time.Duration
}

var goMiddlewares = []middleware{
	{
		name:    "ulule/limiter v3 (fixed window)",
		headers: "X-RateLimit-Limit/-Remaining/-Reset (unix s, truncated); no Retry-After",
		build: func(t testing.TB) (func(http.Handler) http.Handler, func(int, time.Time) time.Duration) {
			lim := limiter.New(memory.NewStore(), limiter.Rate{Period: limitWindow, Limit: limitN})
			return stdlib.NewMiddleware(lim).Handler, func(n int, _ time.Time) time.Duration {
				return minFixedFromFirst(n, limitN, limitWindow)
			}
		},
	},
	{
		name:    "go-chi/httprate (sliding-window counter)",
		headers: httprateHeaders,
		build:   buildHTTPRate,
	},
	{
		// The same limiter met 600 ms into its window: its truncated reset
		// hides where in the second the window turns, so a client that
		// must not be refused waits for the latest turn the reset allows.
		name:      "go-chi/httprate, joined 600 ms into its window",
		headers:   httprateHeaders,
		build:     buildHTTPRate,
		joinAfter: 600 * time.Millisecond,
	},
	{
		name:    "throttled/throttled v2 (GCRA)",
		headers: "X-RateLimit-Limit/-Remaining; -Reset = s until the bucket is full; Retry-After on 429",
		build: func(t testing.TB) (func(http.Handler) http.Handler, func(int, time.Time) time.Duration) {
			store, err := memstore.NewCtx(1024)
			require.NoError(t, err)
			// 20 per second, a burst of 20: MaxBurst counts the requests
			// beyond the first one.
			quota := throttled.RateQuota{MaxRate: throttled.PerSec(limitN), MaxBurst: limitN - 1}
			rl, err := throttled.NewGCRARateLimiterCtx(store, quota)
			require.NoError(t, err)
			h := &throttled.HTTPRateLimiterCtx{RateLimiter: rl, VaryBy: &throttled.VaryBy{RemoteAddr: true}}
			return h.RateLimit, func(n int, _ time.Time) time.Duration {
				return minGCRA(n, limitN, limitWindow/limitN)
			}
		},
	},
}

const httprateHeaders = "X-RateLimit-Limit/-Remaining (estimate)/-Reset (current window end, unix s, truncated); Retry-After: 1 on 429"

func buildHTTPRate(testing.TB) (func(http.Handler) http.Handler, func(int, time.Time) time.Duration) {
	// httprate aligns its windows to the instant the limiter is made (its
	// windowOffset): note that instant for the minimum.
	created := time.Now()
	wrap := httprate.LimitBy(limitN, limitWindow, func(r *http.Request) (string, error) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		return httprate.CanonicalizeIP(host), err
	})
	offset := created.Sub(created.Truncate(limitWindow))
	return wrap, func(n int, start time.Time) time.Duration {
		return minSlidingCounter(n, limitN, limitWindow, offset, start)
	}
}

// startGoServer starts a fresh server on 127.0.0.1 whose /items is limited
// by m; it is closed when t ends.
func startGoServer(t testing.TB, m middleware) target {
	rec := newRecorder()
	made := time.Now()
	wrap, minimum := m.build(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", rec.outer(wrap(rec.items())))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return target{
		url:       srv.URL,
		logs:      func() (serverLog, error) { return rec.snapshot(), nil },
		minimum:   minimum,
		notBefore: made.Add(m.joinAfter),
	}
}
