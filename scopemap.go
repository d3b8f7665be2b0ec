package pacer

import (
	"iter"
	"time"
)

// scopeIdle is how long the per-scope state of the tracker, the circuit
// breakers and the retry budgets is kept after its last use.
const scopeIdle = 10 * time.Minute

// scopeMap holds per-scope state and forgets scopes idle for scopeIdle, so
// that a stream of distinct scopes (a million API keys) cannot grow memory
// without bound. Sweeps run lazily, at most once per scopeIdle, when a new
// scope is added. The zero value is empty and ready. A scopeMap is not safe
// for concurrent use: its owner's mutex guards it.
type scopeMap[V any] struct {
	entries   map[string]*scoped[V]
	lastSweep time.Time
	// busy, when set, keeps an idle entry that still holds something live
	// (a request in progress, a cool-down not over).
	busy func(v V, now time.Time) bool
}

type scoped[V any] struct {
	v       V
	touched time.Time
}

// get returns the scope's state, made by mk if the scope is new, and marks
// it used at now.
func (m *scopeMap[V]) get(scope string, now time.Time, mk func() V) V {
	e := m.entries[scope]
	if e == nil {
		m.sweep(now)
		if m.entries == nil {
			m.entries = map[string]*scoped[V]{}
		}
		e = &scoped[V]{v: mk()}
		m.entries[scope] = e
	}
	e.touched = now
	return e.v
}

// lookup returns the scope's state without creating it or marking it used.
func (m *scopeMap[V]) lookup(scope string) (v V, ok bool) {
	if e := m.entries[scope]; e != nil {
		return e.v, true
	}
	return v, false
}

// all iterates over the scopes held.
func (m *scopeMap[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for k, e := range m.entries {
			if !yield(k, e.v) {
				return
			}
		}
	}
}

// size is the number of scopes held.
func (m *scopeMap[V]) size() int { return len(m.entries) }

func (m *scopeMap[V]) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < scopeIdle {
		return
	}
	m.lastSweep = now
	for k, e := range m.entries {
		if now.Sub(e.touched) > scopeIdle && (m.busy == nil || !m.busy(e.v, now)) {
			delete(m.entries, k)
		}
	}
}
