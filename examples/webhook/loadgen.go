package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
)

// loadResult is what the load generator did.
type loadResult struct {
	// Accepted is the number of events the relay accepted; Refused the
	// number it still refused after every retry (a provider would drop or
	// park them); Unsent the number not sent because the generator stopped.
	Accepted, Refused, Unsent int
	// Err is the first refusal.
	Err error
}

// generate plays a webhook provider: it posts n events to the relay at
// baseURL, one every interval on clk, in order. Like real providers it keeps
// an event the relay refuses with 503 and retries it after the Retry-After
// the relay asked for (pacer does that, on clk). It stops early when ctx
// ends.
func generate(ctx context.Context, clk pacer.Clock, baseURL string, n int, interval time.Duration) loadResult {
	tr := pacer.NewTransport(nil, pacer.WithClock(clk), pacer.WithMaxAttempts(100))
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	relay := demo.API{URL: baseURL, Path: "/hook"}
	var res loadResult
	start := clk.Now()
	for i := range n {
		if !demo.SleepUntil(ctx, clk, start.Add(time.Duration(i)*interval)) {
			res.Unsent = n - i
			return res
		}
		ev := event{ID: fmt.Sprintf("evt-%06d", i+1), Type: "lead.created"}
		if err := relay.PostJSON(ctx, c, ev, nil); err != nil {
			if ctx.Err() != nil {
				res.Unsent = n - i
				return res
			}
			res.Refused++
			if res.Err == nil {
				res.Err = err
			}
			continue
		}
		res.Accepted++
	}
	return res
}
