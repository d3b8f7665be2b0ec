package memstore

import (
	"math"
	"net/http"
	"time"
)

// Servers whose windows slide (issue 15).
//
// go-chi/httprate, like Cloudflare's limiter and many Redis recipes, keeps a
// sliding-window counter: the count of the current fixed window plus the
// previous window's count, weighted by the share of the previous window the
// sliding window still covers. At d into a window of length W it admits a
// request while
//
//	prev·(1 − d/W) + curr + 1 <= L
//
// (httprate rounds the estimate first). After a window the client used up
// (prev = L) it admits nothing at the window's turn and then about one
// request per W/L, while each answer says Remaining 0 and names the new
// window's reset. A pool that waits for the reset and then sends, as a fixed
// window allows, is refused at the turn; told `Retry-After: 1`, it then
// waits a whole window, and admits 20/0/20/0 where the server allows 20 a
// second (0.58 of the minimum, measured).
//
// So a pool whose answers said Remaining 0 takes its first look past the
// end of that window W/L late, when a counter carrying L over admits one
// again (L·(1 − 1/L) + 0 + 1 = L), and reads the answer to it:
//
//   - Remaining >= L − k (k: the pool's grants since the end, this one
//     included): the window restarted whole, a fixed window (or a full
//     bucket). The pool goes on as before and never delays again.
//   - a reset that moved on by less than half a window: a sliding log's,
//     which follows its oldest request (pacertest's lupitor). Its answers'
//     resets track it exactly: the pool goes on as before.
//   - less, or a 429, with a reset a window on: the previous window's count
//     carried over, the server slides. The pool then runs the counter
//     itself, over its own grants, from the end it held until: it grants
//     only while prev·(1 − d/W) + curr + 1 <= L, and keeps no caps from
//     answers (they say Remaining 0 until a reset that sliding makes
//     meaningless). prev starts from what the look's answer says the
//     server still carried (carry), and each answer's reset keeps the
//     counter's windows on the server's (attribute).
//
// Why the counter is safe. Its windows start at the end the pool held
// until, which is no earlier than the server's turn (an anchored end, or
// R+1 s for a truncated reset R, or a reset said exactly), or at an answer
// that named the next window, so the pool's d is never larger than the
// server's for the same instant, and its weight of the previous window never
// smaller; a grant the server counted in its next window moves there as
// its answer says. The rounding httprate applies is not relied on, which
// costs one request per window (L−1 of L in steady state: 0.95 at L = 20;
// about 0.97 over the suite's 70 items).
//
// The window W: the one the answers name (RateLimit.Window), else one
// learned from the resets (slideWindow, and the step the look's answer
// shows: slideDecide). The look's delay takes the held window's anchored
// length when no W is known yet; httprate's windows begin at its creation,
// not at a request, so that can be shorter than W and the look early: one
// 429, whose answer teaches W (TestSlidingCounterNoRefusals, 100 per 10 s).
// A pool that knows no window looks at the end of a used-up window as
// before.
//
// A 429 while sliding says the counter is wrong (another client shares the
// key, or the window is not what the pool took it for): the pool drops it and
// goes back to what its answers say. Nothing here outlives its pool, and a
// pool that never ran out allocates none of it.
type slider struct {
	kind   slideKind
	window time.Duration // 0 while unknown
	limit  int64
	// While the kind is unknown: the reset the latest exhausted window
	// named, and when the pool's hold of it ended (zero: none); and the
	// latest whole-second reset already past when its request went out
	// (see slideWindow).
	heldReset, heldEnd, past time.Time
	// anchored: the held window's length as anchored (resets.go), to the
	// whole second; 0 if it was not anchored. Not the counter's window
	// (see slideWindow), but the look's delay and a measure for the step
	// the look's answer shows.
	anchored time.Duration
	// While sliding: the current window begins at start, and its answers
	// name the reset named; prev is the count of the one before. curr
	// counts the grants in the current window, or, while the kind is
	// unknown, since heldEnd.
	start, named time.Time
	prev, curr   int64
}

type slideKind uint8

const (
	slideUnknown slideKind = iota // no look past an exhausted window yet
	slideFixed                    // a window restarts whole, or a log: answers rule
	slideSliding                  // the pool runs the counter
	slideOff                      // the counter was refused: answers rule
)

// slideWindow is the window the counter takes, for an answer naming rl:
// the one rl names, else the one named before, else the step from a
// whole-second reset already past when its request went out to the later
// one rl names. Only a window-aligned server names such a reset (its
// current window's end, truncated: httprate's first answers said 26.000 to
// requests sent at 26.153; a sliding log's reset is when its oldest
// request leaves, after any request it counts, though it may pass before
// the answer arrives: measured in the bench's lupitor runs); its resets
// move on by whole windows, so the step is a multiple of the window, and
// a longer window only makes the counter stricter. Other steps are no
// guide: a sliding log's reset moves on with its oldest request, by as
// little as a request's spacing. Nor is the anchored window (resets.go):
// it assumes a window begins at a request, and httprate's begin at its own
// creation instant (anchored at 9 s, its windows were 10 s).
func (s *slider) slideWindow(p *learnedPool, rl RateLimit) time.Duration {
	switch {
	case rl.Window > 0:
		return rl.Window
	case p.window > 0:
		return p.window
	case s.window > 0:
		return s.window
	case !s.past.IsZero() && onWholeSecond(rl.Reset) && rl.Reset.After(s.past):
		return rl.Reset.Sub(s.past)
	}
	return 0
}

// slideNote learns from the answer a, which named the pool (after
// anchorWindow, so that an anchored end is known).
func (p *learnedPool) slideNote(a answer) {
	rl := a.o.RateLimit
	if rl.Reset.IsZero() || rl.Limit <= 0 {
		return
	}
	s := p.slide
	if s == nil {
		if rl.Remaining > 0 {
			return
		}
		s = &slider{}
		p.slide = s
	}
	switch s.kind {
	case slideUnknown:
		s.window = s.slideWindow(p, rl)
		if onWholeSecond(rl.Reset) && !rl.Reset.After(a.granted) {
			s.past = rl.Reset
		}
		if s.looked(a.granted) && rl.Reset.After(s.heldReset) {
			p.slideDecide(a)
			return
		}
		if rl.Remaining == 0 {
			s.heldReset, s.heldEnd, s.curr = rl.Reset, p.capEnd(rl, a.at), 0
			s.limit, s.anchored = int64(rl.Limit), p.anchoredWindow(rl.Reset, a.at)
		}
	case slideSliding:
		s.limit = int64(rl.Limit)
		if a.o.Status == http.StatusTooManyRequests {
			s.kind = slideOff
			return
		}
		s.attribute(a)
	}
}

// attribute keeps the counter's windows on the server's, by the reset
// each answer names. The counter's windows start no earlier than the
// server's, and a grant late in one of them may reach the server in its
// next window, where it counts whole, not decaying as the counter's
// previous window does: at the margin, a refusal (measured: the 20th
// request of a window at an estimate of 20.03 of 20). So an answer naming
// a later window than the counter's current one says the server turned by
// the time it arrived: the counter turns then too (still no earlier than
// the server); and a grant of the counter's previous window whose answer
// names the current one moves to it.
func (s *slider) attribute(a answer) {
	s.roll(a.at)
	r, half := a.o.RateLimit.Reset, s.window/2
	if !r.Before(s.named.Add(half)) {
		s.prev, s.curr = s.curr, 0
		s.start, s.named = a.at, r
	}
	if a.granted.Before(s.start) && !a.granted.Before(s.start.Add(-s.window)) &&
		!r.Before(s.named.Add(-half)) && s.prev > 0 {
		s.prev--
		s.curr++
	}
}

// look is when the first look past the exhausted window goes (zero: no
// exhausted window, or no window known).
//
// With no window known, the look goes W/L late by the held window's
// anchored length, or, if the held reset was already past when heard (a
// window-aligned server's, whose window is at least a second), 1 s/L late;
// its answer may teach the window (slideWindow, slideDecide) and decide.
// Else the look goes at the end, as any probe after a reset.
func (s *slider) look() time.Time {
	w := s.window
	switch {
	case w > 0:
	case s.anchored > 0:
		w = s.anchored
	case !s.past.IsZero() && s.past.Equal(s.heldReset):
		w = resetResolution
	}
	if s.heldEnd.IsZero() || s.limit <= 0 || w <= 0 {
		return time.Time{}
	}
	return s.heldEnd.Add(w / time.Duration(s.limit))
}

// looked reports whether a request granted at granted went out as the
// first look or later (by the window known now): only such a request's
// answer tells the kinds apart (an earlier one may have met a sliding
// counter before it admits again).
func (s *slider) looked(granted time.Time) bool {
	l := s.look()
	return !l.IsZero() && !granted.Before(l)
}

// slideDecide reads the first answer from past an exhausted window (the
// look, or later): a window restarted whole, or a reset that moved on by
// less than half a window (a sliding log's, following its oldest request),
// leaves the answers in charge; a count carried over into the next window
// makes the pool run the counter.
func (p *learnedPool) slideDecide(a answer) {
	s, rl := p.slide, a.o.RateLimit
	refused := a.o.Status == http.StatusTooManyRequests
	if !refused && int64(rl.Remaining)+s.curr >= int64(rl.Limit) {
		s.kind = slideFixed
		return
	}
	step := rl.Reset.Sub(s.heldReset)
	if s.window <= 0 && s.anchored > 0 {
		// A window-aligned server's reset moved on by whole windows since
		// the held one; a sliding log's by less than half its window
		// (measured by the anchor, which for a log is its window).
		if step < s.anchored/2 {
			s.kind = slideFixed
			return
		}
		s.window = step
	}
	switch {
	case s.window <= 0:
		return // the next look decides
	case step < s.window/2:
		s.kind = slideFixed
		return
	}
	s.kind, s.start, s.named, s.limit = slideSliding, s.heldEnd, rl.Reset, int64(rl.Limit)
	p.caps = nil
	s.roll(a.at)
	s.carry(a, refused)
}

// carry sets the counter's previous window from the answer a, the first
// from past the exhausted window: the server's estimate when a's request
// arrived, less the requests since heldEnd, is the share of its previous
// window it still carried (httprate rounds its estimate: at most half a
// request more); a refusal says no less than L−1. That share falls to 0
// by the server's window end, no later than the counter's: a line through
// (a.at, share) that reaches 0 at the counter's window end stays above the
// server's from then on (its arrival was no later than a.at).
func (s *slider) carry(a answer, refused bool) {
	share := float64(s.limit)
	if !refused {
		share = float64(s.limit) - 0.5 - float64(max(a.o.RateLimit.Remaining, 0)) - float64(s.curr-1)
	}
	left := float64(s.start.Add(s.window).Sub(a.at)) / float64(s.window) // 1 − d at a.at
	if share <= 0 || left <= 0 {
		s.prev = 0
		return
	}
	s.prev = int64(math.Ceil(share / left))
}

// sliding reports whether the pool runs the counter.
func (p *learnedPool) sliding() bool { return p.slide != nil && p.slide.kind == slideSliding }

// granted counts a grant at now.
func (s *slider) granted(now time.Time) {
	switch s.kind {
	case slideUnknown:
		if !s.heldEnd.IsZero() && !now.Before(s.heldEnd) {
			s.curr++
		}
	case slideSliding:
		s.roll(now)
		s.curr++
	}
}

// gate adds the slider's bound to g: the first look past an exhausted
// window W/L after its end, or the counter.
func (s *slider) gate(g *grantGate) {
	switch s.kind {
	case slideUnknown:
		if s.curr == 0 {
			g.until(s.look())
		}
	case slideSliding:
		g.until(s.next(g.now))
	}
}

// roll moves the counter's window to the one holding now.
func (s *slider) roll(now time.Time) {
	end := s.start.Add(s.window)
	if now.Before(end) {
		return
	}
	n := now.Sub(s.start) / s.window
	s.start, s.named = s.start.Add(n*s.window), s.named.Add(n*s.window)
	s.prev, s.curr = s.curr, 0
	if n > 1 {
		s.prev = 0
	}
}

// next is the earliest time from now at which the counter admits a grant:
// prev·(1 − d/W) <= L − 1 − curr, i.e. d >= W·(prev − room)/prev.
func (s *slider) next(now time.Time) time.Time {
	s.roll(now)
	room := s.limit - 1 - s.curr
	switch {
	case room < 0:
		return s.start.Add(s.window) // the next window decides
	case s.prev <= room:
		return now
	}
	d := math.Ceil(float64(s.window) * float64(s.prev-room) / float64(s.prev))
	return s.start.Add(time.Duration(d))
}

// holds reports whether the slider still bounds grants after now.
func (s *slider) holds(now time.Time) bool {
	switch s.kind {
	case slideUnknown:
		return s.look().After(now)
	case slideSliding:
		return s.start.Add(2 * s.window).After(now)
	}
	return false
}
