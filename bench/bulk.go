package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer/pacertest"
)

// bulkSpec sizes the bulk workload on one API.
type bulkSpec struct {
	n     int     // unique creates
	scale float64 // how much faster than real time the server's clock runs
}

// bulkResult is one contender's bulk import on one API.
type bulkResult struct {
	api, contender string
	n              int
	// wall is the virtual time from the first request to the last answer;
	// minimum the theoretical minimum for the limits (see minimumTime).
	wall, minimum time.Duration
	sent          int // requests the server received
	rejected      int // 429s
	lost, dup     int // items never created / created more than once
	errors        int // logical calls that returned an error or a non-2xx
	timedOut      bool
	series        []pacertest.Bucket
	start         time.Time // virtual time of the first request
}

// efficiency is minimum/wall: 1 means as fast as the limits allow.
func (r bulkResult) efficiency() float64 {
	if r.wall <= 0 {
		return 0
	}
	return r.minimum.Seconds() / r.wall.Seconds()
}

// runBulk imports spec.n unique items through the contender with 8
// workers, each item one logical create call.
func runBulk(a *api, ct contender, spec bulkSpec) bulkResult {
	cfg := a.preset()
	limits := limitsFor(cfg, http.MethodPost, a.create)
	s := startSession(a, cfg, spec.scale, ct)
	defer s.close()

	ids := itemIDs("bulk", spec.n)
	// Generous bound: twice the minimum plus three of the longest windows.
	bound := 2*minimumTime(limits, spec.n, 0) + 3*longestWindow(limits)
	ctx, cancel := s.virtualContext(bound)
	defer cancel()

	start := s.clock.Now()
	errs := createAll(ctx, s, ids)
	end := s.clock.Now()

	ev := s.srv.Evidence()
	return bulkResult{
		api: a.name, contender: ct.name, n: spec.n,
		wall:    end.Sub(start),
		minimum: minimumTime(limits, spec.n, start.Sub(origin(ev))),
		sent:    sent(ev), rejected: ev.Rejected,
		lost: len(ev.Missing(ids)), dup: len(ev.CreatedTwice),
		errors: errs, timedOut: ctx.Err() != nil,
		series: ev.Series, start: start,
	}
}

// createAll creates every id once through s's caller with 8 workers and
// returns how many calls failed.
func createAll(ctx context.Context, s *session, ids []string) int {
	var failed atomic.Int64
	byWorkers(ids, func(id string) {
		if !ok(s.caller.do(ctx, s.createRequest(id))) {
			failed.Add(1)
		}
	})
	return int(failed.Load())
}

// byWorkers calls f once for every id, from 8 worker goroutines that take
// the ids in order, and returns when every call has returned. f must be safe
// for concurrent use.
func byWorkers(ids []string, f func(id string)) {
	next := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for id := range next {
				f(id)
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
}

func longestWindow(limits []pacertest.Limit) time.Duration {
	var w time.Duration
	for _, l := range limits {
		w = max(w, l.Window)
	}
	return w
}
