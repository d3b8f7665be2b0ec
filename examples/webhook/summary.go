package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
)

// Summary is the result of a relay run.
type Summary struct {
	// Received is the number of events accepted (202), Delivered the
	// number posted to the API with a 2xx answer, Failed the number whose
	// delivery failed for good (FirstError is the first).
	Received, Delivered, Failed int
	FirstError                  error
	// Check holds the received events never created at the API (Lost),
	// those created more than once (Duplicated) and the busiest window
	// (MaxInWindow): from the embedded API's evidence, or for a real API
	// Lost = Received - Delivered and the rest cannot be seen from here.
	demo.Check
	// Refused is how many times POST /hook answered 503 for a full queue;
	// PeakQueue the deepest the queue got; QueuedAtStop its depth when
	// the relay was told to stop (the events the drain delivered).
	Refused, PeakQueue, QueuedAtStop int
	// Generated is what the built-in load generator did (zero with Serve).
	Generated loadResult
	// Sent, RateLimited and Retries are the outbound transport's totals;
	// Limit per Window is the API's documented limit.
	Sent, RateLimited, Retries int64
	Limit                      int
	Window                     time.Duration
	// ShutdownErr is an error from stopping the webhook server, if any.
	ShutdownErr error
	// Virtual and Real are the elapsed time on the API's clock and on the
	// wall clock.
	Virtual, Real time.Duration
}

func summarize(qs queueStats, d *deliveries, st pacer.Stats, api demo.API, gen loadResult) Summary {
	delivered, failed := d.counts()
	tot := demo.Sum(st)
	s := Summary{
		Received: len(qs.Received), Delivered: delivered, Failed: len(failed),
		Refused: qs.Refused, PeakQueue: qs.Peak, Generated: gen,
		Sent: tot.Sent, RateLimited: tot.RateLimited, Retries: tot.Retries,
		Limit: api.Limit, Window: api.Window,
	}
	if len(failed) > 0 {
		s.FirstError = failed[0]
	}
	s.Check = api.Verify(qs.Received, s.Received-s.Delivered)
	return s
}

// Print writes the summary as a short table.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "received     %d events (503 \"queue full\" answers: %d, deepest queue: %d)\n", s.Received, s.Refused, s.PeakQueue)
	fmt.Fprintf(w, "delivered    %d (%d drained after the stop signal)\n", s.Delivered, s.QueuedAtStop)
	fmt.Fprintf(w, "lost         %d (received, never created; %s)\n", s.Lost, s.Source())
	if s.Verified {
		fmt.Fprintf(w, "duplicated   %d (created twice; %s)\n", s.Duplicated, s.Source())
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "failed       %d deliveries, first error: %v\n", s.Failed, s.FirstError)
	}
	fmt.Fprintf(w, "outbound     %d calls sent, %d 429s, %d retries", s.Sent, s.RateLimited, s.Retries)
	if s.MaxInWindow > 0 {
		fmt.Fprintf(w, "; busiest window %d (limit %d per %s)", s.MaxInWindow, s.Limit, s.Window)
	}
	fmt.Fprintln(w)
	if g := s.Generated; g.Accepted+g.Refused+g.Unsent > 0 {
		fmt.Fprintf(w, "generator    %d accepted, %d refused for good, %d not sent\n", g.Accepted, g.Refused, g.Unsent)
	}
	if s.ShutdownErr != nil {
		fmt.Fprintf(w, "shutdown     %v\n", s.ShutdownErr)
	}
	fmt.Fprintf(w, "elapsed      %s virtual, %s real\n", s.Virtual.Round(time.Second), s.Real.Round(10*time.Millisecond))
}

// OK reports whether every received event was delivered exactly once.
func (s Summary) OK() bool {
	return s.Lost == 0 && s.Duplicated == 0 && s.Failed == 0 && s.Delivered == s.Received
}
