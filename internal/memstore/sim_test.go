package memstore

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// simServer is an in-test model of a sliding-window rate-limited server: a
// request is accepted when fewer than limit accepted requests arrived in the
// window before it, else refused with a 429. It records every arrival.
type simServer struct {
	limit   int
	window  time.Duration
	headers bool // send X-RateLimit-style headers (Reset: when a slot frees)
	// lupitor's dialect (pacertest's sliding log): the Reset rounded up to
	// a whole second, and a Retry-After on a refusal.
	wholeSeconds bool

	accepted []time.Time // arrivals of accepted requests within the window
	arrivals []time.Time // every arrival, in order
}

// arrive decides on a request arriving at at.
func (s *simServer) arrive(at time.Time) Outcome {
	s.arrivals = append(s.arrivals, at)
	i := 0
	for i < len(s.accepted) && !s.accepted[i].Add(s.window).After(at) {
		i++
	}
	s.accepted = s.accepted[i:]
	o := Outcome{Status: 200}
	if len(s.accepted) >= s.limit {
		o.Status = 429
		if s.wholeSeconds {
			o.RetryAfter = s.accepted[0].Add(s.window).Sub(at)
		}
	} else {
		s.accepted = append(s.accepted, at)
	}
	if s.headers {
		reset := s.accepted[0].Add(s.window)
		if r := reset.Truncate(time.Second); s.wholeSeconds && r.Before(reset) {
			reset = r.Add(time.Second)
		}
		o.HasRateLimit = true
		o.RateLimit = RateLimit{Limit: s.limit, Remaining: s.limit - len(s.accepted), Reset: reset}
	}
	return o
}

// simTarget is a server a simulation sends to.
type simTarget interface {
	arrive(at time.Time) Outcome
}

// maxInWindow returns the most arrivals in any interval of length w.
func maxInWindow(arrivals []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range arrivals {
		for !arrivals[j].Add(w).After(arrivals[i]) {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// simulation runs workers that each send one request after another through a
// Store (via harness.try, on the manual clock) to a simServer, with
// random latencies; the server sees a request halfway through its latency.
// A worker refused a slot retries when the store said, or after the next
// answer. Everything runs on one goroutine, in time order: deterministic.
type simulation struct {
	h          *harness
	srv        simTarget
	ticket     Ticket
	workers    int
	minLatency time.Duration
	maxLatency time.Duration
	rng        *rand.Rand

	events  simEvents
	seq     int
	blocked []int // workers waiting for an answer

	sent, refused   int         // refused: 429s
	sends, refusals []time.Time // when each was sent, when each 429 arrived
}

type simEvent struct {
	at     time.Time
	seq    int
	worker int
	kind   int // simWant, simArrive, simAnswer
	slot   Slot
	out    *Outcome
}

const (
	simWant = iota
	simArrive
	simAnswer
)

func (s *simulation) push(e simEvent) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.events, e)
}

// run simulates until the clock reaches d after t0.
func (s *simulation) run(d time.Duration) {
	start := s.h.clk.Now()
	for w := range s.workers {
		s.push(simEvent{at: start, worker: w, kind: simWant})
	}
	end := start.Add(d)
	for s.events.Len() > 0 {
		e := heap.Pop(&s.events).(simEvent)
		if e.at.After(end) {
			return
		}
		s.h.clk.Set(e.at)
		switch e.kind {
		case simWant:
			s.want(e.worker)
		case simArrive:
			*e.out = s.srv.arrive(e.at)
		case simAnswer:
			s.answer(e)
		}
	}
}

func (s *simulation) want(w int) {
	now := s.h.clk.Now()
	sl, ok, next := s.h.try(s.ticket)
	switch {
	case ok:
		s.sent++
		s.sends = append(s.sends, now)
		lat := s.minLatency + time.Duration(s.rng.Int64N(int64(s.maxLatency-s.minLatency)+1))
		out := new(Outcome)
		s.push(simEvent{at: now.Add(lat / 2), worker: w, kind: simArrive, out: out})
		s.push(simEvent{at: now.Add(lat), worker: w, kind: simAnswer, slot: sl, out: out})
	case next == afterAnswer:
		s.blocked = append(s.blocked, w)
	default:
		s.push(simEvent{at: s.h.when(next), worker: w, kind: simWant})
	}
}

func (s *simulation) answer(e simEvent) {
	o := *e.out
	o.Sent, o.At = true, e.at
	if o.Status == 429 {
		s.refused++
		s.refusals = append(s.refusals, e.at)
	}
	s.h.st.Observe(e.slot, o)
	for _, b := range append(s.blocked, e.worker) {
		s.push(simEvent{at: e.at, worker: b, kind: simWant})
	}
	s.blocked = s.blocked[:0]
}

type simEvents []simEvent

func (q simEvents) Len() int { return len(q) }
func (q simEvents) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simEvents) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simEvents) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simEvents) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// countFrom returns how many of ts are at or after from.
func countFrom(ts []time.Time, from time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(from) {
			n++
		}
	}
	return n
}
