package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/stretchr/testify/assert"
)

// The real-limiter suite (issue 15): real rate-limiting middleware, each
// allowing 20 requests per second per client IP, in front of a recording
// handler on 127.0.0.1; the workload (70 creates by 8 workers) runs through
// pacer zero-config, pacer configured and go-retryablehttp, every run against
// its own fresh limiter. Run with -v to see the table and the headers around
// every run's first 429s (PACER_INTEROP_TRACE=1: every answer); set
// PACER_INTEROP_REPORT=FILE to have the table written to FILE as well
// (docs/benchmarks.md quotes one); PACER_INTEROP_ONLY=REGEXP runs only the
// limiter × client pairs whose name matches.

const (
	suiteTimeout = 90 * time.Second // every run and rerun, and the servers' logs
	runTimeout   = 40 * time.Second // one run's calls: those still open then fail
)

// expect is what a run must achieve; a negative field is not checked.
type expect struct {
	max429, maxFailed int
	minEfficiency     float64
}

// expectations: what pacer achieves today against each limiter (see
// docs/benchmarks.md, "Real rate limiters (interop/)"). Every pacer run must
// also create every item exactly once; go-retryablehttp is measured, not
// checked. Where pacer zero-config falls short of issue 15's efficiency
// target (≥ 0.95 wherever headers are sent) the figure asserted here is
// today's, and docs/benchmarks.md says why.
//
// The efficiency bounds leave room for a shared two-core machine: typical
// figures are in docs/benchmarks.md (0.94–0.98 against the fixed windows and
// httprate, where 0.85 is asserted).
var expectations = map[string]expect{
	// ulule/limiter's X-RateLimit-Reset is the window's end truncated to the
	// second; the store reads such a reset as a second long and anchors each
	// window at the answer that opened it (internal/memstore/resets.go), so
	// zero-config pacer no longer sends before the window ends.
	key(goMiddlewares[0].name, "pacer (zero config)"): {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	key(goMiddlewares[0].name, "pacer (configured)"):  {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	// httprate weighs the previous window: after a burst it admits about one
	// request per 50 ms, while its answers say Remaining 0 until its
	// (truncated) reset. The store learns that its windows slide from the
	// first look past a used-up window and runs the counter itself
	// (internal/memstore/slide.go): 20/19/19/12 a second, ~0.97.
	key(goMiddlewares[1].name, "pacer (zero config)"): {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	key(goMiddlewares[1].name, "pacer (configured)"):  {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	// Joined 600 ms into its window, the turn comes 400 ms after the run's
	// first burst, but the truncated reset only says "within the second":
	// refused-free, the first turn costs up to that second (~0.88).
	key(goMiddlewares[2].name, "pacer (zero config)"): {max429: 0, maxFailed: 0, minEfficiency: 0.65},
	key(goMiddlewares[2].name, "pacer (configured)"):  {max429: 0, maxFailed: 0, minEfficiency: 0.65},
	// throttled's GCRA refills one request per 50 ms; pacer waits for the
	// full bucket (Reset = s until full) instead: ~3.05 s against a 2.5 s
	// minimum.
	key(goMiddlewares[3].name, "pacer (zero config)"):  {max429: 0, maxFailed: 0, minEfficiency: 0.75},
	key(goMiddlewares[3].name, "pacer (configured)"):   {max429: 0, maxFailed: 0, minEfficiency: 0.75},
	key(expressName("draft-7"), "pacer (zero config)"): {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	key(expressName("draft-7"), "pacer (configured)"):  {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	key(expressName("draft-6"), "pacer (zero config)"): {max429: 0, maxFailed: 0, minEfficiency: 0.85},
	key(expressName("draft-6"), "pacer (configured)"):  {max429: 0, maxFailed: 0, minEfficiency: 0.85},
}

func key(limiter, client string) string { return limiter + " × " + client }

// run is one limiter × client combination: the first attempt is the
// measured one; an efficiency below its bound is measured again (at most
// maxReruns times, each against a fresh limiter) before it counts as a
// failure, since a busy shared machine can delay a run by a second.
type run struct {
	limiter, headers string
	c                contender
	fresh            func() target // a new server, its limiter cold
	attempts         []*result
}

const maxReruns = 2

func TestRealLimiters(t *testing.T) {
	// Node first: npm ci (when node_modules is missing) may take a while and
	// is not part of the suite's deadline.
	skipExpress := nodeMissing(t)
	if skipExpress == "" {
		npmCI(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()

	only := regexp.MustCompile(os.Getenv("PACER_INTEROP_ONLY"))
	var runs []*run
	for _, m := range goMiddlewares {
		for _, c := range contenders {
			if only.MatchString(key(m.name, c.name)) {
				runs = append(runs, &run{limiter: m.name, headers: m.headers, c: c,
					fresh: func() target { return startGoServer(t, m) }})
			}
		}
	}
	wantExpress := false
	for _, d := range expressDrafts {
		for _, c := range contenders {
			wantExpress = wantExpress || only.MatchString(key(expressName(d.draft), c.name))
		}
	}
	if skipExpress == "" && wantExpress {
		// An app per run and per possible rerun, each with its own limiter.
		drafts := map[string]string{}
		for _, d := range expressDrafts {
			for i := range len(contenders) * (1 + maxReruns) {
				drafts[fmt.Sprintf("%s-%d", d.draft, i)] = d.draft
			}
		}
		servers := startExpress(ctx, t, drafts)
		for _, d := range expressDrafts {
			next := 0
			fresh := func() target { next++; return servers[fmt.Sprintf("%s-%d", d.draft, next-1)] }
			for _, c := range contenders {
				if only.MatchString(key(expressName(d.draft), c.name)) {
					runs = append(runs, &run{limiter: expressName(d.draft), headers: d.headers, c: c, fresh: fresh})
				}
			}
		}
	}

	// Three runs at a time, each against its own server (PACER_INTEROP_PARALLEL
	// changes that): all fifteen at once on two cores with -race delay the
	// first requests by up to a second and so measure the machine, not the
	// client; one at a time takes a minute.
	par := 3
	if n, err := strconv.Atoi(os.Getenv("PACER_INTEROP_PARALLEL")); err == nil && n > 0 {
		par = n
	}
	pending := runs
	for attempt := 0; attempt <= maxReruns && len(pending) > 0; attempt++ {
		for _, r := range pending {
			r.attempts = append(r.attempts, &result{limiter: r.limiter, client: r.c.name, headers: r.headers})
		}
		// Each server is made when its run's turn comes, so that a limiter
		// whose windows are aligned to its creation (httprate) meets the
		// run at the phase its middleware entry says.
		sem := make(chan struct{}, par)
		var (
			wg      sync.WaitGroup
			freshMu sync.Mutex
		)
		for _, r := range pending {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				freshMu.Lock()
				tg := r.fresh()
				freshMu.Unlock()
				execute(ctx, tg, r.c, r.attempts[attempt])
			})
		}
		wg.Wait()
		var again []*run
		for _, r := range pending {
			if r.slow() {
				again = append(again, r)
			}
		}
		pending = again
	}

	for _, r := range runs {
		t.Run(key(r.limiter, r.c.name), func(t *testing.T) { check(t, r) })
	}
	if skipExpress != "" {
		for _, d := range expressDrafts {
			t.Run(expressName(d.draft), func(t *testing.T) { t.Skip(skipExpress) })
		}
	}

	table := reportTable(runs)
	t.Logf("\n%s", table)
	if path := os.Getenv("PACER_INTEROP_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// slow reports whether every attempt of r so far completed below its
// efficiency bound (and nothing else went wrong: that is not measured again).
func (r *run) slow() bool {
	e, ok := expectations[key(r.limiter, r.c.name)]
	if !ok || e.minEfficiency <= 0 {
		return false
	}
	for _, a := range r.attempts {
		if a.err != nil || a.missing > 0 || a.efficiency >= e.minEfficiency {
			return false
		}
	}
	return true
}

// execute runs the workload through a fresh client of c against tg and
// fills res.
func execute(ctx context.Context, tg target, c contender, res *result) {
	if d := time.Until(tg.notBefore); d > 0 {
		time.Sleep(d)
	}
	rtt, err := ping(ctx, tg.url)
	if err != nil {
		res.err = fmt.Errorf("ping: %w", err)
		return
	}
	client, closeIdle := c.newClient()
	defer closeIdle()
	rctx, cancel := context.WithTimeout(ctx, runTimeout)
	out := runWorkload(rctx, client, tg.url)
	cancel()
	out.rtt = rtt
	if tr, ok := client.Transport.(*pacer.Transport); ok {
		res.isPacer = true
		for scope, st := range tr.Stats().Scopes {
			res.pacerSent += int(st.Sent)
			res.pacer429 += int(st.RateLimited)
			res.pacerStats += fmt.Sprintf("scope %s: sent %d, 429s %d, retries %d, given up %d; last heard Limit %d, Remaining %d, Reset %s",
				scope, st.Sent, st.RateLimited, st.Retries, st.GivenUp, st.Server.Limit, st.Server.Remaining, st.Server.Reset.UTC().Format("15:04:05.000"))
		}
	}
	log, err := tg.logs()
	if err != nil {
		res.err = fmt.Errorf("server log: %w", err)
		return
	}
	measure(res, out, log, tg.minimum(items, out.start))
}

// check asserts r's expectation: every attempt must meet the counts (no
// duplicates, failures, 429s beyond the bound); the best attempt the
// efficiency bound.
func check(t *testing.T, r *run) {
	best := 0.0
	for i, a := range r.attempts {
		if i > 0 {
			t.Logf("rerun %d (the efficiency before was below the bound):", i)
		}
		checkAttempt(t, *a)
		best = max(best, a.efficiency)
	}
	if t.Failed() {
		return
	}
	if e := expectations[key(r.limiter, r.c.name)]; e.minEfficiency > 0 {
		assert.GreaterOrEqual(t, best, e.minEfficiency, "efficiency (the best of %d attempts)", len(r.attempts))
	}
}

func checkAttempt(t *testing.T, r result) {
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("wall %v, minimum %v, efficiency %.3f, sent %d, 429s %d, failed %d, missing %d, duplicated %d, admitted per second %s (most in any 1 s: %d)",
		r.wall.Round(time.Millisecond), r.minimum.Round(time.Millisecond), r.efficiency, r.sent, r.n429, r.failed, r.missing, r.dups,
		perSecondString(r.perSecond), r.maxIn1s)
	t.Logf("the server sends: %s", r.headers)
	t.Logf("timeline: %s", r.timeline)
	if r.pacerStats != "" {
		t.Logf("pacer's Stats: %s", r.pacerStats)
	}
	for _, f := range r.failures {
		t.Logf("failed: %s", f)
	}
	for _, a := range r.around429 {
		t.Logf("around a 429: %s", a)
	}
	if os.Getenv("PACER_INTEROP_TRACE") == "1" {
		t.Logf("every answer, in arrival order:\n%s", strings.Join(r.trace, "\n"))
	}
	if !r.isPacer {
		return // go-retryablehttp is measured, not checked
	}
	assert.Zero(t, r.dups, "duplicated items")
	assert.Equal(t, r.failed, r.missing, "a failed call created its item, or a successful one did not")
	assert.Equal(t, r.sent, r.pacerSent, "Stats().Sent against the requests the server received")
	assert.Equal(t, r.n429, r.pacer429, "Stats().RateLimited against the 429s the server sent")
	e, ok := expectations[r.name()]
	if !ok {
		t.Fatalf("no expectation for %q", r.name())
	}
	if e.max429 >= 0 {
		assert.LessOrEqual(t, r.n429, e.max429, "429s")
	}
	if e.maxFailed >= 0 {
		assert.LessOrEqual(t, r.failed, e.maxFailed, "failed items")
	}
}

// reportTable renders the first attempt of every run; reruns' efficiencies
// follow the first one's in brackets.
func reportTable(runs []*run) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d creates by %d workers per run, every run against its own limiter of %d per %v per client IP; %s/%s, %d CPUs, %s, %s.\n\n",
		items, workers, limitN, limitWindow, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| limiter | client | wall | minimum | efficiency | sent | 429s | failed | missing | duplicated | admitted per s |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, run := range runs {
		if len(run.attempts) == 0 {
			continue
		}
		r := run.attempts[0]
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | %s | error: %v |||||||||\n", r.limiter, r.client, r.err)
			continue
		}
		eff := fmt.Sprintf("%.3f", r.efficiency)
		if r.missing > 0 {
			eff = "– (missing items)"
		}
		for _, a := range run.attempts[1:] {
			eff += fmt.Sprintf(" (rerun: %.3f)", a.efficiency)
		}
		fmt.Fprintf(&b, "| %s | %s | %.3fs | %.3fs | %s | %d | %d | %d | %d | %d | %s |\n",
			r.limiter, r.client, r.wall.Seconds(), r.minimum.Seconds(), eff, r.sent, r.n429, r.failed, r.missing, r.dups, perSecondString(r.perSecond))
	}
	return b.String()
}
