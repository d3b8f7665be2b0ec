package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pacerhq/pacer/pacertest"
)

// burstSpec sizes the burst workload on one API: webhook events arrive
// evenly at twice the API's primary limit for over windows, then at half
// of it for half windows; each event is one create call started at its
// arrival (a goroutine per event, like a webhook handler).
type burstSpec struct {
	scale      float64
	over, half float64 // durations, in windows of the primary limit
}

// burstResult is one contender's burst run on one API.
type burstResult struct {
	api, contender string
	events         int
	sent, rejected int
	lost, dup      int
	errors         int // events whose call failed
	// p50, p99 and max are latencies from arrival to a successful call's
	// answer, in server time; failed calls are counted in errors instead.
	p50, p99, max time.Duration
	timedOut      bool
}

// arrivals returns the arrival offsets (server time) of the burst
// workload's events.
func (b burstSpec) arrivals(a *api) []time.Duration {
	L, W := a.primary.Requests, a.primary.Window
	var out []time.Duration
	phase := func(from time.Duration, windows, perWindow float64) time.Duration {
		n := int(windows * perWindow)
		gap := time.Duration(float64(W) / perWindow)
		for i := range n {
			out = append(out, from+time.Duration(i)*gap)
		}
		return from + time.Duration(windows*float64(W))
	}
	end := phase(0, b.over, 2*float64(L))
	phase(end, b.half, float64(L)/2)
	return out
}

// runBurst offers the burst workload to a contender.
func runBurst(a *api, ct contender, spec burstSpec) burstResult {
	cfg := a.preset()
	s := startSession(a, cfg, spec.scale, ct)
	defer s.close()

	at := spec.arrivals(a)
	ids := itemIDs("event", len(at))
	last := at[len(at)-1]
	// Bound: the arrivals, twice the time to serve every event at the
	// slowest documented average rate, two more windows.
	ctx, cancel := s.virtualContext(last + 2*serveTime(cfg, a, len(at)) + 2*a.primary.Window)
	defer cancel()

	lat := make([]time.Duration, len(at))
	succeeded := make([]bool, len(at)) // false also for events never started
	start := s.clock.Now()
	var wg sync.WaitGroup
	for i, off := range at {
		if d := start.Add(off).Sub(s.clock.Now()); d > 0 {
			if sleepOn(ctx, s.clock, d) != nil {
				break // bound reached: events not yet arrived are dropped
			}
		}
		wg.Go(func() {
			st, err := s.caller.do(ctx, s.createRequest(ids[i]))
			lat[i], succeeded[i] = s.clock.Now().Sub(start.Add(off)), ok(st, err)
		})
	}
	wg.Wait()

	ev := s.srv.Evidence()
	r := burstResult{
		api: a.name, contender: ct.name, events: len(at),
		sent: sent(ev), rejected: ev.Rejected,
		lost: len(ev.Missing(ids)), dup: len(ev.CreatedTwice),
		timedOut: ctx.Err() != nil,
	}
	var okLat []time.Duration
	for i := range at {
		if !succeeded[i] {
			r.errors++
			continue
		}
		okLat = append(okLat, lat[i])
	}
	r.p50, r.p99, r.max = quantile(okLat, 0.50), quantile(okLat, 0.99), quantile(okLat, 1)
	return r
}

// serveTime is how long n creates take at the slowest average rate
// (Limit/Window) of the limits on the API's create endpoint.
func serveTime(cfg pacertest.Config, a *api, n int) time.Duration {
	var longest time.Duration
	for _, l := range limitsFor(cfg, http.MethodPost, a.create) {
		longest = max(longest, time.Duration(float64(n)/float64(l.Requests)*float64(l.Window)))
	}
	return longest
}

// quantile returns the q-quantile (nearest rank) of ds, or 0 if empty.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func (b burstSpec) String() string {
	return fmt.Sprintf("2x for %g windows, then 0.5x for %g windows", b.over, b.half)
}
