package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// mixedSpec sizes the mixed-endpoints workload on the campaigns API: for
// windows windows, 4 workers call the tight endpoint and 4 others the
// generous one, each as fast as its contender lets it.
type mixedSpec struct {
	scale   float64
	windows int
}

// stream is one endpoint's closed loop in the mixed workload.
type stream struct {
	name   string
	method string
	path   func(i int) string
	body   func(i int) []byte
	limit  int // per minute, as documented
}

// mixedStreams are the tight and the generous stream.
func mixedStreams() [2]stream {
	return [2]stream{
		{name: "POST /v1/leads/add_to_campaign", method: http.MethodPost, limit: 20,
			path: func(int) string { return "/v1/leads/add_to_campaign" },
			body: func(i int) []byte { return fmt.Appendf(nil, `{"id":"mixed-%06d"}`, i) }},
		{name: "GET /v1/campaigns/:id", method: http.MethodGet, limit: 120,
			path: func(i int) string { return fmt.Sprintf("/v1/campaigns/c%d", i%7) },
			body: func(int) []byte { return nil }},
	}
}

// mixedResult is one contender's mixed run.
type mixedResult struct {
	contender string
	// achieved is each stream's successful calls per window as a fraction
	// of its limit.
	achieved [2]float64
	sent     int
	rejected int // 429s, both streams
}

// runMixed runs both streams side by side against the per-endpoint API.
func runMixed(ct contender, spec mixedSpec) mixedResult {
	a := campaigns()
	s := startSession(a, a.preset(), spec.scale, ct)
	defer s.close()
	span := time.Duration(spec.windows) * time.Minute
	ctx, cancel := s.virtualContext(span)
	defer cancel()

	streams := mixedStreams()
	var okCount [2]atomic.Int64
	var seq atomic.Int64
	end := s.clock.Now().Add(span)
	var wg sync.WaitGroup
	for k, st := range streams {
		for range workers / 2 {
			wg.Go(func() { loopStream(ctx, s, st, &seq, &okCount[k], end) })
		}
	}
	wg.Wait()

	ev := s.srv.Evidence()
	r := mixedResult{contender: ct.name, sent: sent(ev), rejected: ev.Rejected}
	for k, st := range streams {
		r.achieved[k] = float64(okCount[k].Load()) / float64(spec.windows*st.limit)
	}
	return r
}

// loopStream calls st until ctx ends, counting the calls that succeeded
// before end (server time).
func loopStream(ctx context.Context, s *session, st stream, seq, okCount *atomic.Int64, end time.Time) {
	for ctx.Err() == nil {
		i := int(seq.Add(1))
		status, err := s.caller.do(ctx, s.newRequest(st.method, st.path(i), st.body(i)))
		if ok(status, err) && s.clock.Now().Before(end) {
			okCount.Add(1)
		}
	}
}
