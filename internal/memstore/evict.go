package memstore

import "time"

// Idle scopes are evicted incrementally, with no goroutine in the
// background. Every half IdleTTL a sweep round begins; during a round, each
// Reserve that finds the map's write lock free looks at the next sweepBatch
// scopes of st.order under it and forgets those that are idle (see
// memScope.idle) and that no call is using. So no call holds the map for
// more than sweepBatch scope checks, whatever the number of scopes (the
// sweep of a whole map it replaces held it for all of them: a stall of the
// whole store with millions of keys), and a round over N scopes takes
// N/sweepBatch calls: an idle scope is forgotten at most 1.5 IdleTTL after it
// became idle plus the calls of one round. A scope is never waited for: one
// whose mutex is held is looked at in the next round.

// sweepBatch is how many scopes a call looks at during a sweep round.
const sweepBatch = 64

// idleTTL returns the IdleTTL in effect (negative: never evict).
func (st *Store) idleTTL() time.Duration {
	if st.IdleTTL == 0 {
		return DefaultIdleTTL
	}
	return st.IdleTTL
}

// maybeSweep begins a sweep round if the last one began half an IdleTTL ago
// (one caller wins), and sweeps the next batch while a round is under way.
func (st *Store) maybeSweep(now time.Time) {
	ttl := st.idleTTL()
	if ttl < 0 {
		return
	}
	if !st.sweeping.Load() {
		next, nowNs := st.nextSweep.Load(), now.UnixNano()
		if next == 0 {
			st.nextSweep.CompareAndSwap(0, nowNs+int64(ttl/2))
			return
		}
		if nowNs < next || !st.nextSweep.CompareAndSwap(next, nowNs+int64(ttl/2)) {
			return
		}
		st.sweeping.Store(true)
	}
	st.sweepSome(now, ttl)
}

// sweepSome looks at the next sweepBatch scopes of the round, unless the
// map's lock is taken (the next call will).
func (st *Store) sweepSome(now time.Time, ttl time.Duration) {
	if !st.mu.TryLock() {
		return
	}
	defer st.mu.Unlock()
	if !st.sweeping.Load() {
		return // the round ended between our look at the flag and the lock
	}
	for range sweepBatch {
		if st.sweepAt >= len(st.order) {
			st.sweepAt = 0
			st.sweeping.Store(false)
			return
		}
		s := st.order[st.sweepAt]
		if !st.evictable(s, now, ttl) {
			st.sweepAt++
			continue
		}
		// The last scope takes its place: not looked at yet this round.
		delete(st.scopes, s.name)
		last := len(st.order) - 1
		st.order[st.sweepAt] = st.order[last]
		st.order[last] = nil
		st.order = st.order[:last]
	}
}

// evictable reports whether s may be forgotten: no call is using it (refs
// grow under the map's lock, which the caller holds) and it is idle. A
// scope whose mutex is held is in use.
func (st *Store) evictable(s *memScope, now time.Time, ttl time.Duration) bool {
	if s.refs.Load() > 0 || !s.mu.TryLock() {
		return false
	}
	defer s.mu.Unlock()
	return s.idle(now, ttl)
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
