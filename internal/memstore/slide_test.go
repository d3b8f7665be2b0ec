package memstore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// counterServer is go-chi/httprate's sliding-window counter (v0.16.1):
// windows of length window aligned to offset (the limiter's creation
// instant); a request d into its window is admitted while est + 1 <= limit,
// est = prev·(1 − d/window) + curr, rounded to the nearest integer when round
// is set (httprate rounds); only admitted requests count. Every answer says
// Limit, Remaining (limit − est − 1 after an admission, limit − est on a
// refusal) and Reset = the current window's end in unix seconds, truncated;
// a refusal also says Retry-After: 1 s.
type counterServer struct {
	limit          int
	window, offset time.Duration
	round          bool
	counts         map[time.Time]int
	arrivals       []time.Time // admitted ones
}

func newCounterServer(limit int, window, offset time.Duration, round bool) *counterServer {
	return &counterServer{limit: limit, window: window, offset: offset, round: round, counts: map[time.Time]int{}}
}

func (s *counterServer) arrive(at time.Time) Outcome {
	cw := at.Add(-s.offset).Truncate(s.window).Add(s.offset)
	d := at.Sub(cw)
	est := float64(s.counts[cw.Add(-s.window)])*float64(s.window-d)/float64(s.window) + float64(s.counts[cw])
	if s.round {
		est = math.Round(est)
	}
	rl := RateLimit{Limit: s.limit, Reset: cw.Add(s.window).Truncate(time.Second)}
	if est+1 > float64(s.limit) {
		rl.Remaining = max(0, s.limit-int(math.Ceil(est)))
		return Outcome{Status: http.StatusTooManyRequests, RateLimit: rl, HasRateLimit: true, RetryAfter: time.Second}
	}
	s.counts[cw]++
	s.arrivals = append(s.arrivals, at)
	rl.Remaining = max(0, s.limit-int(math.Ceil(est))-1)
	return Outcome{Status: http.StatusCreated, RateLimit: rl, HasRateLimit: true}
}

// fixedServer is ulule/limiter's fixed window: a window of length window
// begins at the first request after the previous one ended; refusals count
// too; Reset is the window's end in unix seconds, truncated; no Retry-After.
type fixedServer struct {
	limit    int
	window   time.Duration
	end      time.Time
	count    int
	arrivals []time.Time // admitted ones
}

func (s *fixedServer) arrive(at time.Time) Outcome {
	if !at.Before(s.end) {
		s.end, s.count = at.Add(s.window), 0
	}
	s.count++
	rl := RateLimit{Limit: s.limit, Remaining: max(0, s.limit-s.count), Reset: s.end.Truncate(time.Second)}
	if s.count > s.limit {
		return Outcome{Status: http.StatusTooManyRequests, RateLimit: rl, HasRateLimit: true}
	}
	s.arrivals = append(s.arrivals, at)
	return Outcome{Status: http.StatusCreated, RateLimit: rl, HasRateLimit: true}
}

// TestSlidingCounterNoRefusals runs 8 unconfigured workers against
// httprate's counter for a minute, at several phases of its windows,
// rounding its estimate or not: the store learns that the windows slide at
// the first look past a used-up window (taken W/L late) and runs the
// counter itself: no 429 at all, and L−1 of every L the counter admits
// once it runs (before slide.go: a 429 at every window's turn, each
// followed by Retry-After's whole second: about half the limit).
func TestSlidingCounterNoRefusals(t *testing.T) {
	for _, c := range []struct {
		limit  int
		window time.Duration
	}{{20, time.Second}, {5, time.Second}, {100, 10 * time.Second}} {
		for _, round := range []bool{true, false} {
			for phase := range 10 {
				// The limiter made phase/10 of a window before the client
				// starts, the client starting off the whole second.
				offset := c.window * time.Duration(phase) / 10
				h := newHarness(t)
				h.set(327 * time.Millisecond)
				srv := newCounterServer(c.limit, c.window, 327*time.Millisecond-offset, round)
				sim := &simulation{h: h, srv: srv, ticket: Ticket{Scope: "api"}, workers: 8,
					minLatency: time.Millisecond, maxLatency: 5 * time.Millisecond, rng: rand.New(rand.NewPCG(5, uint64(phase)))}
				start := h.clk.Now()
				sim.run(60 * c.window)
				steady := countFrom(srv.arrivals, start.Add(10*c.window))
				where := fmt.Sprintf("%d per %v, round %v, phase %d/10", c.limit, c.window, round, phase)
				late := countFrom(sim.refusals, start.Add(3*c.window))
				t.Logf("%s: sent %d, 429s %d (%d after 3 windows), %d admitted in the last 50 windows", where, sim.sent, sim.refused, late, steady)
				// Where the server's windows began long before the client's
				// first request, the anchored window is shorter than the
				// server's and the first look can come too early: that
				// 429 (with the step it shows) teaches the window.
				assert.LessOrEqual(t, sim.refused, 1, "429s (%s)", where)
				assert.Zero(t, late, "429s after the first 3 windows (%s)", where)
				assert.GreaterOrEqual(t, steady, 50*(c.limit-1)-5, "admitted in the last 50 windows (%s)", where)
			}
		}
	}
}

// TestSlidingLogNotACounter: a sliding log also admits again bit by bit
// after it is used up, and also says Remaining 0 meanwhile; but its reset
// follows its oldest request, moving on by less than a window, so the pool
// leaves the answers in charge (whose resets track the log exactly):
// requests arriving at random, more than the limit allows, get no 429.
func TestSlidingLogNotACounter(t *testing.T) {
	h := newHarness(t)
	h.set(327 * time.Millisecond)
	srv := &simServer{limit: 100, window: 10 * time.Second, headers: true, wholeSeconds: true}
	sim := &simulation{h: h, srv: srv, ticket: Ticket{Scope: "api"}, workers: 8,
		minLatency: 50 * time.Millisecond, maxLatency: 900 * time.Millisecond, rng: rand.New(rand.NewPCG(9, 10))}
	sim.run(5 * time.Minute)
	t.Logf("sent %d, 429s %d", sim.sent, sim.refused)
	assert.Zero(t, sim.refused, "429s")
	assert.GreaterOrEqual(t, sim.sent, 2500, "close to the limit (3000 in 5 min)")
	p := h.st.acquire("api", h.clk.Now()).learned.pools[0]
	if p.slide != nil {
		assert.NotEqual(t, slideSliding, p.slide.kind)
	}
}

// TestFixedWindowStillBursts: against ulule's fixed window, the first look
// past a used-up window (50 ms late) finds it restarted whole; from then on
// the pool sends the whole limit at every window's start, as before.
func TestFixedWindowStillBursts(t *testing.T) {
	const limit, window = 20, time.Second
	h := newHarness(t)
	h.set(327 * time.Millisecond) // windows off the whole second
	srv := &fixedServer{limit: limit, window: window}
	sim := &simulation{h: h, srv: srv, ticket: Ticket{Scope: "api"}, workers: 8,
		minLatency: time.Millisecond, maxLatency: 5 * time.Millisecond, rng: rand.New(rand.NewPCG(7, 8))}
	start := h.clk.Now()
	sim.run(30 * time.Second)
	steady := countFrom(srv.arrivals, start.Add(5*time.Second))
	t.Logf("sent %d, 429s %d, %d admitted in the last 25 s", sim.sent, sim.refused, steady)
	assert.Zero(t, sim.refused, "429s")
	// A window every 1 s + a round trip (1–5 ms): 24 or more in 25 s.
	assert.GreaterOrEqual(t, steady, 24*limit, "admitted in the last 25 s")
	p := h.st.acquire("api", h.clk.Now()).learned.pools[0]
	if assert.NotNil(t, p.slide) {
		assert.Equal(t, slideFixed, p.slide.kind)
	}
}

// TestSlideRefusedFallsBack: a 429 while the pool runs the counter (another
// client shares the key) drops the counter: the pool goes back to what its
// answers say.
func TestSlideRefusedFallsBack(t *testing.T) {
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	steps := []step{
		{at: 0, grant: "probe"},
		{at: 1 * ms, answer: "probe", o: twenty(201, 19, t1)}, // anchored: the window ends by 1001 ms
	}
	for i := range 19 {
		steps = append(steps, step{at: 1 * ms, grant: string(rune('a' + i))})
	}
	for i := range 19 {
		steps = append(steps, step{at: 2 * ms, answer: string(rune('a' + i)), o: twenty(201, 18-i, t1)})
	}
	steps = append(steps,
		step{at: 2 * ms, deny: true, next: 1051 * ms}, // the first look: 1001 ms + W/L
		step{at: 1051 * ms, grant: "look"},
		step{at: 1052 * ms, answer: "look", o: twenty(201, 0, t2)}, // the count carried over: it slides
		// The counter: the look's answer says the server still carried
		// 20 − 0.5 − 0 = 19.5 at 1052 ms, 949 ms before the counter's window
		// ends at 2001 ms: prev = ⌈19.5/0.949⌉ = 21; with the look sent, the
		// next when 21·(1 − d) <= 18: d = 3/21 s.
		step{at: 1052 * ms, deny: true, next: 1001*ms + 142857143},
		step{at: 1001*ms + 142857143, grant: "paced"},
		step{at: 1150 * ms, answer: "paced", o: twenty(http.StatusTooManyRequests, 0, t2)},
		// Refused: no counter now; the 429's cap (Remaining 0) holds until
		// the reset it names.
		step{at: 1150 * ms, deny: true, next: t2},
	)
	h.run(tk, steps)
	p := h.st.acquire("api", h.clk.Now()).learned.pools[0]
	assert.Equal(t, slideOff, p.slide.kind)
}
