package memstore

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/internal/clocktest"
)

// said returns an Outcome whose headers say remaining requests are left
// until the symbolic time reset (0: no Reset).
func said(remaining int, reset time.Duration) Outcome {
	rl := RateLimit{Limit: 100, Remaining: remaining}
	if reset != 0 {
		rl.Reset = clocktest.Epoch.Add(reset)
	}
	return Outcome{Status: 200, RateLimit: rl, HasRateLimit: true}
}

func TestLearnedRemainingBoundsSends(t *testing.T) {
	newHarness(t).run(Ticket{Scope: "api"}, []step{
		// A scope with no budget sends one request until it knows whether
		// the server sends headers.
		{at: t0, grant: "probe"},
		{at: t0, deny: true, next: afterAnswer},
		// "3 remaining until t9": 3 more, counting those in flight.
		{at: t1, answer: "probe", o: said(3, t9)},
		{at: t1, grant: "a"},
		{at: t1, grant: "b"},
		{at: t2, answer: "a", o: said(2, t9)}, // a's answer changes nothing
		{at: t2, grant: "c"},
		{at: t2, deny: true, next: t9},
		{at: t3, answer: "b", o: said(1, t9)},
		{at: t4, answer: "c", o: said(0, t9)},
		{at: t4, deny: true, next: t9},
		// The cap expired and the server sends headers: probe again.
		{at: t9, grant: "d"},
		{at: t9, deny: true, next: afterAnswer},
		{at: t9, answer: "d", o: said(1, t9+time.Minute)},
		{at: t9, grant: "e"},
		{at: t9, deny: true, next: t9 + time.Minute},
	})
}

func TestLearnedStaleAnswerAfterFresherOne(t *testing.T) {
	// The server allows 4 until t9. It counts the probe (3 left), then a, b
	// and c (2, 1, 0 left). c's answer arrives first, then a's, stale.
	newHarness(t).run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: said(3, t9)},
		{at: t1, grant: "a"},
		{at: t1, grant: "b"},
		{at: t1, grant: "c"},
		{at: t1, deny: true, next: t9},
		{at: t2, answer: "c", o: said(0, t9)},
		{at: t2, deny: true, next: t9},
		{at: t3, answer: "a", o: said(2, t9)}, // "2 left" is stale: still none
		{at: t3, deny: true, next: t9},
		{at: t4, answer: "b", o: said(1, t9)},
		{at: t4, deny: true, next: t9},
	})
}

func TestLearnedStaleAnswerWithLongerReset(t *testing.T) {
	// A stale answer naming a later reset adds a looser, longer cap; the
	// fresher, stricter one still holds until its own reset.
	newHarness(t).run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: said(5, t9)},
		{at: t1, grant: "a"},
		{at: t1, grant: "b"},
		{at: t1, grant: "c"},
		{at: t2, answer: "b", o: said(1, t4)}, // at most 1 more until t4, a and c in doubt
		{at: t2, answer: "a", o: said(3, t8)}, // at most 3 more until t8 (in flight included)
		{at: t2, deny: true, next: t4},
		{at: t4, grant: "d"},
		{at: t4, deny: true, next: t8},
		{at: t8, grant: "e"}, // the probe's own cap: 1 + 5 until t9
		{at: t8, deny: true, next: t9},
		{at: t9, deny: true, next: afterAnswer}, // all expired: probe once the rest are answered
	})
}

func TestLearnedExactCapWhenQuiet(t *testing.T) {
	// When nothing is in flight, every request sent has been counted: the
	// lowest Remaining said since the scope was last quiet is exact, and
	// replaces the caps that had to count requests in doubt.
	newHarness(t).run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: said(5, t9)},
		{at: t1, grant: "a"},
		{at: t1, grant: "b"},
		{at: t2, answer: "b", o: said(1, t4)}, // alone: 1 more, a in doubt
		{at: t2, deny: true, next: t4},
		{at: t3, answer: "a", o: said(3, t8)}, // quiet: a was counted before b; 1 more until t4
		{at: t3, grant: "c"},
		{at: t3, deny: true, next: t4},
		{at: t4, deny: true, next: afterAnswer}, // expired: probe once c is answered
		{at: t5, answer: "c", o: said(4, t9)},   // quiet again: exactly 4 more until t9
		{at: t5, grant: "d"},
		{at: t5, grant: "e"},
		{at: t5, grant: "f"},
		{at: t5, grant: "g"},
		{at: t5, deny: true, next: t9},
	})
}

func TestLearnedHeadersDisappear(t *testing.T) {
	newHarness(t).run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: said(1, t2)},
		{at: t0, grant: "a"},
		{at: t0, deny: true, next: t2},
		{at: t1, answer: "a", o: Outcome{Status: 200}}, // the server fails open
		{at: t2, grant: "b"},                           // cap expired, no headers: free
		{at: t2, grant: "c"},
		{at: t2, grant: "d"},
		{at: t3, answer: "b", o: said(0, t5)}, // headers are back
		{at: t3, deny: true, next: t5},
	})
}

func TestLearnedProbeWithBudgets(t *testing.T) {
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 10, Window: time.Minute}}}
	newHarness(t).run(tk, []step{
		{at: t0, grant: "a"}, // configured: no first probe
		{at: t0, grant: "b"},
		{at: t1, answer: "a", o: said(5, t2)},
		{at: t2, deny: true, next: afterAnswer}, // the cap expired and the server sends headers: probe, once b is in
		{at: t3, answer: "b", o: Outcome{Status: 200}},
		{at: t3, grant: "c"}, // headers gone: the budget alone applies
		{at: t3, grant: "d"},
	})
}

func TestLearnedNoReset(t *testing.T) {
	h := newHarness(t)
	h.run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: said(0, 0)}, // no reset, no window: 1s
		{at: t0, deny: true, next: t1},
		{at: t1, grant: "a"},
		{at: t1, answer: "a", o: Outcome{Status: 200, HasRateLimit: true,
			RateLimit: RateLimit{Limit: 100, Remaining: 0, Window: 3 * time.Second}}},
		{at: t1, deny: true, next: t4}, // the named window
		{at: t4, grant: "b"},
		{at: t4, answer: "b", o: said(0, 0)}, // the learned window still
		{at: t4, deny: true, next: t7},
	})
}

func TestLearned429RetryAfterBlocks(t *testing.T) {
	h := newHarness(t)
	h.st.Adaptive = AdaptiveOff
	h.run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: Outcome{Status: 200}}, // no headers: free
		{at: t0, grant: "a"},
		{at: t0, grant: "b"},
		{at: t1, answer: "a", o: Outcome{Status: 429, RetryAfter: 5 * time.Second}},
		{at: t1, deny: true, next: t6},
		{at: t2, answer: "b", o: Outcome{Status: 429, RetryAfter: 2 * time.Second}}, // shorter: no effect
		{at: t5, deny: true, next: t6},
		{at: t6, grant: "c"},
		{at: t6, grant: "d"},
	})
}

func TestLearnedBare429HoldsScope(t *testing.T) {
	// t0..t9 are a second apart. A bare 429 (no Retry-After, no headers)
	// holds the whole scope for 1 s, then one probe at a time; each probe
	// refused again doubles the hold; an answer other than 429 ends it.
	h := newHarness(t)
	h.st.Adaptive = AdaptiveOff
	bare := Outcome{Status: 429}
	h.run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: Outcome{Status: 200}}, // no headers: free
		{at: t0, grant: "a"},
		{at: t0, grant: "b"},
		{at: t0, answer: "a", o: bare},
		{at: t0, deny: true, next: t1},
		{at: t0, answer: "b", o: bare}, // the same burst: no longer hold
		{at: t0, deny: true, next: t1},
		{at: t1, grant: "c"},
		{at: t1, deny: true, next: afterAnswer}, // one probe at a time
		{at: t1, answer: "c", o: bare},          // refused again: 2 s
		{at: t1, deny: true, next: t3},
		{at: t3, grant: "d"},
		{at: t3, answer: "d", o: bare}, // 4 s
		{at: t3, deny: true, next: t7},
		{at: t7, grant: "e"},
		{at: t7, answer: "e", o: Outcome{Status: 201}}, // taken: the hold is over
		{at: t7, grant: "f"},
		{at: t7, grant: "g"},
	})
}

func TestLearned5xxWithoutHeadersProbesPastCaps(t *testing.T) {
	// A 503 storm: answers without headers that the server may not have
	// counted. A scope its caps hold back probes instead of waiting an hour.
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 100, Window: time.Hour}}}
	h := newHarness(t)
	h.run(tk, []step{
		{at: t0, grant: "a"},
		{at: t0, answer: "a", o: said(2, t0+time.Hour)}, // 2 more this hour
		{at: t0, grant: "b"},
		{at: t0, grant: "c"},
		{at: t0, deny: true, next: t0 + time.Hour},
		{at: t1, answer: "b", o: Outcome{Status: 503}},
		{at: t1, answer: "c", o: Outcome{Status: 503}},
		{at: t2, grant: "probe"}, // in doubt: one at a time
		{at: t2, deny: true, next: afterAnswer},
		{at: t3, answer: "probe", o: said(5, t0+time.Hour)}, // recovered: exactly 5 more
		{at: t3, grant: "d"},
		{at: t3, grant: "e"},
		{at: t3, grant: "f"},
		{at: t3, grant: "g"},
		{at: t3, grant: "h"},
		{at: t3, deny: true, next: t0 + time.Hour},
	})
}

func TestLearnedIgnored(t *testing.T) {
	h := newHarness(t)
	h.st.IgnoreServerLimits = true
	h.run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "a"},
		{at: t0, grant: "b"}, // no first probe
		{at: t0, answer: "a", o: said(0, t9)},
		{at: t0, grant: "c"},
		{at: t0, answer: "b", o: Outcome{Status: 429, RetryAfter: time.Minute}},
		{at: t0, grant: "d"},
	})
	u := h.st.Usage()
	require.Len(t, u, 1)
	assert.Equal(t, said(0, t9).RateLimit, u[0].Learned, "Usage still reports what was said")
}

func TestLearnedUsage(t *testing.T) {
	h := newHarness(t)
	h.run(Ticket{Scope: "api"}, []step{
		{at: t0, grant: "probe"},
		{at: t0, answer: "probe", o: said(7, t9)},
		{at: t1, grant: "a"},
	})
	u := h.st.Usage()
	require.Len(t, u, 1)
	assert.Equal(t, "api", u[0].Scope)
	assert.Equal(t, 1, u[0].InFlight)
	assert.Equal(t, 0, u[0].InWindow, "no configured window")
	assert.Equal(t, RateLimit{Limit: 100, Remaining: 7, Reset: h.when(t9)}, u[0].Learned)
}

// capBound is the learned bound on sent at time at: the least count of the
// caps in force, or a large number if none.
func capBound(caps []limitCap, at time.Time) int64 {
	b := int64(1 << 62)
	for _, c := range caps {
		if at.Before(c.until) {
			b = min(b, c.sent)
		}
	}
	return b
}

func TestLearnedCapsStayConservative(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := clocktest.Epoch
	for round := range 200 {
		var l learnedPool
		var all []limitCap
		front := round%2 == 1 // caps along a rising front: many non-dominated ones, merged
		for k := range 1 + rng.IntN(30) {
			c := limitCap{sent: int64(rng.IntN(50)), until: base.Add(time.Duration(1+rng.IntN(100)) * time.Second)}
			if front {
				c = limitCap{sent: int64(2*k + rng.IntN(3)), until: base.Add(time.Duration(1+3*k+rng.IntN(3)) * time.Second)}
			}
			all = append(all, c)
			l.addCap(c)
			require.LessOrEqual(t, len(l.caps), maxLimitCaps)
		}
		kept := l.caps
		for i := 1; i < len(kept); i++ {
			require.True(t, kept[i-1].until.Before(kept[i].until) && kept[i-1].sent < kept[i].sent,
				"round %d: caps not ordered: %v", round, kept)
		}
		for s := 0; s <= 101; s++ {
			at := base.Add(time.Duration(s) * time.Second)
			require.LessOrEqual(t, capBound(kept, at), capBound(all, at), "round %d at %ds: looser than said", round, s)
		}
		if len(all) <= maxLimitCaps {
			for s := 0; s <= 101; s++ {
				at := base.Add(time.Duration(s) * time.Second)
				require.Equal(t, capBound(all, at), capBound(kept, at), "round %d at %ds: no merge needed", round, s)
			}
		}
	}
}

// TestSimHeadersNo429 runs an unconfigured client against sliding-window
// servers that send Remaining and Reset (when the oldest request leaves the
// window) on every response: it never gets a 429, and keeps close to the
// limit.
func TestSimHeadersNo429(t *testing.T) {
	for _, c := range []struct {
		limit  int
		window time.Duration
	}{
		{10, time.Second},
		{100, time.Minute},
		{3, 10 * time.Second},
	} {
		h := newHarness(t)
		srv := &simServer{limit: c.limit, window: c.window, headers: true}
		sim := &simulation{h: h, srv: srv, ticket: Ticket{Scope: "api"}, workers: 8,
			minLatency: 5 * time.Millisecond, maxLatency: 80 * time.Millisecond, rng: rand.New(rand.NewPCG(3, 4))}
		d := 10 * time.Minute
		sim.run(d)
		accepted := float64(sim.sent-sim.refused) / d.Seconds()
		limit := float64(c.limit) / c.window.Seconds()
		t.Logf("limit %d/%v: sent %d, 429s %d, %.2f/s accepted", c.limit, c.window, sim.sent, sim.refused, accepted)
		assert.Zero(t, sim.refused, "no 429")
		assert.LessOrEqual(t, maxInWindow(srv.arrivals, c.window), c.limit)
		assert.Greater(t, accepted, 0.8*limit, "close to the limit")
	}
}
