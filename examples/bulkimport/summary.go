package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
)

// Summary is the result of an import run.
type Summary struct {
	// Records is how many records the run was asked to import; Requests how
	// many creates (single or bulk) that takes without retries.
	Records, Requests int
	// Sent is the number of attempts that reached the server, retries
	// included; RateLimited the 429s received; Retries the attempts that
	// were retries (all from the transport's Stats).
	Sent, RateLimited, Retries int64
	// Failed is the number of records whose create did not end in a 2xx
	// response (or was never sent, when the run was cancelled). FirstError
	// is the first such failure.
	Failed     int
	FirstError error
	// Check holds the records lost and duplicated and the busiest window:
	// from the embedded server's evidence, or for a real API from
	// client-side results only (Lost = Failed; duplicates and windows
	// cannot be seen from the client).
	demo.Check
	// Limit per Window is the API's limit; ZeroConfig tells whether the
	// client was told about it.
	Limit      int
	Window     time.Duration
	ZeroConfig bool
	// Virtual and Real are the elapsed time on the API's clock and on the
	// wall clock; Minimum is the least time Requests can take under the
	// limit (demo.MinDuration).
	Virtual, Real, Minimum time.Duration
}

// summarize builds the summary from the transport's stats, the batches'
// outcomes and, for the embedded server, its evidence.
func summarize(cfg Config, api demo.API, st pacer.Stats, results []outcome, batches [][]record) Summary {
	tot := demo.Sum(st)
	s := Summary{
		Records: cfg.Records, Requests: len(batches),
		Sent: tot.Sent, RateLimited: tot.RateLimited, Retries: tot.Retries,
		Limit: api.Limit, Window: api.Window, ZeroConfig: cfg.ZeroConfig,
		Minimum: demo.MinDuration(len(batches), api.Limit, api.Window),
	}
	acked := 0
	for _, o := range results {
		if o.err == nil {
			acked += len(o.ids)
		} else if s.FirstError == nil {
			s.FirstError = o.err
		}
	}
	s.Failed = cfg.Records - acked
	var all []string
	for _, b := range batches {
		all = append(all, ids(b)...)
	}
	s.Check = api.Verify(all, s.Failed)
	return s
}

// Print writes the summary as a short table.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "records        %d in %d requests\n", s.Records, s.Requests)
	fmt.Fprintf(w, "sent requests  %d (429s received: %d, retries: %d)\n", s.Sent, s.RateLimited, s.Retries)
	fmt.Fprintf(w, "lost           %d (never created; %s)\n", s.Lost, s.Source())
	if s.Verified {
		fmt.Fprintf(w, "duplicated     %d (created twice; %s)\n", s.Duplicated, s.Source())
	} else {
		fmt.Fprintf(w, "duplicated     not visible from the client (each create carried an Idempotency-Key)\n")
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "failed         %d records, first error: %v\n", s.Failed, s.FirstError)
	}
	if s.MaxInWindow > 0 {
		fmt.Fprintf(w, "busiest window %d requests accepted (limit %d per %s)\n", s.MaxInWindow, s.Limit, s.Window)
	}
	fmt.Fprintf(w, "elapsed        %s virtual, %s real\n", s.Virtual.Round(time.Second), s.Real.Round(10*time.Millisecond))
	fmt.Fprintf(w, "theoretical    %s minimum for %d requests at %d per %s\n", s.Minimum, s.Requests, s.Limit, s.Window)
}

// OK reports whether every record was created exactly once.
func (s Summary) OK() bool { return s.Lost == 0 && s.Duplicated == 0 && s.Failed == 0 }
