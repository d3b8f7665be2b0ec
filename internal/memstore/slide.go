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
//   - an answer naming a later reset with Remaining >= L − k (k: the pool's
//     grants since the end, this one included) says the window restarted
//     whole: a fixed window (or a full bucket). The pool goes on as before
//     and never delays again.
//   - less, or a 429 naming a later reset, says the previous window's count
//     carried over: the server slides. The pool then runs the counter
//     itself, over its own grants, from the end it held until: it grants
//     only while prev·(1 − d/W) + curr + 1 <= L, and keeps no caps from
//     answers (they say Remaining 0 until a reset that sliding makes
//     meaningless).
//
// Why the counter is safe. Its windows start at the end the pool held
// until, which is no earlier than the server's (resets.go: an anchored end
// is an upper bound; a reset said exactly is exact), so the pool's d is
// never larger than the server's for the same instant, and its weight of the
// previous window never smaller. With the windows off by x, the requests in
// the tail of each of the pool's windows count in the server's next one; a
// flow of L−1 per window (the counter's steady state: at d → 1 it holds
// curr <= L−2) then reads, at d_s = d + x into the server's window,
// (L−1)·(1 − x(1 − x − d)) <= L−1: still admitted. The rounding httprate
// applies is not relied on, which costs one request per window (L−1 of L:
// 0.95 at L = 20 in steady state, about 0.97 over the suite's 70 items).
//
// A 429 while sliding says the counter is wrong (another client shares the
// key, or the window is not what the pool took it for): the pool drops it and
// goes back to what its answers say. W is the window the answers name
// (RateLimit.Window), else the whole-second window anchored at the
// exhausted window's first answer; a pool that knows neither does none of
// this. Nothing here outlives its pool.
type slider struct {
	kind   slideKind
	window time.Duration // 0 while unknown
	limit  int64
	// The latest whole-second reset heard, and the smallest step between
	// two such resets: at least a window, as a window's reset can only
	// move on by whole windows.
	named time.Time
	step  time.Duration
	// While the kind is unknown: the reset the latest exhausted window
	// named, and when the pool's hold of it ended (zero: none).
	heldReset, heldEnd time.Time
	// While sliding: the current window begins at start; prev is the count
	// of the one before. curr counts the grants in the current window, or,
	// while the kind is unknown, since heldEnd.
	start      time.Time
	prev, curr int64
}

type slideKind uint8

const (
	slideUnknown slideKind = iota // no look past an exhausted window yet
	slideFixed                    // a window restarts whole
	slideSliding                  // the pool runs the counter
	slideOff                      // the counter was refused: answers rule
)

// slideWindow is the window the slider takes for an answer naming rl: the
// one rl names, else the smaller of the one the pool learned (named before,
// or anchored: resets.go) and the step between the resets heard. Each is
// at least the server's window (an anchored one by its derivation), and a
// longer window only makes the counter stricter.
func (p *learnedPool) slideWindow(rl RateLimit) time.Duration {
	if rl.Window > 0 {
		return rl.Window
	}
	w, st := p.window, p.slide.step
	if w <= 0 || st > 0 && st < w {
		w = st
	}
	return w
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
	s.hear(rl.Reset)
	switch s.kind {
	case slideUnknown:
		s.window = p.slideWindow(rl)
		if s.looked(a.granted) && rl.Reset.After(s.heldReset) {
			p.slideDecide(a)
			return
		}
		if rl.Remaining == 0 {
			s.heldReset, s.heldEnd, s.curr = rl.Reset, p.capEnd(rl, a.at), 0
			s.limit = int64(rl.Limit)
		}
	case slideSliding:
		s.limit = int64(rl.Limit)
		if a.o.Status == http.StatusTooManyRequests {
			s.kind = slideOff
		}
	}
}

// hear notes the reset r of an answer: a later whole-second one steps.
func (s *slider) hear(r time.Time) {
	if !onWholeSecond(r) || !r.After(s.named) {
		return
	}
	if !s.named.IsZero() {
		if d := r.Sub(s.named); s.step == 0 || d < s.step {
			s.step = d
		}
	}
	s.named = r
}

// look is when the first look past the exhausted window goes (zero: no
// exhausted window, or no window known).
func (s *slider) look() time.Time {
	if s.heldEnd.IsZero() || s.limit <= 0 || s.window <= 0 {
		return time.Time{}
	}
	return s.heldEnd.Add(s.window / time.Duration(s.limit))
}

// looked reports whether a request granted at granted went out as the
// first look or later: only such a request's answer tells the kinds apart
// (an earlier one may have met a sliding counter before it admits again).
func (s *slider) looked(granted time.Time) bool {
	l := s.look()
	return !l.IsZero() && !granted.Before(l)
}

// slideDecide reads the first answer from past an exhausted window: a
// window restarted whole, or the server slides. Undecided while the window
// is unknown, unless the window restarted whole.
func (p *learnedPool) slideDecide(a answer) {
	s, rl := p.slide, a.o.RateLimit
	refused := a.o.Status == http.StatusTooManyRequests
	switch {
	case !refused && int64(rl.Remaining)+s.curr >= int64(rl.Limit):
		s.kind = slideFixed
		return
	case s.window <= 0:
		return
	}
	s.kind, s.start, s.limit = slideSliding, s.heldEnd, int64(rl.Limit)
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
	switch {
	case now.Before(end):
	case now.Before(end.Add(s.window)):
		s.start, s.prev, s.curr = end, s.curr, 0
	default:
		s.start = s.start.Add(now.Sub(s.start) / s.window * s.window)
		s.prev, s.curr = 0, 0
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
