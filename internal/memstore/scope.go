package memstore

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// memScope is the state of one scope of a Store: its windows, pacing,
// learned limits, adaptive rate and wait queue, all guarded by mu.
type memScope struct {
	name string
	// refs counts the Reserve and Observe calls using the scope right now.
	// It is incremented under the store's map lock, so the sweep (which
	// holds that lock) never evicts a scope someone is about to use.
	refs atomic.Int32

	mu       sync.Mutex
	lastUsed time.Time
	inFlight int             // granted, not yet observed
	windows  []slidingWindow // one per configured budget, as of the latest ticket
	pace     *rate.Limiter   // nil unless the latest ticket asked for pacing
	queue    classQueues
	learned  learnedLimits
	adaptive aimd
}

// grantGate collects, at now, whether every constraint of a scope allows a
// grant and, if not, the earliest time one might: the latest time a blocking
// constraint names. It is a lower bound: a constraint that waits for an
// answer names none, and Observe wakes the waiter when one arrives.
type grantGate struct {
	now     time.Time
	blocked bool
	at      time.Time // now if no blocking constraint named a time
}

// until records a constraint that blocks until t (nothing if t is not after now).
func (g *grantGate) until(t time.Time) {
	if t.After(g.now) {
		g.blocked = true
		g.at = later(g.at, t)
	}
}

// untilAnswer records a constraint that blocks until an answer arrives.
func (g *grantGate) untilAnswer() { g.blocked = true }

// configure brings the scope's windows and pacing in line with t's budgets.
// It allocates only when the budgets change.
func (s *memScope) configure(t *Ticket, now time.Time) {
	if !s.sameBudgets(t.Budgets) {
		s.rebuildWindows(t.Budgets, now)
	}
	switch {
	case t.Pace:
		setPace(&s.pace, paceRate(s.windows), now)
	case s.pace != nil:
		s.pace = nil
	}
}

func validBudget(b Budget) bool { return b.Limit > 0 && b.Window > 0 }

// sameBudgets reports whether the valid budgets of bs are those of the
// scope's windows, in order.
func (s *memScope) sameBudgets(bs []Budget) bool {
	i := 0
	for _, b := range bs {
		if !validBudget(b) {
			continue
		}
		if i == len(s.windows) || s.windows[i].budget != b {
			return false
		}
		i++
	}
	return i == len(s.windows)
}

// rebuildWindows makes one window per valid budget of bs, keeping the state
// of the windows whose length is unchanged.
func (s *memScope) rebuildWindows(bs []Budget, now time.Time) {
	ws := make([]slidingWindow, 0, len(bs))
	for _, b := range bs {
		if !validBudget(b) {
			continue
		}
		w := newSlidingWindow(b, now)
		for j := range s.windows {
			if s.windows[j].budget.Window == b.Window {
				w, s.windows[j] = s.windows[j], slidingWindow{} // reuse once
				w.setLimit(b.Limit)
				if w.budget.Fixed != b.Fixed {
					w.budget.Fixed, w.bound, w.cand = b.Fixed, time.Time{}, time.Time{}
				}
				break
			}
		}
		ws = append(ws, w)
	}
	s.windows = ws
}

// gate evaluates every constraint of the scope at now.
func (s *memScope) gate(now time.Time, st *Store, route uint64) grantGate {
	g := grantGate{now: now, at: now}
	for i := range s.windows {
		at, afterAnswer := s.windows[i].nextFree(now, s.inFlight)
		g.until(at)
		if afterAnswer {
			g.untilAnswer()
		}
	}
	if s.pace != nil {
		g.until(now.Add(limiterDelay(s.pace, now)))
	}
	if !st.IgnoreServerLimits {
		s.learned.gate(&g, route, s.inFlight, len(s.windows) > 0)
	}
	s.adaptive.gate(&g)
	return g
}

// grant takes a slot at now; the caller has checked the gate.
func (s *memScope) grant(now time.Time, st *Store, route uint64) Slot {
	if s.pace != nil {
		s.pace.AllowN(now, 1)
	}
	s.adaptive.take(now)
	if st.Adaptive != AdaptiveOff {
		s.adaptive.sent(now)
	}
	s.inFlight++
	rec := s.learned.granted(route, now)
	return Slot{Scope: s.name, Granted: now, rec: rec}
}

// release frees slot sl with outcome o (o.At set) and lets the head waiter
// look again.
func (s *memScope) release(sl Slot, o Outcome, st *Store) {
	if s.inFlight == 0 {
		return // not a slot of this scope (observed twice, or from elsewhere)
	}
	s.inFlight--
	at := later(o.At, sl.Granted)
	s.lastUsed = later(s.lastUsed, at)
	for i := range s.windows {
		if o.Counted() {
			s.windows[i].release(at)
		}
		if o.HasRateLimit {
			s.windows[i].align(o.RateLimit, at)
		}
	}
	if st.Adaptive == AdaptiveOff {
		s.learned.noInference() // inferring a limit is part of adaptive mode
	}
	probe := s.learned.bare.probe(sl.Granted)
	if c := s.learned.observe(sl.rec, o, sl.Granted, at, s.inFlight); c >= 0 {
		s.queue.reclass(sl.rec.route, c)
	}
	if !probe || o.Status != http.StatusTooManyRequests {
		s.adaptive.observe(st.Adaptive, sl.Granted, o, at, s.queue.Len())
	}
	if r := s.learned.bare.takeResume(); r > 0 {
		s.adaptive.resume(at, r)
	}
	if s.learned.takeInferred() {
		s.adaptive.stand() // the inferred budget paces the scope
	}
	s.queue.wakeHeads()
}

// usage returns the scope's snapshot at now.
func (s *memScope) usage(now time.Time) Usage {
	u := Usage{
		Scope:        s.name,
		InFlight:     s.inFlight,
		Queued:       s.queue.Len(),
		Learned:      s.learned.latest,
		AdaptiveRate: s.adaptive.rate(),
	}
	if w := s.shortestWindow(); w != nil {
		u.InWindow = w.held(now, s.inFlight)
	}
	return u
}

func (s *memScope) shortestWindow() *slidingWindow {
	var best *slidingWindow
	for i := range s.windows {
		if best == nil || s.windows[i].budget.Window < best.budget.Window {
			best = &s.windows[i]
		}
	}
	return best
}
