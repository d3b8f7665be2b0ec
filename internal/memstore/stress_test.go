package memstore

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// lockedServer is a simServer shared by goroutines on the wall clock.
type lockedServer struct {
	mu  sync.Mutex
	srv simServer
}

func (l *lockedServer) arrive() Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.srv.arrive(time.Now())
}

// stress runs workers goroutines that send requests through st to srv for
// d of wall-clock time, with random latencies (the server sees a request
// halfway through), random priorities, and some callers that give up
// before sending or while waiting. It returns how many requests were sent,
// and how many of them were refused with a 429.
func stress(st *Store, srv *lockedServer, tk Ticket, workers int, d time.Duration) (sent, refused int) {
	return stressRoutes(st, []route429{{tk, srv}}, workers, d)
}

// route429 is a ticket and the server limit its requests draw from.
type route429 struct {
	tk  Ticket
	srv *lockedServer
}

// stressRoutes is stress with each request on a route drawn at random.
func stressRoutes(st *Store, routes []route429, workers int, d time.Duration) (sent, refused int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	stop := time.Now().Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for time.Now().Before(stop) {
				r := routes[rng.IntN(len(routes))]
				tk, srv := r.tk, r.srv
				tk.Priority = rng.IntN(3)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(40))*time.Millisecond)
				sl, err := st.Reserve(ctx, tk)
				cancel()
				if err != nil {
					continue // gave up waiting, or would have waited past the deadline
				}
				if rng.IntN(10) == 0 { // gave up between Reserve and send
					st.Observe(sl, Outcome{Sent: false, At: time.Now()})
					continue
				}
				lat := time.Duration(rng.IntN(4000)) * time.Microsecond
				time.Sleep(lat / 2)
				o := srv.arrive()
				time.Sleep(lat / 2)
				o.Sent, o.At = true, time.Now()
				st.Observe(sl, o)
				mu.Lock()
				sent++
				if o.Status == 429 {
					refused++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return sent, refused
}

func TestStressWindowsNeverExceeded(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	st := &Store{IgnoreServerLimits: true, Adaptive: AdaptiveOff}
	budgets := []Budget{{Limit: 4, Window: 20 * time.Millisecond}, {Limit: 30, Window: 300 * time.Millisecond}}
	srv := &lockedServer{srv: simServer{limit: 1 << 30, window: time.Second}}
	sent, _ := stress(st, srv, Ticket{Scope: "api", Budgets: budgets}, 16, 700*time.Millisecond)
	require.Greater(t, sent, 30, "the store let requests through")
	for _, b := range budgets {
		assert.LessOrEqual(t, maxInWindow(srv.srv.arrivals, b.Window), b.Limit, "%v", b)
	}
	u := st.Usage()[0]
	assert.Zero(t, u.InFlight)
	assert.Zero(t, u.Queued)
}

func TestStressLearnedNo429(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	st := &Store{}
	srv := &lockedServer{srv: simServer{limit: 5, window: 30 * time.Millisecond, headers: true}}
	sent, refused := stress(st, srv, Ticket{Scope: "api"}, 12, 700*time.Millisecond)
	require.Greater(t, sent, 20)
	assert.Zero(t, refused)
	assert.LessOrEqual(t, maxInWindow(srv.srv.arrivals, srv.srv.window), srv.srv.limit)
}

func TestStressLearnedPoolsNo429(t *testing.T) {
	// Four routes of one scope: two with a limit each, two sharing a third
	// (the per-endpoint table with a default pool). Random routes, latencies
	// and give-ups: no 429, and every limit held.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	st := &Store{}
	w := 30 * time.Millisecond
	a := &lockedServer{srv: simServer{limit: 5, window: w, headers: true}}
	b := &lockedServer{srv: simServer{limit: 9, window: w, headers: true}}
	shared := &lockedServer{srv: simServer{limit: 7, window: w, headers: true}}
	routes := []route429{
		{onRoute("POST", "/a"), a}, {onRoute("GET", "/b/1"), b},
		{onRoute("GET", "/c"), shared}, {onRoute("GET", "/d"), shared},
	}
	sent, refused := stressRoutes(st, routes, 12, 700*time.Millisecond)
	require.Greater(t, sent, 40)
	assert.Zero(t, refused)
	for _, s := range []*lockedServer{a, b, shared} {
		assert.LessOrEqual(t, maxInWindow(s.srv.arrivals, w), s.srv.limit)
		assert.Greater(t, len(s.srv.arrivals), 5, "every pool was used")
	}
}
