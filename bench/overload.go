package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// overloadSpec sizes the overload workload on the lupitor API: events
// arrive evenly at rate per second (virtual) for before+outage+after;
// during the outage every request is answered 503 (with Retry-After: 1).
// Each event is one create call, delivered again redeliver later if it
// failed, up to deliveries calls in all (a webhook with redelivery).
type overloadSpec struct {
	scale                 float64
	rate                  float64 // events per second
	before, outage, after time.Duration
	redeliver             time.Duration
	deliveries            int
}

// overloadResult is one contender's overload run.
type overloadResult struct {
	contender string
	events    int
	sent      int // requests the server received
	inOutage  int // of which answered 503 during the outage
	// recovery is the time from the end of the outage to the first create
	// the server accepted after it; -1 if none.
	recovery time.Duration
	lost     int // events never created
	dup      int
	failed   int // calls that failed (every delivery counts)
}

// overloadContenders are go-retryablehttp's defaults and pacer (configured
// for lupitor) without and with its overload protection.
func overloadContenders() []contender {
	with := func(opts ...pacer.Option) func(env) caller {
		return func(e env) caller { return newPacer(e, append(e.api.configured(), opts...)...) }
	}
	budget := pacer.WithRetryBudget(pacer.RetryBudget{})
	breaker := pacer.WithCircuitBreaker(pacer.Breaker{})
	return []contender{
		{"go-retryablehttp", "retryablehttp", newRetryable},
		{pacerConfigured, "pacer configured", newPacerConfigured},
		{"pacer + WithRetryBudget", "pacer+budget", with(budget)},
		{"pacer + WithCircuitBreaker", "pacer+breaker", with(breaker)},
		{"pacer + both", "pacer+both", with(budget, breaker)},
	}
}

// runOverload offers the overload workload to a contender.
func runOverload(ct contender, spec overloadSpec) overloadResult {
	a := lupitor()
	s := startSession(a, a.preset(), spec.scale, ct)
	defer s.close()

	total := spec.before + spec.outage + spec.after
	n := int(spec.rate * total.Seconds())
	ids := itemIDs("storm", n)
	gap := time.Duration(float64(time.Second) / spec.rate)
	ctx, cancel := s.virtualContext(total + time.Duration(spec.deliveries)*spec.redeliver + time.Minute)
	defer cancel()

	start := s.clock.Now()
	outageEnd := make(chan time.Time, 1)
	go stormSwitch(ctx, s, start, spec, outageEnd)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i, id := range ids {
		if d := start.Add(time.Duration(i) * gap).Sub(s.clock.Now()); d > 0 && sleepOn(ctx, s.clock, d) != nil {
			break
		}
		wg.Go(func() { failed.Add(int64(deliver(ctx, s, id, spec))) })
	}
	wg.Wait()

	ev := s.srv.Evidence()
	r := overloadResult{
		contender: ct.name, events: n, sent: sent(ev), inOutage: ev.Failed,
		lost: len(ev.Missing(ids)), dup: len(ev.CreatedTwice), failed: int(failed.Load()), recovery: -1,
	}
	select {
	case end := <-outageEnd:
		r.recovery = firstAccepted(ev.Series, end)
	default:
	}
	return r
}

// firstAccepted returns how long after t the first bucket (of those ending
// after t) that accepted a request starts: 0 if it holds t, -1 if there is
// none. No request is accepted during the outage, so with t its end this is
// the time to recover, to the bucket width (1 s of server time).
func firstAccepted(series []pacertest.Bucket, t time.Time) time.Duration {
	for _, b := range series {
		if b.Accepted > 0 && b.Start.Add(b.Width).After(t) {
			return max(0, b.Start.Sub(t))
		}
	}
	return -1
}

// stormSwitch turns the server's outage on after spec.before and off after
// spec.outage more, and sends the virtual time it ended.
func stormSwitch(ctx context.Context, s *session, start time.Time, spec overloadSpec, ended chan<- time.Time) {
	if sleepOn(ctx, s.clock, start.Add(spec.before).Sub(s.clock.Now())) != nil {
		return
	}
	s.srv.SetOutage(true)
	if sleepOn(ctx, s.clock, spec.outage) != nil {
		s.srv.SetOutage(false)
		return
	}
	s.srv.SetOutage(false)
	ended <- s.clock.Now()
}

// deliver makes up to spec.deliveries calls for one event, spec.redeliver
// apart, until one succeeds, and returns how many failed.
func deliver(ctx context.Context, s *session, id string, spec overloadSpec) int {
	req := s.createRequest(id)
	failed := 0
	for range spec.deliveries {
		if ok(s.caller.do(ctx, req)) {
			return failed
		}
		failed++
		if sleepOn(ctx, s.clock, spec.redeliver) != nil {
			return failed
		}
	}
	return failed
}
