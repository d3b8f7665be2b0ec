package memstore

import "time"

// A Fixed budget is at most Limit requests in each of the server's fixed
// windows: [B + k·Window, B + (k+1)·Window) for a boundary B the client
// cannot know in advance (a server aligns its windows to its start, to the
// epoch, to a first request). Until it knows one, the budget runs as a
// sliding window, which never lets more than Limit requests into any
// interval of length Window, so none into any fixed window however aligned.
// Responses whose rate-limit headers name the budget's window (or, naming
// no window, its limit) and a reset at most one window away align it: two
// such answers at least fixedSlack apart naming the same boundary make
// their reset R a boundary (align). Learned limits trust the same reset;
// like them, a fixed budget takes R on the server's clock (ParseRateLimit
// corrects a skew of more than 2 s by the response's Date).
//
// Slack. R is rounded up to a whole second, and a skew of up to 2 s is read
// as none because Date has 1 s resolution (a server ahead of the client by
// up to 1 s is not told apart): the server's boundary B lies in
// (R − fixedSlack, R]. A request reaches the server at some instant a
// between its grant g and its answer t, and lands in the server's window
// holding a; a is in a window j of the server only if a is in
// (R − fixedSlack + j·Window, R + (j+1)·Window). So the client counts a
// request in each of its own windows (boundaries at R) from the one holding
// g to the one holding t + fixedSlack: in flight, in the current window;
// answered at t, in every window whose start is at most t + fixedSlack.
// Release times are kept as t + Window + fixedSlack for a Fixed budget, so
// an answer counts in window k exactly when its release time is at or after
// the end of window k, and pruning at any instant of window k keeps them.
//
// Windows shorter than fixedMinWindow stay sliding: up to fixedSlack of
// each, a tenth or more, would count its answers twice.
const (
	fixedSlack     = 2 * time.Second
	fixedMinWindow = 10 * fixedSlack
)

// aligned reports whether the window runs as a fixed window.
func (w *slidingWindow) aligned() bool { return !w.bound.IsZero() }

// align learns a boundary of the server's windows from rl, the rate limit a
// response answered at at named; nothing unless the budget is Fixed, its
// window at least fixedMinWindow, and rl names its window (or its limit,
// naming no window) with a reset after at and at most one window (and the
// slack) later.
//
// One answer is not enough: a reset can be a cap rather than the server's
// (pacer bounds every hold by the max wait, so an hour's reset 50 minutes
// away reaches the store as at + 5 min, a new instant with every answer).
// A reset becomes the boundary once a second answer, at least fixedSlack
// later, names one congruent with it modulo Window (within fixedSlack/2:
// the server's boundaries do not move, a capped reset moves with its
// answer). A reset that is not congruent with the boundary in force
// unaligns the budget (sliding again, which is safe) and becomes the new
// candidate.
func (w *slidingWindow) align(rl RateLimit, at time.Time) {
	b := w.budget
	if !b.Fixed || b.Window < fixedMinWindow || rl.Reset.IsZero() {
		return
	}
	if rl.Window > 0 && rl.Window != b.Window || rl.Window == 0 && rl.Limit != b.Limit {
		return
	}
	if !rl.Reset.After(at) || rl.Reset.After(at.Add(b.Window+fixedSlack)) {
		return
	}
	switch {
	case w.aligned() && w.congruent(rl.Reset, w.bound):
		w.bound = rl.Reset
	case !w.cand.IsZero() && w.congruent(rl.Reset, w.cand):
		if at.Sub(w.candAt) >= fixedSlack {
			w.bound, w.cand = rl.Reset, time.Time{}
		}
	default:
		w.bound, w.cand, w.candAt = time.Time{}, rl.Reset, at
	}
}

// congruent reports whether a and b are boundaries of the same windows:
// a − b within fixedSlack/2 of a multiple of Window.
func (w *slidingWindow) congruent(a, b time.Time) bool {
	d := a.Sub(b) % w.budget.Window
	if d < 0 {
		d += w.budget.Window
	}
	return d <= fixedSlack/2 || w.budget.Window-d <= fixedSlack/2
}

// fixedIndex returns the index of the client's window holding t: floor((t −
// bound) / Window), also before bound.
func (w *slidingWindow) fixedIndex(t time.Time) int64 {
	d, size := t.Sub(w.bound), w.budget.Window
	k := int64(d / size)
	if d < 0 && d%size != 0 {
		k--
	}
	return k
}

// fixedStart returns the start of the client's window k.
func (w *slidingWindow) fixedStart(k int64) time.Time {
	return w.bound.Add(time.Duration(k) * w.budget.Window)
}

// fixedCount returns how many answered slots count in window k: those whose
// release time is at or after its end (see the slack above). The ring was
// pruned at an instant no later than the end of window k, so it holds all of
// them, or Limit of them (then the window is full anyway).
func (w *slidingWindow) fixedCount(k int64) int {
	end := w.fixedStart(k + 1).Sub(w.base)
	n := 0
	for n < w.n && w.ring[(w.head+w.n-1-n)%len(w.ring)] >= end {
		n++
	}
	return n
}

// fixedNextFree is nextFree for an aligned window. Answers add to the count
// of the current window (an answer at now or later counts in it), so when
// the current window is full, only a later window can grant: the first
// whose count, with the slots in flight, is below Limit. With Limit or more
// in flight, none can before an answer, and the next window's start is the
// lower bound. Counts fall to 0 once a window starts after every release
// time, so the loop ends.
func (w *slidingWindow) fixedNextFree(now time.Time, inFlight int) (time.Time, bool) {
	k, limit := w.fixedIndex(now), w.budget.Limit
	if inFlight+w.fixedCount(k) < limit {
		return now, false
	}
	if inFlight >= limit {
		return w.fixedStart(k + 1), true
	}
	for j := k + 1; ; j++ {
		if c := w.fixedCount(j); c == 0 || inFlight+c < limit {
			return w.fixedStart(j), false
		}
	}
}

// fixedTurn is turn for an aligned window, assuming (as turn does) that
// every slot in flight and every grant is answered at once. The current
// window grants what it has free now. Those answers, and those in flight,
// also count in the next window when now is within fixedSlack of its start;
// with the answers already counted there, the rest of the next window's
// Limit grants at its start. Every later window is empty (its start is
// more than fixedSlack after every answer, fixedSlack < Window) and grants
// Limit at its start.
func (w *slidingWindow) fixedTurn(now time.Time, inFlight, k int) time.Time {
	cur, limit := w.fixedIndex(now), w.budget.Limit
	free := max(0, limit-inFlight-w.fixedCount(cur))
	if k < free {
		return now
	}
	k -= free
	next := w.fixedStart(cur + 1)
	c := w.fixedCount(cur + 1)
	if !now.Add(fixedSlack).Before(next) {
		c += inFlight + free
	}
	free1 := max(0, limit-c)
	if k < free1 {
		return next
	}
	return w.fixedStart(cur + 2 + int64((k-free1)/limit))
}
