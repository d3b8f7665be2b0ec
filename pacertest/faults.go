package pacertest

import (
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// dice draws the fault decisions from a generator seeded with Faults.Seed.
// It is not safe for concurrent use; the Server's mutex guards it.
type dice struct{ rng *rand.Rand }

func newDice(seed int64) *dice {
	return &dice{rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

// roll reports true with probability p. It draws nothing when p <= 0 or
// p >= 1, so a fault that is off does not shift the others' draws.
func (d *dice) roll(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return d.rng.Float64() < p
}

// SetOutage switches the outage on or off: while on, every request is
// answered 503 (like Faults.Outage). Safe to call at any time, also before
// Start.
func (s *Server) SetOutage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = on
}

// inOutage reports whether requests at now fall into an outage; s.mu is held.
func (s *Server) inOutage(now time.Time) bool {
	return s.outage || (s.Config.Faults.Outage != nil && s.Config.Faults.Outage(now))
}

// retryAfter503 is the wait advertised on 503 responses.
func (s *Server) retryAfter503() time.Duration {
	if d := s.Config.Faults.RetryAfter503; d > 0 {
		return d
	}
	return time.Second
}

// delay waits Faults.Latency on the server clock. It reports false if the
// request was cancelled or the server is closing first.
func (s *Server) delay(r *http.Request) bool {
	d := s.Config.Faults.Latency
	if d <= 0 {
		return true
	}
	c, stop := s.clock.NewTimer(d)
	defer stop()
	select {
	case <-c:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

// resetConnection closes the request's connection without an answer, as a
// TCP reset where possible. It reports whether the connection was taken;
// before it closes, it calls taken, so that evidence is recorded before the
// client can see the reset.
func resetConnection(w http.ResponseWriter, taken func()) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	taken()
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0) //nolint:errcheck // best effort: a FIN is fine too
	}
	conn.Close()
	return true
}
