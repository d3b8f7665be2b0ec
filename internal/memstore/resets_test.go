package memstore

import (
	"net/http"
	"testing"
	"time"
)

// twenty is an answer of a limit of 20 per second: remaining left, whole-
// second reset.
func twenty(status, remaining int, reset time.Duration) Outcome {
	o := named(20, remaining, reset)
	o.Status = status
	return o
}

func TestResetsAnchoredWindow(t *testing.T) {
	// ulule/limiter (issue 15): a window of 1 s from its first request,
	// reset truncated to the second. The window opened by the probe at
	// +327 ms ends at +1327 ms, its answers say t1.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	steps := []step{
		{at: 327 * ms, grant: "probe"},
		{at: 328 * ms, answer: "probe", o: twenty(201, 19, t1)}, // the window began between 327 and 328 ms
	}
	for i := range 19 {
		steps = append(steps, step{at: 328 * ms, grant: string(rune('a' + i))})
	}
	for i := range 19 {
		steps = append(steps, step{at: 330 * ms, answer: string(rune('a' + i)), o: twenty(201, 18-i, t1)})
	}
	steps = append(steps,
		// Not t1, where the server still refuses: the answer that opened the
		// window came at 328 ms, so the window ends by 1328 ms; the first
		// look past a used-up window goes W/L = 50 ms later (slide.go).
		step{at: 330 * ms, deny: true, next: 1378 * ms},
		step{at: t1, deny: true, next: 1378 * ms},
		step{at: 1378 * ms, grant: "next window"},
		step{at: 1378 * ms, deny: true, next: afterAnswer},                 // a probe, as after any reset
		step{at: 1379 * ms, answer: "next window", o: twenty(201, 19, t2)}, // restarted whole: a fixed window
		step{at: 1379 * ms, grant: "more"},
	)
	h.run(tk, steps)
}

func TestResetsPastResetHoldsItsSecond(t *testing.T) {
	// go-chi/httprate: the first answer at +154 ms names t0, already past:
	// the window has not ended, so its whole second holds (until t1).
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	h.run(tk, []step{
		{at: 153 * ms, grant: "probe"},
		{at: 154 * ms, answer: "probe", o: twenty(201, 1, t0)},
		{at: 154 * ms, grant: "a"},
		{at: 155 * ms, deny: true, next: t1},
	})
}

func TestResetsProvenEarly(t *testing.T) {
	// Joined mid-window (no anchor): the reset t1 is trusted, until the
	// probe sent at t1 is refused naming it. From then on whole-second
	// resets hold their second, and the refusal itself holds until t1+1 s.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	h.run(tk, []step{
		{at: 500 * ms, grant: "probe"},
		{at: 501 * ms, answer: "probe", o: twenty(201, 0, t1)},
		{at: 501 * ms, deny: true, next: t1},
		{at: t1, grant: "early"},
		{at: t1 + 1*ms, answer: "early", o: twenty(http.StatusTooManyRequests, 0, t1)},
		// t1's whole second, and the first look past a used-up window
		// 1 s/L in: t1 was already past, a window-aligned server's reset
		// (slide.go).
		{at: t1 + 1*ms, deny: true, next: t2 + 50*ms},
		{at: t2 + 50*ms, grant: "probe 2"},
		{at: t2 + 51*ms, answer: "probe 2", o: twenty(201, 0, t3)}, // not anchored (not fresh)
		// t3's whole second, and the first look past a used-up window
		// W/L later: the resets stepped t1 → t3, a window of at most 2 s.
		{at: t2 + 51*ms, deny: true, next: t4 + 100*ms},
	})
}

func TestResetsWrongAnchor(t *testing.T) {
	// Windows aligned elsewhere than at a request: a request sent at the
	// anchored end is refused. Anchors are dropped: every whole-second
	// reset holds its second.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	h.run(tk, []step{
		{at: 100 * ms, grant: "probe"},
		{at: 101 * ms, answer: "probe", o: twenty(201, 0, t1)}, // Remaining 0 of 20: not fresh
		{at: 101 * ms, deny: true, next: t1},
		{at: t1, grant: "fresh"},
		{at: t1 + 1*ms, answer: "fresh", o: twenty(201, 19, t2)}, // anchored: ends by t2+1ms
		{at: t1 + 1*ms, grant: "a"},
		{at: t1 + 2*ms, answer: "a", o: twenty(201, 0, t2)},
		// The first look past the used-up window goes W/L = 50 ms after
		// its anchored end (slide.go), and is still refused, naming t2.
		{at: t1 + 2*ms, deny: true, next: t2 + 51*ms},
		{at: t2 + 51*ms, grant: "b"},
		{at: t2 + 52*ms, answer: "b", o: twenty(http.StatusTooManyRequests, 0, t2)},
		{at: t2 + 52*ms, deny: true, next: t3 + 50*ms}, // t2's whole second, and a look 50 ms in
		{at: t3 + 50*ms, grant: "fresh 2"},
		{at: t3 + 51*ms, answer: "fresh 2", o: twenty(201, 19, t4)}, // no anchor now; a fixed window
		{at: t3 + 51*ms, grant: "c"},
		{at: t3 + 52*ms, answer: "c", o: twenty(201, 0, t4)},
		// t4's second, and a look W/L in: past t2 → t4, at most 2 s.
		{at: t3 + 52*ms, deny: true, next: t5 + 100*ms},
	})
}

func TestResetsOnAWholeSecondClock(t *testing.T) {
	// A fresh answer on a clock at whole seconds anchors its window exactly
	// at the reset it names: nothing changes for servers that are exact
	// (but the first look past a used-up window, W/L = 8 s/20 after its
	// end: slide.go).
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	h.run(tk, []step{
		{at: t1, grant: "probe"},
		{at: t1, answer: "probe", o: twenty(201, 19, t9)},
		{at: t1, grant: "a"},
		{at: t1, answer: "a", o: twenty(201, 0, t9)},
		{at: t2, deny: true, next: t9 + 400*ms},
	})
}
