package pacertest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Evidence is a snapshot of what a Server saw, copied under its lock. It is a
// value: later requests do not change it. Callers should not compare
// Evidence values with reflect.DeepEqual; compare the fields they need.
type Evidence struct {
	// Accepted counts requests let through to the application, including
	// those the limiter let through uncounted (FailedOpen).
	Accepted int
	// Rejected counts 429 responses.
	Rejected int
	// Failed counts 503 responses (Faults.Fail503 and outages).
	Failed int
	// FailedOpen counts requests the limiter let through uncounted and
	// without rate-limit headers (Faults.DropHeaders).
	FailedOpen int
	// Dropped counts connections closed after a create without an answer
	// (Faults.ResetAfterCommit).
	Dropped int

	// Windows holds, for every limit and scope key that saw a request, the
	// most requests ever accepted inside one window of that limit: any
	// interval of length Window for a sliding limit, any aligned window for
	// a fixed one. MaxInWindow <= Requests is the proof that the limit held.
	Windows []WindowEvidence

	// Created counts the distinct items the items API created.
	Created int
	// CreatedTwice lists, sorted, the ids created more than once.
	CreatedTwice []string

	// Series counts outcomes per span of server time, oldest first, for
	// plots. Buckets start one second wide and double in width (merging
	// pairs) whenever the run outgrows 4096 buckets, so memory stays bounded.
	Series []Bucket

	created map[string]int
}

// WindowEvidence is what one limit saw for one scope key.
type WindowEvidence struct {
	// Name is the limit's name (Limit.Name or the derived one).
	Name string
	// Route is "" for a global limit, the route pattern for a route limit,
	// or "default" for Config.DefaultRouteLimits.
	Route string
	// Key is the scope key: the API key, organisation or IP ("" for Global).
	Key string
	// Limit is the limit as configured (with Name filled in).
	Limit Limit
	// MaxInWindow is the most requests accepted inside one window.
	MaxInWindow int
}

// Bucket counts the outcomes of the requests that arrived in
// [Start, Start+Width) of server time.
type Bucket struct {
	Start                      time.Time
	Width                      time.Duration
	Accepted, Rejected, Failed int
}

// Missing returns, in their given order, the ids that were never created.
func (e Evidence) Missing(ids []string) []string {
	var out []string
	for _, id := range ids {
		if e.created[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// CreatedCount returns how many times the item id was created.
func (e Evidence) CreatedCount(id string) int { return e.created[id] }

// MaxInWindow returns the largest MaxInWindow over every scope key of the
// limits named name, or 0 if none saw a request.
func (e Evidence) MaxInWindow(name string) int {
	m := 0
	for _, w := range e.Windows {
		if w.Name == name {
			m = max(m, w.MaxInWindow)
		}
	}
	return m
}

// outcome classifies a response for the counters and the series.
type outcome int

const (
	accepted outcome = iota
	rejected
	failed
)

// maxBuckets bounds the length of the series.
const maxBuckets = 4096

// recorder accumulates counters and the series. It is not safe for
// concurrent use; the Server's mutex guards it.
type recorder struct {
	counts     [3]int // by outcome
	failedOpen int
	dropped    int
	origin     time.Time
	width      time.Duration
	buckets    [][3]int
}

func newRecorder(origin time.Time) *recorder {
	return &recorder{origin: origin, width: time.Second}
}

// record counts one request with outcome o at now.
func (r *recorder) record(o outcome, now time.Time) {
	r.counts[o]++
	i := fixedIndex(now.Sub(r.origin), r.width)
	if i < 0 {
		i = 0
	}
	for i >= maxBuckets {
		r.coarsen()
		i /= 2
	}
	for int64(len(r.buckets)) <= i {
		r.buckets = append(r.buckets, [3]int{})
	}
	r.buckets[i][o]++
}

// coarsen doubles the bucket width, merging pairs of buckets.
func (r *recorder) coarsen() {
	merged := r.buckets[:0]
	for j := 0; j < len(r.buckets); j += 2 {
		b := r.buckets[j]
		if j+1 < len(r.buckets) {
			for o := range b {
				b[o] += r.buckets[j+1][o]
			}
		}
		merged = append(merged, b)
	}
	r.buckets, r.width = merged, r.width*2
}

// series returns the buckets as Bucket values.
func (r *recorder) series() []Bucket {
	out := make([]Bucket, len(r.buckets))
	for i, b := range r.buckets {
		out[i] = Bucket{
			Start: r.origin.Add(time.Duration(i) * r.width), Width: r.width,
			Accepted: b[accepted], Rejected: b[rejected], Failed: b[failed],
		}
	}
	return out
}

// windows returns the evidence of every pool of every policy.
func (l *limiter) windows() []WindowEvidence {
	var out []WindowEvidence
	for _, p := range l.all {
		keys := make([]string, 0, len(p.pools))
		for k := range p.pools {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, WindowEvidence{
				Name: p.Name, Route: p.route, Key: k, Limit: p.Limit,
				MaxInWindow: p.pools[k].maxSeen,
			})
		}
	}
	return out
}

// fillCreated sets the created-item fields of e from counts (owned by e).
func (e *Evidence) fillCreated(counts map[string]int) {
	e.created = counts
	e.Created = len(counts)
	for id, n := range counts {
		if n > 1 {
			e.CreatedTwice = append(e.CreatedTwice, id)
		}
	}
	slices.Sort(e.CreatedTwice)
}

// String summarises e on a few lines, for test failure messages:
//
//	require.Empty(t, ev.CreatedTwice, "%v", ev)
func (e Evidence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "accepted=%d rejected=%d failed=%d failedOpen=%d dropped=%d created=%d createdTwice=%d",
		e.Accepted, e.Rejected, e.Failed, e.FailedOpen, e.Dropped, e.Created, len(e.CreatedTwice))
	for _, w := range e.Windows {
		fmt.Fprintf(&b, "\n  %s[%s]: max %d in one %s window (limit %d)",
			w.Name, w.Key, w.MaxInWindow, w.Limit.Kind, w.Limit.Requests)
	}
	return b.String()
}
