package memstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pacerhq/pacer/internal/clocktest"
)

// A fixed budget of 2 per minute on a server whose windows start at t0+30s,
// t0+90s, … (the reset of the answers below). Learned limits are off: the
// budget alone decides.
func fixedHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.st.IgnoreServerLimits = true
	return h
}

const (
	minute = time.Minute
	b0     = 30 * time.Second // the server's boundaries: b0, b1, b2
	b1     = b0 + minute
	b2     = b1 + minute
)

func fixedTicket(limit int) Ticket {
	return Ticket{Scope: "api", Budgets: []Budget{{Limit: limit, Window: minute, Fixed: true}}}
}

// resetAt is an answer naming the budget's limit and a reset at d.
func resetAt(limit int, d time.Duration) Outcome {
	return Outcome{HasRateLimit: true, RateLimit: RateLimit{Limit: limit, Reset: clocktest.Epoch.Add(d)}}
}

func TestFixedWindowSlidingUntilAligned(t *testing.T) {
	fixedHarness(t).run(fixedTicket(2), []step{
		{at: t0, grant: "a"},
		{at: t0, grant: "b"},
		{at: t1, answer: "a"}, // no reset named: a sliding window, a held until t1+62s
		{at: t1, answer: "b"},
		{at: t2, deny: true, next: t1 + minute + fixedSlack},
		{at: t1 + minute + fixedSlack, grant: "c"},
	})
}

func TestFixedWindowAligned(t *testing.T) {
	fixedHarness(t).run(fixedTicket(2), []step{
		{at: t0, grant: "a"},
		{at: t1, answer: "a", o: resetAt(2, b0)}, // a candidate boundary
		{at: t1 + fixedSlack, grant: "b"},
		{at: t1 + fixedSlack, answer: "b", o: resetAt(2, b0)}, // confirmed: windows [b0-1m, b0), [b0, b1), …
		{at: t4, deny: true, next: b0},                        // full until the server's window ends, not until t3+62s
		{at: b0 - 1, deny: true, next: b0},
		{at: b0, grant: "c"},
		{at: b0, grant: "d"},
		{at: b0, deny: true, next: b1},
		{at: b0, answer: "c"},
		{at: b1 - fixedSlack/2, answer: "d"}, // may have reached the server in its next window
		{at: b1, grant: "e"},                 // so [b1, b2) has room for one
		{at: b1, deny: true, next: b2},
		{at: b1, answer: "e"},
		{at: b2, grant: "f"},
		{at: b2, grant: "g"},
	})
}

// alignedSteps align a fixed budget of limit on boundary b0 with two
// requests answered at t1 and t3: two slots of [b0-1m, b0) are taken.
func alignedSteps(limit int) []step {
	return []step{
		{at: t0, grant: "a0"},
		{at: t1, answer: "a0", o: resetAt(limit, b0)},
		{at: t1, grant: "a"},
		{at: t3, answer: "a", o: resetAt(limit, b0)}, // fixedSlack later: aligned
	}
}

func TestFixedWindowInFlightCountsInNextWindow(t *testing.T) {
	fixedHarness(t).run(fixedTicket(3), append(alignedSteps(3), []step{
		{at: b0 - t5, grant: "b"}, // a0, a, b: the window is full
		{at: b0 - t4, deny: true, next: b0},
		{at: b0, grant: "c"},           // b in flight across b0: it may reach the server in [b0, b1)
		{at: b0, grant: "d"},           // so [b0, b1) has room for two
		{at: b0, deny: true, next: b1}, // three in flight: no grant before b1, and an answer
		{at: b0 + t1, answer: "b"},
		{at: b0 + t1, answer: "c"},
		{at: b0 + t1, answer: "d"},
		{at: b0 + t2, deny: true, next: b1},
		{at: b1, grant: "e"},
	}...))
}

// A reset pacer capped (at + the max wait) moves with every answer: it
// never aligns the budget, and one that contradicts the boundary in force
// unaligns it.
func TestFixedWindowCappedResetNeverAligns(t *testing.T) {
	const maxWait = 5 * time.Second
	capped := func(d time.Duration) Outcome { return resetAt(2, d+maxWait) }
	fixedHarness(t).run(fixedTicket(2), []step{
		{at: t0, grant: "a"},
		{at: t1, answer: "a", o: capped(t1)},
		{at: t1, grant: "b"},
		{at: t4, answer: "b", o: capped(t4)},
		{at: t5, deny: true, next: t1 + minute + fixedSlack}, // sliding: a and b held a window (and the slack) after their answers
	})
	h := fixedHarness(t)
	h.run(fixedTicket(3), append(alignedSteps(3), []step{
		{at: t4, grant: "c"},
		{at: t4, deny: true, next: b0},                       // aligned: full until b0
		{at: t5, answer: "c", o: resetAt(3, t5+maxWait)},     // capped, not congruent with b0: sliding again
		{at: t6, deny: true, next: t1 + minute + fixedSlack}, // a0 is the oldest answer
	}...))
}

func TestFixedWindowAlign(t *testing.T) {
	at := clocktest.Epoch.Add(t1)
	reset := func(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }
	for _, c := range []struct {
		name    string
		budget  Budget
		rl      RateLimit
		aligned bool
	}{
		{"its limit, no window", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 2, Reset: reset(b0)}, true},
		{"its window, another limit", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 500, Window: minute, Reset: reset(b0)}, true},
		{"another limit, no window", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 500, Reset: reset(b0)}, false},
		{"another window", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 2, Window: time.Hour, Reset: reset(b0)}, false},
		{"a sliding budget", Budget{Limit: 2, Window: minute}, RateLimit{Limit: 2, Reset: reset(b0)}, false},
		{"no reset", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 2}, false},
		{"reset already past", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 2, Reset: at}, false},
		{"reset a window and its slack away", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 2, Reset: at.Add(minute + fixedSlack)}, true},
		{"reset further", Budget{Limit: 2, Window: minute, Fixed: true}, RateLimit{Limit: 2, Reset: at.Add(minute + fixedSlack + 1)}, false},
		{"window under 10 slacks", Budget{Limit: 2, Window: fixedMinWindow - 1, Fixed: true}, RateLimit{Limit: 2, Reset: at.Add(t5)}, false},
		{"window of 10 slacks", Budget{Limit: 2, Window: fixedMinWindow, Fixed: true}, RateLimit{Limit: 2, Reset: at.Add(t5)}, true},
	} {
		// Two answers fixedSlack apart name the reset.
		w := newSlidingWindow(c.budget, clocktest.Epoch)
		w.align(c.rl, at)
		w.align(c.rl, at.Add(fixedSlack))
		assert.Equal(t, c.aligned, w.aligned(), c.name)
	}

	rl := RateLimit{Limit: 2, Reset: reset(b0)}
	w := newSlidingWindow(Budget{Limit: 2, Window: minute, Fixed: true}, clocktest.Epoch)
	w.align(rl, at)
	assert.False(t, w.aligned(), "one answer")
	w.align(rl, at.Add(fixedSlack-1))
	assert.False(t, w.aligned(), "a second one less than fixedSlack later")
	w.align(RateLimit{Limit: 2, Reset: reset(b0 + fixedSlack/2)}, at.Add(fixedSlack))
	assert.True(t, w.aligned(), "fixedSlack later, the same boundary (within fixedSlack/2)")
	w.align(RateLimit{Limit: 2, Reset: reset(b0 + fixedSlack/2 + minute)}, at.Add(b0))
	assert.True(t, w.aligned(), "the next window's boundary")
	w.align(RateLimit{Limit: 2, Reset: reset(b0 + 2*fixedSlack + minute)}, at.Add(b0+fixedSlack))
	assert.False(t, w.aligned(), "a boundary off by 1.5 fixedSlack unaligns it")
}

func TestFixedWindowTurn(t *testing.T) {
	when := func(d time.Duration) time.Time { return clocktest.Epoch.Add(d) }
	w := newSlidingWindow(Budget{Limit: 3, Window: minute, Fixed: true}, clocktest.Epoch)
	w.align(RateLimit{Limit: 3, Reset: when(minute)}, when(t1))
	w.align(RateLimit{Limit: 3, Reset: when(minute)}, when(t3)) // windows [0, 1m), [1m, 2m), …
	for _, c := range []struct {
		now      time.Duration
		inFlight int
		k        int
		turn     time.Duration
	}{
		{t9, 1, 0, t9},         // two free now
		{t9, 1, 1, t9},         //
		{t9, 1, 2, minute},     // the next window: all three
		{t9, 1, 4, minute},     //
		{t9, 1, 5, 2 * minute}, // the one after
		{t9, 1, 7, 2 * minute},
		{t9, 1, 8, 3 * minute},
		// Within the slack of the next window, what goes out now counts
		// there too: the slot in flight and the two granted now fill it.
		{minute - fixedSlack, 1, 1, minute - fixedSlack},
		{minute - fixedSlack, 1, 2, 2 * minute},
		{minute - fixedSlack - 1, 1, 2, minute},
	} {
		got := w.turn(when(c.now), c.inFlight, c.k)
		assert.Equal(t, when(c.turn), got, "now t0+%v, %d in flight, k=%d", c.now, c.inFlight, c.k)
	}
}
