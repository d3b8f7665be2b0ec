package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer"
)

// overheadSpec sizes the overhead workload: rounds rounds, each running
// every contender in turn (the order rotating) for round of real time.
type overheadSpec struct {
	rounds int
	round  time.Duration
}

// overheadResult is one contender's medians over the rounds.
type overheadResult struct {
	contender string
	rps       float64 // requests per second with 8 workers
	// ratio is the median over the rounds of rps / the bare transport's
	// rps in the same round: robust to load that drifts between rounds.
	ratio        float64
	allocsPerReq float64 // heap allocations per request, client and server
	errors       int64   // failed calls, over all rounds (expected 0)
}

// unlimited is the API of the overhead workload: no limit at all, and
// headers that say so on every response, so that pacer parses them.
func unlimited() *api {
	return &api{
		name: "unlimited", summary: "no limit", headers: true, auth: keyHeader, create: "/items",
		configured: func() []pacer.Option {
			return []pacer.Option{pacer.WithBudget(1_000_000_000, time.Second), pacer.WithIdempotencyKeys()}
		},
	}
}

// newUnlimitedServer serves 200 "ok" with rate-limit headers that never
// run out.
func newUnlimitedServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-RateLimit-Limit", "1000000000")
		h.Set("X-RateLimit-Remaining", "999999999")
		h.Set("X-RateLimit-Reset", "1")
		_, _ = io.WriteString(w, "ok")
	}))
}

// bare is the baseline of the overhead workload: a plain http.Client on
// the same pool settings as every contender.
var bare = contender{"bare http.Transport", "bare", func(env) caller {
	base := newBase()
	return clientCaller{&http.Client{Transport: base}, base}
}}

// runOverhead measures every contender, bare first, against one unlimited
// server, interleaving them round by round (the order rotating), and
// returns the medians.
func runOverhead(spec overheadSpec) []overheadResult {
	srv := newUnlimitedServer()
	defer srv.Close()
	cts := append([]contender{bare}, contenders()...)
	e := env{api: unlimited(), url: srv.URL, clock: pacer.SystemClock(), scale: 1}
	rps := make([][]float64, len(cts))
	allocs := make([][]float64, len(cts))
	errs := make([]int64, len(cts))
	for round := range spec.rounds {
		for j := range cts {
			k := (j + round) % len(cts)
			r, a, n := measureThroughput(e, cts[k], spec.round)
			rps[k], allocs[k], errs[k] = append(rps[k], r), append(allocs[k], a), errs[k]+n
		}
	}
	out := make([]overheadResult, len(cts))
	for k, ct := range cts {
		ratios := make([]float64, spec.rounds)
		for i := range ratios {
			ratios[i] = rps[k][i] / rps[0][i]
		}
		out[k] = overheadResult{ct.name, median(rps[k]), median(ratios), median(allocs[k]), errs[k]}
	}
	return out
}

// measureThroughput runs 8 workers of GETs through a fresh contender for d
// and returns requests per second, heap allocations per request, and how
// many calls failed.
func measureThroughput(e env, ct contender, d time.Duration) (rps, allocsPerReq float64, errs int64) {
	c := ct.build(e)
	defer c.close()
	req := e.newRequest(http.MethodGet, "/items", nil)
	loop(c, req, 8*workers, 0) // warm the connection pool
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	n, errs := loop(c, req, 0, d)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return float64(n) / elapsed.Seconds(), float64(after.Mallocs-before.Mallocs) / float64(n), errs
}

// loop sends req with 8 workers until count calls are done (count > 0) or
// d has passed (d > 0), and returns how many completed and how many failed.
func loop(c caller, req *http.Request, count int64, d time.Duration) (done, failed int64) {
	var n, bad atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for (count == 0 || n.Load() < count) && (d == 0 || time.Now().Before(deadline)) {
				if !ok(c.do(context.Background(), req)) {
					bad.Add(1)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load(), bad.Load()
}

// median returns the median of xs (0 if empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
