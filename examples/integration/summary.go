package main

import (
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/integration/campaigns"
	"github.com/pacerhq/pacer/examples/internal/demo"
)

// Summary is the result of the integration journey.
type Summary struct {
	// Campaigns is how many campaigns were listed; Reads how many dashboard
	// reads succeeded; Leads how many leads the journey added, Created how
	// many of them the API acknowledged.
	Campaigns, Reads, Leads, Created int
	// Lost is the number of leads never created and Duplicated the number
	// created more than once. With Verified they come from the embedded
	// API's records; otherwise Lost is Leads - Created and duplicates
	// cannot be seen from here.
	Lost, Duplicated int
	Verified         bool
	// Errors are the calls that failed for good (the impatient call
	// excepted).
	Errors []error
	// Impatient is the call that would not wait for a slot.
	Impatient Impatient
	// Sent, RateLimited and Retries are the transport's totals; Waits how
	// many requests waited at least minWait for a slot (counted by the
	// OnWait hook).
	Sent, RateLimited, Retries, Waits int64
	// Routes are the transport's figures per route scope, sorted.
	Routes []Route
	// Virtual and Real are the elapsed time on the API's clock and on the
	// wall clock.
	Virtual, Real time.Duration
}

// Route is one route scope's figures.
type Route struct {
	// Name is the route template ("*" for the default pool).
	Name string
	pacer.ScopeStats
	// Waited is how many of its requests waited at least minWait for a
	// slot (the OnWait hook's count).
	Waited int64
	// MaxInWindow is the most requests the embedded API accepted in one
	// window of the route's limit (0 for a real API).
	MaxInWindow int
}

func (s *Summary) fill(st pacer.Stats, j *journal, e env, leads []campaigns.Lead) {
	tot := demo.Sum(st)
	s.Sent, s.RateLimited, s.Retries = tot.Sent, tot.RateLimited, tot.Retries
	j.mu.Lock()
	s.Created, s.Errors = len(j.created), append([]error(nil), j.errs...)
	waits := maps.Clone(j.waits)
	j.mu.Unlock()
	s.Lost = s.Leads - s.Created
	if e.fake != nil {
		emails := make([]string, len(leads))
		for i, l := range leads {
			emails[i] = l.Email
		}
		s.Lost, s.Duplicated = e.fake.check(emails)
		s.Verified = true
	}
	for scope, ss := range st.Scopes {
		r := Route{Name: routeOf(scope), ScopeStats: ss}
		r.Waited = waits[r.Name]
		s.Waits += r.Waited
		if e.api.Server != nil {
			r.MaxInWindow = e.api.Server.Evidence().MaxInWindow(limitName(r.Name))
		}
		s.Routes = append(s.Routes, r)
	}
	sort.Slice(s.Routes, func(a, b int) bool { return s.Routes[a].Name < s.Routes[b].Name })
}

// routeOf is the route part of a scope "host key:hash ROUTE".
func routeOf(scope string) string {
	if _, rest, ok := strings.Cut(scope, " key:"); ok {
		if _, route, ok := strings.Cut(rest, " "); ok {
			return route
		}
	}
	return scope
}

// limitName is the embedded server's name for the limit of a route.
func limitName(route string) string {
	if route == "*" {
		return "default"
	}
	return route
}

// Route returns the figures of the named route, and false if it saw no
// request.
func (s Summary) Route(name string) (Route, bool) {
	for _, r := range s.Routes {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

// Print writes the per-route table and the summary.
func (s Summary) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\tsent\twaits\tp50 wait\tmax wait\t429s\tserver left\tbusiest window\t")
	for _, r := range s.Routes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%d/%d\t%d\t\n", r.Name, r.Sent, r.Waited,
			r.Waits.P50.Round(time.Second), r.Waits.Max.Round(time.Second), r.RateLimited,
			r.Server.Remaining, r.Server.Limit, r.MaxInWindow)
	}
	tw.Flush()
	source := "client-side results only"
	if s.Verified {
		source = "from the API's records"
	}
	fmt.Fprintf(w, "campaigns    %d listed, %d dashboard reads\n", s.Campaigns, s.Reads)
	fmt.Fprintf(w, "leads        %d added, %d acknowledged\n", s.Leads, s.Created)
	fmt.Fprintf(w, "lost         %d (%s)\n", s.Lost, source)
	if s.Verified {
		fmt.Fprintf(w, "duplicated   %d (%s)\n", s.Duplicated, source)
	}
	if imp := s.Impatient; imp.Err != nil {
		fmt.Fprintf(w, "rate-limit   1 *pacer.RateLimitError: told to retry after %s; retry succeeded: %t\n",
			imp.RetryAfter.Round(time.Second), imp.RetriedOK)
	}
	fmt.Fprintf(w, "requests     %d sent, %d 429s, %d retries, %d waited for a slot\n", s.Sent, s.RateLimited, s.Retries, s.Waits)
	for _, err := range s.Errors {
		fmt.Fprintf(w, "error        %v\n", err)
	}
	fmt.Fprintf(w, "elapsed      %s virtual, %s real\n", s.Virtual.Round(time.Second), s.Real.Round(10*time.Millisecond))
}

// OK reports whether every lead was created exactly once and no call failed
// for good.
func (s Summary) OK() bool {
	return s.Lost == 0 && s.Duplicated == 0 && len(s.Errors) == 0 && s.Created == s.Leads
}
