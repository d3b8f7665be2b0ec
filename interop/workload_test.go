package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/pacerhq/pacer"
)

// The workload: items unique creates, each its own id, by workers workers,
// one logical call each (POST /items {"id": …}). POST with a client-chosen
// id makes a duplicate visible: the server counts creates per id.
const (
	items   = 70
	workers = 8
)

// contender is a client under test; newClient makes a fresh one per run,
// and a function that closes its idle connections.
type contender struct {
	name      string
	newClient func() (*http.Client, func())
}

var contenders = []contender{
	{"pacer (zero config)", func() (*http.Client, func()) {
		c := pacer.NewClient()
		return c, c.CloseIdleConnections
	}},
	{"pacer (configured)", func() (*http.Client, func()) {
		c := pacer.NewClient(pacer.WithBudget(limitN, limitWindow))
		return c, c.CloseIdleConnections
	}},
	{"go-retryablehttp", func() (*http.Client, func()) {
		c := retryablehttp.NewClient() // defaults: 4 retries, 1–30 s, Retry-After on 429/503
		c.Logger = nil
		// Its RoundTripper has no CloseIdleConnections: close the inner
		// client's.
		return c.StandardClient(), c.HTTPClient.CloseIdleConnections
	}},
}

// outcome is what the client saw of one run.
type outcome struct {
	start, end time.Time
	failed     int      // calls that returned an error or a non-2xx status
	failures   []string // the first few, for the log
	rtt        time.Duration
}

// ping measures the smallest round trip to the unlimited GET /ping.
func ping(ctx context.Context, url string) (time.Duration, error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	best := time.Duration(0)
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/ping", nil)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if d := time.Since(t0); best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// runWorkload sends the creates through client and waits for every answer
// (or ctx's end: calls still open then fail).
func runWorkload(ctx context.Context, client *http.Client, url string) outcome {
	ids := make(chan string, items)
	for i := range items {
		ids <- fmt.Sprintf("item-%03d", i)
	}
	close(ids)
	var (
		mu  sync.Mutex
		out outcome
		wg  sync.WaitGroup
	)
	fail := func(id, why string) {
		mu.Lock()
		defer mu.Unlock()
		out.failed++
		if len(out.failures) < 5 {
			out.failures = append(out.failures, id+": "+why)
		}
	}
	out.start = time.Now()
	for range workers {
		wg.Go(func() {
			for id := range ids {
				body := []byte(`{"id":"` + id + `"}`)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/items", bytes.NewReader(body))
				if err != nil {
					fail(id, err.Error())
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					fail(id, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 200 || resp.StatusCode > 299 {
					fail(id, resp.Status)
				}
			}
		})
	}
	wg.Wait()
	out.end = time.Now()
	return out
}

// result is one run's figures: the server's counts and the client's.
type result struct {
	limiter, client string
	headers         string // what the limiter sends
	pacerStats      string // pacer's own figures (Transport.Stats), for pacer runs
	isPacer         bool
	pacerSent       int // Stats: attempts sent, and 429s received
	pacer429        int
	wall, minimum   time.Duration
	efficiency      float64
	sent, n429      int
	failed          int
	missing, dups   int
	perSecond       []int // admitted per second since the first arrival
	maxIn1s         int   // most admitted in any 1 s
	failures        []string
	around429       []string // headers of the first 429s and the answer before each
	timeline        string   // when the server saw the run's milestones, from the client's start
	trace           []string // every answer (logged with PACER_INTEROP_TRACE=1)
	err             error    // the run could not be measured
}

func (r result) name() string { return key(r.limiter, r.client) }

// measure folds a run's outcome and the server's log into a result.
func measure(r *result, out outcome, log serverLog, minimum time.Duration) {
	r.wall = out.end.Sub(out.start)
	r.minimum = minimum + out.rtt
	r.failed, r.failures = out.failed, out.failures
	ev := append([]event(nil), log.Events...)
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].At.Before(ev[j].At) })
	r.sent = len(ev)
	var admitted []time.Time
	for i, e := range ev {
		r.trace = append(r.trace, describe(e, ev[0].At))
		switch {
		case e.Status == http.StatusTooManyRequests:
			r.n429++
			if len(r.around429) < 6 {
				if i > 0 && ev[i-1].Status != http.StatusTooManyRequests {
					r.around429 = append(r.around429, describe(ev[i-1], ev[0].At))
				}
				r.around429 = append(r.around429, describe(e, ev[0].At))
			}
		case e.Status >= 200 && e.Status <= 299:
			admitted = append(admitted, e.At)
		}
	}
	for i := range items {
		switch n := log.Creates[fmt.Sprintf("item-%03d", i)]; {
		case n == 0:
			r.missing++
		case n > 1:
			r.dups++
		}
	}
	if len(admitted) > 0 {
		first := admitted[0]
		for _, at := range admitted {
			s := int(at.Sub(first) / time.Second)
			for len(r.perSecond) <= s {
				r.perSecond = append(r.perSecond, 0)
			}
			r.perSecond[s]++
		}
		ms := func(at time.Time) int64 { return at.Sub(out.start).Milliseconds() }
		r.timeline = fmt.Sprintf("first arrival +%dms", ms(ev[0].At))
		for _, k := range []int{1, limitN, limitN + 1, 2 * limitN, 2*limitN + 1, 3 * limitN, 3*limitN + 1, len(admitted)} {
			if k <= len(admitted) {
				r.timeline += fmt.Sprintf(", create %d +%dms", k, ms(admitted[k-1]))
			}
		}
		r.timeline += fmt.Sprintf(", last answer +%dms", ms(out.end))
		for i, j := 0, 0; j < len(admitted); j++ {
			for admitted[j].Sub(admitted[i]) >= time.Second {
				i++
			}
			r.maxIn1s = max(r.maxIn1s, j-i+1)
		}
	}
	if r.missing == 0 && r.wall > 0 {
		r.efficiency = float64(r.minimum) / float64(r.wall)
	}
}

// describe prints one answer: ms since the run's first arrival, status, the
// rate-limit headers (sorted).
func describe(e event, t0 time.Time) string {
	keys := make([]string, 0, len(e.Header))
	for k := range e.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	fmt.Fprintf(&b, "+%dms %d", e.At.Sub(t0).Milliseconds(), e.Status)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, e.Header[k])
	}
	fmt.Fprintf(&b, " (arrived %s)", e.At.UTC().Format("15:04:05.000"))
	return b.String()
}

func perSecondString(xs []int) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strconv.Itoa(x))
	}
	return b.String()
}
