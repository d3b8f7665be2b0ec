package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/integration/campaigns"
	"github.com/pacerhq/pacer/examples/internal/demo"
)

// journal collects what the journey saw. It is safe for concurrent use.
type journal struct {
	mu      sync.Mutex
	waits   map[string]int64 // route → waits of at least minWait
	created []string         // emails acknowledged
	errs    []error
}

// minWait is the shortest wait for a slot the journal counts, on the API's
// clock: shorter ones are the cost of the call itself, not throttling.
const minWait = time.Second

func newJournal() *journal { return &journal{waits: map[string]int64{}} }

// waited is the OnWait hook. Hooks run on the request's goroutine and must
// not block, so it only counts.
func (j *journal) waited(e pacer.WaitEvent) {
	if e.Wait < minWait {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.waits[routeOf(e.Scope)]++
}

func (j *journal) record(email string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		j.errs = append(j.errs, err)
		return
	}
	j.created = append(j.created, email)
}

// Run walks through a typical integration: list the campaigns, add leads
// while a dashboard reads campaigns and statistics, and meet the typed
// rate-limit error once, with a caller too impatient to wait for a slot.
// It writes what happens to out and returns the summary; the error is
// non-nil when the journey could not start (bad config, listing failed).
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	out = demo.NewSyncWriter(out)
	e := cfg.env()
	defer e.api.Close()
	j := newJournal()
	client := cfg.client(e, out, j)
	defer client.Close()
	watch := demo.StartStopwatch(e.api.Clock)
	fmt.Fprintf(out, "campaigns API at %s, per-route budgets from the documentation, scoped by API key\n", e.api.URL)

	list, err := client.ListCampaigns(ctx)
	if err != nil {
		return Summary{}, err
	}
	if len(list) == 0 {
		return Summary{}, errors.New("integration: the API has no campaigns")
	}
	fmt.Fprintf(out, "listed %d campaigns\n", len(list))
	leads := makeLeads(cfg.Leads, list)
	limit := createLimit().Limit

	// One at a time, so that no request is in flight when the next is
	// granted: the window then holds exactly limit requests.
	first := min(limit, len(leads))
	addLeads(ctx, client, leads[:first], 1, j)
	fmt.Fprintf(out, "added %d leads, one at a time: the create route's window (%d per %s) is full; %s\n",
		first, limit, createLimit().Window, serverSays(client.Stats(), createLimit().Route))
	s := Summary{Campaigns: len(list), Leads: len(leads)}
	rest := leads[first:]
	if len(rest) > 0 {
		s.Impatient = impatient(ctx, client, e.api.Clock, cfg.Patience, e.api.Scale, rest[0], out, j)
		rest = rest[1:]
	}

	var reads int
	var wg sync.WaitGroup
	wg.Go(func() { reads = dashboard(ctx, client, list, cfg.Rounds, j) })
	addLeads(ctx, client, rest, cfg.Workers, j)
	wg.Wait()
	fmt.Fprintf(out, "added the other %d leads while a dashboard made %d reads\n", len(rest), reads)

	s.Reads = reads
	s.fill(client.Stats(), j, e, leads)
	s.Virtual, s.Real = watch.Elapsed()
	return s, nil
}

func makeLeads(n int, list []campaigns.Campaign) []campaigns.Lead {
	out := make([]campaigns.Lead, n)
	for i := range out {
		out[i] = campaigns.Lead{CampaignID: list[i%len(list)].ID,
			Email: fmt.Sprintf("lead-%04d@example.com", i+1), Name: fmt.Sprintf("Lead %d", i+1)}
	}
	return out
}

// addLeads creates the leads with workers goroutines.
func addLeads(ctx context.Context, c *campaigns.Client, leads []campaigns.Lead, workers int, j *journal) {
	next := make(chan campaigns.Lead)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for l := range next {
				_, err := c.CreateLead(ctx, l)
				j.record(l.Email, err)
			}
		})
	}
	for _, l := range leads {
		next <- l
	}
	close(next)
	wg.Wait()
}

// dashboard reads every campaign and its statistics, rounds times, and
// returns how many reads succeeded. Reads use their own routes' budgets, so
// the leads being added never hold them up.
func dashboard(ctx context.Context, c *campaigns.Client, list []campaigns.Campaign, rounds int, j *journal) int {
	n := 0
	for range rounds {
		for _, cp := range list {
			_, err := c.GetCampaign(ctx, cp.ID)
			if err == nil {
				_, err = c.GetStatistics(ctx, cp.ID)
			}
			if err != nil {
				j.mu.Lock()
				j.errs = append(j.errs, err)
				j.mu.Unlock()
				continue
			}
			n += 2
		}
	}
	return n
}

// Impatient is what happened to the call that would not wait.
type Impatient struct {
	// Err is the typed error the call got (nil if it got through).
	Err *pacer.RateLimitError
	// RetryAfter is how long it was told to wait; RetriedOK whether the
	// retry at RetryAt succeeded.
	RetryAfter time.Duration
	RetriedOK  bool
}

// impatient adds a lead with a deadline of patience (on the API's clock)
// while the create route's window is full. pacer does not make it wait past
// its deadline: it returns a *pacer.RateLimitError at once, which says when
// a slot frees. The caller waits until then and tries again.
func impatient(ctx context.Context, c *campaigns.Client, clk pacer.Clock, patience time.Duration, scale float64,
	l campaigns.Lead, out io.Writer, j *journal) Impatient {
	// Context deadlines are wall-clock time: patience on the API's clock
	// is patience/scale of real time.
	short, cancel := context.WithTimeout(ctx, time.Duration(float64(patience)/scale))
	_, err := c.CreateLead(short, l)
	cancel()
	var rle *pacer.RateLimitError
	if !errors.As(err, &rle) {
		fmt.Fprintf(out, "an impatient call (willing to wait %s) got through: %v\n", patience, err)
		j.record(l.Email, err)
		return Impatient{}
	}
	how := "refused before sending"
	if rle.StatusCode != 0 {
		how = fmt.Sprintf("answered %d", rle.StatusCode)
	}
	fmt.Fprintf(out, "an impatient call (willing to wait %s) was %s: %v\n", patience, how, err)
	fmt.Fprintf(out, "  → retry at %s, in %s (scope %q)\n", rle.RetryAt.Format("15:04:05"), rle.RetryAfter.Round(time.Second), rle.Scope)
	imp := Impatient{Err: rle, RetryAfter: rle.RetryAfter}
	if !demo.SleepUntil(ctx, clk, rle.RetryAt) {
		j.record(l.Email, ctx.Err())
		return imp
	}
	_, err = c.CreateLead(ctx, l)
	j.record(l.Email, err)
	imp.RetriedOK = err == nil
	fmt.Fprintf(out, "  → retried at %s: %s\n", clk.Now().Format("15:04:05"), okOr(err))
	return imp
}

func okOr(err error) string {
	if err != nil {
		return err.Error()
	}
	return "created"
}

// serverSays is what the server last said about the route's limit.
func serverSays(st pacer.Stats, route string) string {
	for scope, ss := range st.Scopes {
		if routeOf(scope) == route && !ss.ServerAt.IsZero() {
			return fmt.Sprintf("the server says %d/%d left", ss.Server.Remaining, ss.Server.Limit)
		}
	}
	return "the server said nothing about it"
}
