package memstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/internal/clocktest"
)

// Symbolic times of the step tables, as offsets from the manual clock's start.
const (
	t0 = time.Duration(0)
	t1 = 1 * time.Second
	t2 = 2 * time.Second
	t3 = 3 * time.Second
	t4 = 4 * time.Second
	t5 = 5 * time.Second
	t6 = 6 * time.Second
	t7 = 7 * time.Second
	t8 = 8 * time.Second
	t9 = 9 * time.Second
)

// afterAnswer as a step's next means: no grant before a request in flight
// is answered.
const afterAnswer = time.Duration(-1)

// harness drives a Store on a manual clock.
type harness struct {
	t     *testing.T
	clk   *clocktest.Manual
	st    *Store
	slots map[string]Slot
}

func newHarness(t *testing.T) *harness {
	clk := clocktest.NewManual(time.Time{})
	return &harness{t: t, clk: clk, st: &Store{Clock: clk}, slots: map[string]Slot{}}
}

// when returns the absolute time of symbolic offset d.
func (h *harness) when(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }

func (h *harness) set(d time.Duration) { h.clk.Set(h.when(d)) }

// try asks the store for a slot at the current time without waiting: the
// slot, or the earliest grant time its scope names (afterAnswer if none).
func (h *harness) try(tk Ticket) (Slot, bool, time.Duration) {
	now := h.clk.Now()
	s := h.st.acquire(tk.Scope, now)
	defer s.refs.Add(-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configure(&tk, now)
	if s.queue.classLen(s.learned.class(tk.Route)) > 0 {
		return Slot{}, false, afterAnswer
	}
	g := s.gate(now, h.st, tk.Route)
	if !g.blocked {
		return s.grant(now, h.st, tk.Route), true, 0
	}
	if !g.at.After(now) {
		return Slot{}, false, afterAnswer
	}
	return Slot{}, false, g.at.Sub(clocktest.Epoch)
}

// step is one line of a step table: at time at, either reserve (grant names
// the slot expected, or deny expects a refusal naming next) or report the
// answer of slot answer (o, with Sent true and At = at unless unsent).
type step struct {
	at     time.Duration
	grant  string
	deny   bool
	next   time.Duration
	answer string
	unsent bool
	o      Outcome
}

func (h *harness) run(tk Ticket, steps []step) {
	h.t.Helper()
	for i, s := range steps {
		h.set(s.at)
		where := fmt.Sprintf("step %d at t0+%v", i, s.at)
		switch {
		case s.grant != "":
			sl, ok, next := h.try(tk)
			require.True(h.t, ok, "%s: want a slot, store says wait until %v", where, next)
			h.slots[s.grant] = sl
		case s.deny:
			_, ok, next := h.try(tk)
			require.False(h.t, ok, "%s: want no slot", where)
			require.Equal(h.t, s.next, next, "%s: earliest grant", where)
		case s.answer != "":
			sl, ok := h.slots[s.answer]
			require.True(h.t, ok, "%s: no slot %q", where, s.answer)
			o := s.o
			o.Sent, o.At = !s.unsent, h.when(s.at)
			if o.Status == 0 && o.Sent {
				o.Status = 200
			}
			h.st.Observe(sl, o)
		}
	}
}

func TestSlidingWindowExact(t *testing.T) {
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 2, Window: 4 * time.Second}}}
	newHarness(t).run(tk, []step{
		{at: t0, grant: "a"},
		{at: t0, answer: "a"}, // held until t4
		{at: t1, grant: "b"},
		{at: t1, answer: "b"}, // held until t5
		{at: t2, deny: true, next: t4},
		{at: t4 - 1, deny: true, next: t4},
		{at: t4, grant: "c"}, // a stops counting exactly at t4
		{at: t4, deny: true, next: t5},
		{at: t4, answer: "c"},
		{at: t5, grant: "d"},
		{at: t5, deny: true, next: t8},
	})
}

func TestSlidingWindowSlowResponse(t *testing.T) {
	w := 4 * time.Second
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 2, Window: w}}}
	newHarness(t).run(tk, []step{
		{at: t0, grant: "a"},
		{at: t0, grant: "b"},
		{at: t1, deny: true, next: t1 + w}, // both in flight: an answer now frees its slot at t5 at best
		{at: t1, answer: "a"},              // a held until t1+4s = t5
		{at: t2, deny: true, next: t5},
		{at: t3, answer: "b"}, // slow: b held until t7
		{at: t5, grant: "c"},  // a released exactly at t5
		{at: t5, deny: true, next: t7},
		{at: t6, answer: "c"}, // c held until t10
		{at: t7, grant: "d"},
		{at: t7, deny: true, next: t6 + w},
	})
}

func TestDualWindows(t *testing.T) {
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 2, Window: 2 * time.Second}, {Limit: 3, Window: 10 * time.Second}}}
	newHarness(t).run(tk, []step{
		{at: t0, grant: "a"},
		{at: t0, answer: "a"}, // 2s window until t2, 10s window until t10
		{at: t0, grant: "b"},
		{at: t0, answer: "b"},
		{at: t0, deny: true, next: t2}, // the 2s window is full
		{at: t2, grant: "c"},
		{at: t2, answer: "c"},
		{at: t2, deny: true, next: t0 + 10*time.Second}, // now the 10s window is
		{at: t9, deny: true, next: t0 + 10*time.Second},
		{at: t0 + 10*time.Second, grant: "d"},
		{at: t0 + 10*time.Second, grant: "e"},
		{at: t0 + 10*time.Second, deny: true, next: t2 + 10*time.Second},
	})
}

func TestUnsentSlotFreedAtOnce(t *testing.T) {
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 1, Window: 4 * time.Second}}}
	newHarness(t).run(tk, []step{
		{at: t0, grant: "a"},
		{at: t0, deny: true, next: t4}, // an answer now would hold a until t4
		{at: t1, answer: "a", unsent: true},
		{at: t1, grant: "b"},
		{at: t1, deny: true, next: t5},
	})
}

func TestPacingSpacesSends(t *testing.T) {
	// 10 per 4s is the tightest budget: one send every 400ms.
	tk := Ticket{Scope: "api", Pace: true, Budgets: []Budget{
		{Limit: 100, Window: 10 * time.Second}, {Limit: 10, Window: 4 * time.Second}}}
	ms := time.Millisecond
	newHarness(t).run(tk, []step{
		{at: t0, grant: "a"},
		{at: t0, answer: "a"},
		{at: t0, deny: true, next: 400 * ms},
		{at: 399 * ms, deny: true, next: 400 * ms},
		{at: 400 * ms, grant: "b"},
		{at: 600 * ms, deny: true, next: 800 * ms},
		{at: 2 * time.Second, grant: "c"}, // idle time does not build a burst
		{at: 2 * time.Second, deny: true, next: 2400 * ms},
	})
}

func TestPacingOffWithoutPace(t *testing.T) {
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 10, Window: 4 * time.Second}}}
	steps := make([]step, 0, 11)
	for i := range 10 {
		steps = append(steps, step{at: t0, grant: fmt.Sprint(i)})
	}
	steps = append(steps, step{at: t0, deny: true, next: t4})
	newHarness(t).run(tk, steps)
}

func TestUnconfiguredScopeSendsFreely(t *testing.T) {
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	h.st.IgnoreServerLimits = true
	for i := range 1000 {
		_, ok, _ := h.try(tk)
		require.True(t, ok, "request %d", i)
	}
}

// TestSimBudgetsExact sends through configured budgets equal to the server's
// limits, with random latencies: the server never sees more than a budget's
// limit in any window, so it never refuses.
func TestSimBudgetsExact(t *testing.T) {
	for _, pace := range []bool{false, true} {
		h := newHarness(t)
		h.st.IgnoreServerLimits = true
		h.st.Adaptive = AdaptiveOff
		budgets := []Budget{{Limit: 5, Window: time.Second}, {Limit: 200, Window: time.Minute}}
		srv := &simServer{limit: 5, window: time.Second}
		sim := &simulation{h: h, srv: srv, ticket: Ticket{Scope: "api", Budgets: budgets, Pace: pace}, workers: 8,
			minLatency: time.Millisecond, maxLatency: 400 * time.Millisecond, rng: rand.New(rand.NewPCG(5, 6))}
		sim.run(5 * time.Minute)
		for _, b := range budgets {
			assert.LessOrEqual(t, maxInWindow(srv.arrivals, b.Window), b.Limit, "pace %v, %v", pace, b)
		}
		assert.Zero(t, sim.refused)
		assert.Greater(t, sim.sent, 4*200, "pace %v: the minute budget is used", pace)
	}
}
