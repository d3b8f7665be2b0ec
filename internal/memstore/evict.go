package memstore

import "time"

// Idle scopes are evicted lazily: a Reserve that finds the last sweep half an
// IdleTTL old sweeps the scope map, under its write lock, and forgets every
// scope that is idle (see memScope.idle) and that no call is using. No
// goroutine runs in the background.

// idleTTL returns the IdleTTL in effect (negative: never evict).
func (st *Store) idleTTL() time.Duration {
	if st.IdleTTL == 0 {
		return DefaultIdleTTL
	}
	return st.IdleTTL
}

// maybeSweep evicts the idle scopes if the last sweep is half an IdleTTL
// old, so an idle scope is forgotten at most 1.5 IdleTTL after it became
// idle. One caller sweeps; the others go on.
func (st *Store) maybeSweep(now time.Time) {
	ttl := st.idleTTL()
	if ttl < 0 {
		return
	}
	next, nowNs := st.nextSweep.Load(), now.UnixNano()
	if next == 0 {
		st.nextSweep.CompareAndSwap(0, nowNs+int64(ttl/2))
		return
	}
	if nowNs < next || !st.nextSweep.CompareAndSwap(next, nowNs+int64(ttl/2)) {
		return
	}
	st.sweep(now, ttl)
}

func (st *Store) sweep(now time.Time, ttl time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for name, s := range st.scopes {
		if s.refs.Load() > 0 {
			continue
		}
		s.mu.Lock()
		idle := s.idle(now, ttl)
		s.mu.Unlock()
		if idle {
			delete(st.scopes, name)
		}
	}
}

// idle reports whether the scope holds nothing at now that eviction would
// lose: no slot held or in flight, no waiter, no learned limit in force, and
// no use for ttl.
func (s *memScope) idle(now time.Time, ttl time.Duration) bool {
	if s.inFlight > 0 || s.queue.Len() > 0 || now.Sub(s.lastUsed) < ttl {
		return false
	}
	for i := range s.windows {
		if s.windows[i].held(now, 0) > 0 {
			return false
		}
	}
	return !s.learned.holds(now)
}
