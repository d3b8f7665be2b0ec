package memstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pacerhq/pacer/internal/clocktest"
)

func TestSlidingWindowRingBound(t *testing.T) {
	w := newSlidingWindow(Budget{Limit: 3, Window: 10 * time.Second}, clocktest.Epoch)
	at := func(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }
	for i := range 1000 {
		w.release(at(time.Duration(i) * time.Millisecond))
		assert.LessOrEqual(t, len(w.ring), 3, "never more than Limit entries")
	}
	// Only the newest three releases are kept, and they decide alone.
	assert.Equal(t, 3, w.held(at(0), 0))
	next, afterAnswer := w.nextFree(at(0), 0)
	assert.False(t, afterAnswer)
	assert.Equal(t, at(997*time.Millisecond+10*time.Second), next)
}

func TestSlidingWindowOutOfOrderRelease(t *testing.T) {
	w := newSlidingWindow(Budget{Limit: 5, Window: 10 * time.Second}, clocktest.Epoch)
	at := func(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }
	w.release(at(t2))
	w.release(at(t1)) // observed late: held until t2+10s too, never less
	assert.Equal(t, 2, w.held(at(t2+10*time.Second-1), 0))
	assert.Equal(t, 0, w.held(at(t2+10*time.Second), 0))
}

func TestSlidingWindowNextFree(t *testing.T) {
	at := func(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }
	w := newSlidingWindow(Budget{Limit: 3, Window: 10 * time.Second}, clocktest.Epoch)
	w.release(at(t0))
	w.release(at(t1))
	for _, c := range []struct {
		inFlight    int
		next        time.Time
		afterAnswer bool
	}{
		{0, at(t2), false},                  // room now
		{1, at(t0 + 10*time.Second), false}, // full: the oldest frees first
		{2, at(t1 + 10*time.Second), false}, // one over: the second oldest
		{3, at(t2 + 10*time.Second), true},  // an answer is needed, at t2 at best
		{5, at(t2 + 10*time.Second), true},
	} {
		next, afterAnswer := w.nextFree(at(t2), c.inFlight)
		assert.Equal(t, c.next, next, "in flight %d", c.inFlight)
		assert.Equal(t, c.afterAnswer, afterAnswer, "in flight %d", c.inFlight)
	}
}

func TestSlidingWindowSetLimit(t *testing.T) {
	at := func(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }
	w := newSlidingWindow(Budget{Limit: 4, Window: 10 * time.Second}, clocktest.Epoch)
	for _, d := range []time.Duration{t0, t1, t2, t3} {
		w.release(at(d))
	}
	w.setLimit(2) // keeps the newest two
	assert.Equal(t, 2, w.n)
	assert.Equal(t, at(t2+10*time.Second), w.at(0))
	assert.LessOrEqual(t, len(w.ring), 2)
	w.setLimit(6)
	for _, d := range []time.Duration{t4, t5, t6, t7} {
		w.release(at(d))
	}
	assert.Equal(t, 6, w.held(at(t4), 0))
	next, _ := w.nextFree(at(t4), 0)
	assert.Equal(t, at(t2+10*time.Second), next)
}

func TestBudgetsChangeKeepsWindowState(t *testing.T) {
	h := newHarness(t)
	minute := Budget{Limit: 2, Window: time.Minute}
	h.run(Ticket{Scope: "api", Budgets: []Budget{minute}}, []step{
		{at: t0, grant: "a"},
		{at: t0, answer: "a"},
	})
	// Same window, lower limit, plus a new window: the minute's slot counts.
	h.run(Ticket{Scope: "api", Budgets: []Budget{{Limit: 1, Window: time.Minute}, {Limit: 5, Window: time.Second}}}, []step{
		{at: t1, deny: true, next: time.Minute},
	})
	// Invalid budgets limit nothing.
	h.run(Ticket{Scope: "api", Budgets: []Budget{{Limit: 0, Window: time.Minute}, {Limit: 5, Window: 0}}}, []step{
		{at: t1, grant: "b"},
		{at: t1, grant: "c"},
	})
}
