package memstore

import "time"

// slidingWindow is the state of one Budget in one scope of a Store: the
// release times of the scope's answered slots, oldest first. A Fixed budget
// runs as a sliding window until it is aligned, then as a fixed window (see
// fixed.go); both read the same release times.
//
// A slot counts in the window from the moment it is granted until its
// release time, hold() after its response arrived (Outcome.At): Window, and
// for a Fixed budget fixedSlack more. Slots still
// in flight have no release time yet; the scope counts them once for all its
// windows, so the window's count is inFlight plus the release times still in
// the future.
//
// Only the newest Limit release times can decide a grant: a grant needs the
// count below Limit, so every older one has expired by then. The ring
// therefore overwrites its oldest entry when it holds Limit entries, and its
// memory never exceeds Limit × 8 bytes, however long the store runs.
// Release times are kept as offsets from base, which also preserves the
// clock's monotonic reading.
//
// A slidingWindow is not safe for concurrent use; its scope's mutex guards it.
type slidingWindow struct {
	budget Budget
	base   time.Time
	ring   []time.Duration // release times - base, ascending from head
	head   int
	n      int
	// bound is a boundary of the server's fixed windows, zero until a
	// response aligned a Fixed budget (see align); cand is a reset seen at
	// candAt, not yet confirmed as one.
	bound, cand, candAt time.Time
}

func newSlidingWindow(b Budget, base time.Time) slidingWindow {
	return slidingWindow{budget: b, base: base}
}

// hold is how long an answered slot counts: Window, and for a Fixed budget
// fixedSlack more (see fixed.go).
func (w *slidingWindow) hold() time.Duration {
	if w.budget.Fixed {
		return w.budget.Window + fixedSlack
	}
	return w.budget.Window
}

// at returns the i-th oldest release time (0 <= i < n).
func (w *slidingWindow) at(i int) time.Time {
	return w.base.Add(w.ring[(w.head+i)%len(w.ring)])
}

// prune forgets the release times that are not after now.
func (w *slidingWindow) prune(now time.Time) {
	if w.n == 0 {
		return
	}
	off := now.Sub(w.base)
	for w.n > 0 && w.ring[w.head] <= off {
		w.head = (w.head + 1) % len(w.ring)
		w.n--
	}
}

// held returns how many slots the window counts at now: the inFlight ones
// and those released less than hold() ago; aligned, those counting in the
// current fixed window.
func (w *slidingWindow) held(now time.Time, inFlight int) int {
	w.prune(now)
	if w.aligned() {
		return inFlight + w.fixedCount(w.fixedIndex(now))
	}
	return inFlight + w.n
}

// nextFree returns the earliest time at which the window can grant one more
// slot: now when it can already. When that needs slots still in flight to be
// answered first, it returns now + hold() (an answer arriving at now or
// later frees its slot hold() later) and afterAnswer true. An aligned window
// answers as fixedNextFree.
func (w *slidingWindow) nextFree(now time.Time, inFlight int) (at time.Time, afterAnswer bool) {
	if w.aligned() {
		return w.fixedNextFree(now, inFlight)
	}
	excess := w.held(now, inFlight) - w.budget.Limit + 1 // releases needed
	switch {
	case excess <= 0:
		return now, false
	case excess > w.n:
		return now.Add(w.hold()), true
	default:
		return w.at(excess - 1), false
	}
}

// turn returns the earliest time at which the window can grant the slot
// after the next k (k = 0: the next slot), at now with inFlight requests
// in flight, assuming each grant is answered at once. The window's Limit
// slots free in order: the free ones now, the released ones at their
// release times, those in flight hold() from now (their answers are no
// earlier); each slot granted again frees hold() after that. So grant j
// comes at free[j mod Limit] + (j / Limit)·hold(). An aligned window
// answers as fixedTurn.
func (w *slidingWindow) turn(now time.Time, inFlight, k int) time.Time {
	w.prune(now)
	if w.aligned() {
		return w.fixedTurn(now, inFlight, k)
	}
	hold := w.hold()
	held := min(inFlight+w.n, w.budget.Limit)
	free := w.budget.Limit - held
	i, cycles := k%w.budget.Limit, k/w.budget.Limit
	var at time.Time
	switch {
	case i < free:
		at = now
	case i-free < w.n:
		at = w.at(i - free)
	default:
		at = now.Add(hold)
	}
	return at.Add(time.Duration(cycles) * hold)
}

// release records that a slot answered at answeredAt stops counting hold()
// later. A release earlier than the newest recorded one (answers observed
// out of order) is moved up to it, which only holds the slot a little longer.
func (w *slidingWindow) release(answeredAt time.Time) {
	off := answeredAt.Add(w.hold()).Sub(w.base)
	if w.n > 0 {
		off = max(off, w.ring[(w.head+w.n-1)%len(w.ring)])
	}
	if w.n == w.budget.Limit { // full: the oldest entry can never decide again
		w.ring[w.head] = off
		w.head = (w.head + 1) % len(w.ring)
		return
	}
	if w.n == len(w.ring) {
		w.resize(min(max(2*w.n, 4), w.budget.Limit))
	}
	w.ring[(w.head+w.n)%len(w.ring)] = off
	w.n++
}

// setLimit changes the window's limit, keeping the newest release times that
// still fit.
func (w *slidingWindow) setLimit(limit int) {
	w.budget.Limit = limit
	if w.n > limit {
		w.head = (w.head + w.n - limit) % len(w.ring)
		w.n = limit
	}
	if len(w.ring) > limit {
		w.resize(limit)
	}
}

// resize moves the ring into a new slice of length size >= n.
func (w *slidingWindow) resize(size int) {
	ring := make([]time.Duration, size)
	for i := 0; i < w.n; i++ {
		ring[i] = w.ring[(w.head+i)%len(w.ring)]
	}
	w.ring, w.head = ring, 0
}
