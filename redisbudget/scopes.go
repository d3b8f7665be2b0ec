package redisbudget

import (
	"slices"
	"time"
)

// idleScopeTTL is how long a Store remembers a scope (its queue, and its
// place in Usage) after the last Reserve in it, once nobody waits in it.
// Its budget in Redis is not affected.
const idleScopeTTL = 10 * time.Minute

// acquire returns the in-process state of a scope, created if needed, held
// until release so that the sweep leaves it alone.
func (s *Store) acquire(name string) *scope {
	now := s.cfg.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.nextSweep) {
		s.sweep(now)
		s.nextSweep = now.Add(idleScopeTTL / 2)
	}
	sc := s.scopes[name]
	if sc == nil {
		sc = &scope{}
		s.scopes[name] = sc
	}
	sc.refs++
	sc.lastUsed = now
	return sc
}

func (s *Store) release(sc *scope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc.refs--
}

// sweep forgets the scopes nobody has used for idleScopeTTL. Called with
// s.mu held.
func (s *Store) sweep(now time.Time) {
	for name, sc := range s.scopes {
		if sc.refs == 0 && now.Sub(sc.lastUsed) > idleScopeTTL {
			delete(s.scopes, name)
		}
	}
}

// lookup returns the state of a scope, nil if the Store does not know it.
func (s *Store) lookup(name string) *scope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scopes[name]
}

// snapshot lists the scopes this Store knows, sorted by name.
func (s *Store) snapshot() ([]string, []*scope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.scopes))
	for name := range s.scopes {
		names = append(names, name)
	}
	slices.Sort(names)
	scs := make([]*scope, len(names))
	for i, name := range names {
		scs[i] = s.scopes[name]
	}
	return names, scs
}
