package pacer

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer/internal/route"
)

// scopeIdle is how long a Transport keeps a scope's state after its last
// use (the Store keeps its own; see MemoryStore.IdleTTL).
const scopeIdle = 10 * time.Minute

// scopeState is what a Transport keeps per scope outside its Store: the
// counters of Stats, the circuit breaker's state and the retry budget's
// bucket. A RoundTrip looks its scope up once (scopes.enter) and works on
// the state it got until it ends.
type scopeState struct {
	name string
	// refs counts the RoundTrips using the state now. It is incremented
	// under the table's lock, so the sweep (which holds that lock) never
	// evicts a state someone is about to use.
	refs    atomic.Int32
	touched atomic.Int64 // Unix nanoseconds of the latest use

	sent, rateLimited, retries, givenUp atomic.Int64
	far                                 atomic.Bool // the latest answer asked for a hold past one answer's bound (see config.bounded)

	mu       sync.Mutex // guards the fields below
	waits    *histogram // nil until the first throttled wait
	server   RateLimit
	serverAt time.Time
	circuit  *circuit // nil until the breaker first sees the scope
	tokens   float64  // the retry budget's bucket (when one is on)
}

// farAgain records whether the scope's latest answer asked for a hold past
// what one answer may cause (see config.bounded) and reports whether the
// answer before it did too.
func (st *scopeState) farAgain(far bool) bool { return st.far.Swap(far) }

// scopes holds the state of every scope a Transport has seen. It forgets a
// state unused for scopeIdle with no RoundTrip in progress and no circuit
// cooling down, so that a stream of distinct scopes (a million API keys)
// cannot grow memory without bound: the sweep runs at most once per
// scopeIdle, when a new scope is added, and costs one pass over the map.
// Forgetting is harmless: counts start again, a circuit starts closed, a
// retry bucket starts full. scopes is safe for concurrent use.
type scopes struct {
	clock Clock
	init  func(*scopeState) // prepares a new state (the retry bucket)

	mu        sync.RWMutex
	m         map[string]*scopeState
	lastSweep time.Time
}

// enter returns the state of scope, made if new, with its refs
// incremented; call leave when done with it.
func (s *scopes) enter(scope string) *scopeState {
	s.mu.RLock()
	st := s.m[scope]
	if st != nil {
		st.refs.Add(1)
	}
	s.mu.RUnlock()
	if st == nil {
		st = s.make(scope)
	}
	st.touched.Store(s.clock.Now().UnixNano())
	return st
}

// make adds the state of scope (unless another call just did), sweeping
// first if a sweep is due.
func (s *scopes) make(scope string) *scopeState {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.m[scope]; st != nil {
		st.refs.Add(1)
		return st
	}
	s.sweep(now)
	if s.m == nil {
		s.m = map[string]*scopeState{}
	}
	st := &scopeState{name: scope}
	if s.init != nil {
		s.init(st)
	}
	st.refs.Add(1)
	s.m[scope] = st
	return st
}

// leave ends a use of st begun by enter.
func (s *scopes) leave(st *scopeState) {
	st.touched.Store(s.clock.Now().UnixNano())
	st.refs.Add(-1)
}

// sweep forgets the idle states; s.mu is held.
func (s *scopes) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < scopeIdle {
		return
	}
	s.lastSweep = now
	for k, st := range s.m {
		if st.refs.Load() == 0 && now.UnixNano()-st.touched.Load() > int64(scopeIdle) && !st.cooling(now) {
			delete(s.m, k)
		}
	}
}

// cooling reports whether st's circuit is open until after now.
func (st *scopeState) cooling(now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.circuit != nil && now.Before(st.circuit.until)
}

// all returns the states held, for Stats; it holds the table's lock only
// to list them.
func (s *scopes) all() []*scopeState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*scopeState, 0, len(s.m))
	for _, st := range s.m {
		out = append(out, st)
	}
	return out
}

// routeNames caches the text of the routes a Transport has seen, by route
// key, so that events name a request's route without allocating. It keeps
// at most maxRouteNames; later routes are named afresh each time. It is
// safe for concurrent use.
type routeNames struct {
	mu    sync.RWMutex
	names map[uint64]string
}

// maxRouteNames bounds the cache: 1024 names of a few dozen bytes.
const maxRouteNames = 1024

// name returns the text of req's route, whose key is key.
func (r *routeNames) name(key uint64, req *http.Request) string {
	r.mu.RLock()
	name, ok := r.names[key]
	r.mu.RUnlock()
	if ok {
		return name
	}
	name = route.Template(req.Method, req.URL.Path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.names) < maxRouteNames {
		if r.names == nil {
			r.names = map[uint64]string{}
		}
		r.names[key] = name
	}
	return name
}
