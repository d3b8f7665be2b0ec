package redisbudget

import (
	"sync"
	"time"
)

// driftPPM is how fast, at most, this host's monotonic clock and Redis's
// TIME are assumed to drift apart (1000 ppm, 1 ms per second: twenty times
// what an unsynchronised quartz clock does), so that an offset sample grows
// less trusted as it ages.
const driftPPM = 1000

// serverClock estimates Redis's TIME from this host's monotonic clock, so
// that the store can tell a script when to refuse a reservation its caller
// has given up on (see Store.try), whatever the two wall clocks say.
//
// Every script reply carries Redis's TIME. A call sent at local time s and
// answered at r ran at a server time T somewhere in [s, r] on the local
// clock, so offset = T - (s+r)/2 is wrong by at most (r-s)/2, the sample's
// uncertainty. The store keeps the sample whose uncertainty, plus driftPPM
// of its age, is smallest. On a cluster each node has its own clock, so the
// store keeps one serverClock per master (see nodes). The zero value has
// no sample. A serverClock is safe for concurrent use.
type serverClock struct {
	mu   sync.Mutex
	off  int64 // server µs minus local µs
	unc  int64 // uncertainty of off, µs
	at   int64 // local µs of the sample
	have bool  // a sample was taken
}

// localBase is the origin of localMicros, with its monotonic reading.
var localBase = time.Now()

// localMicros is this host's monotonic clock in microseconds (on the scale
// of Unix time, but immune to steps of the wall clock).
func localMicros() int64 {
	return localBase.UnixMicro() + time.Since(localBase).Microseconds()
}

// sample records that a call sent at local sent and answered at local recv
// ran at server time server.
func (c *serverClock) sample(sent, recv, server int64) {
	if server <= 0 || recv < sent {
		return
	}
	unc := (recv - sent + 1) / 2
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have && unc > c.uncertaintyAt(recv) {
		return
	}
	c.off, c.unc, c.at, c.have = server-(sent+recv)/2, unc, recv, true
}

// uncertaintyAt is the current sample's uncertainty at local time now,
// aged by driftPPM. Called with c.mu held.
func (c *serverClock) uncertaintyAt(now int64) int64 {
	return c.unc + (now-c.at)*driftPPM/1_000_000
}

// offset returns the estimated server-minus-local offset and its
// uncertainty at local time now; ok is false before the first sample.
func (c *serverClock) offset(now int64) (off, unc int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have {
		return 0, 0, false
	}
	return c.off, c.uncertaintyAt(now), true
}
