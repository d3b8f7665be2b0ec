package main

import (
	"bytes"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/pacertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSuiteTiny runs a tiny version of every workload through every
// contender and checks what must hold whatever the machine's speed: the
// accounting adds up, pacer with idempotency keys neither loses nor
// duplicates an item, and the report and the timeline render.
func TestSuiteTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers for a few seconds")
	}
	p := tinyProfile()
	r := runSuite(p, nil, io.Discard)

	checkBulk(t, p, r.bulk)
	checkBurst(t, p, r.burst)
	checkMixed(t, r.mixed)
	checkFaults(t, r.faults)
	checkOverload(t, r.overload)
	checkOverhead(t, r)
	checkDocs(t, r)
}

func checkBulk(t *testing.T, p profile, rs []bulkResult) {
	require.Len(t, rs, len(p.bulk)*len(contenders()))
	for _, b := range rs {
		assert.Equal(t, p.bulk[b.api].n, b.n, b.contender)
		assert.GreaterOrEqual(t, b.sent, b.n-b.lost, "%s: every created item took a request", b.contender)
		assert.Positive(t, b.minimum, b.contender)
		assert.Positive(t, b.wall, b.contender)
		assert.LessOrEqual(t, b.lost, b.errors, "%s: a lost item is a failed call", b.contender)
		if b.contender == pacerConfigured {
			assert.Zero(t, b.lost, "pacer configured lost items")
			assert.Zero(t, b.dup, "pacer configured duplicated items")
		}
	}
}

func checkBurst(t *testing.T, p profile, rs []burstResult) {
	require.Len(t, rs, len(p.burst)*len(contenders()))
	for _, b := range rs {
		assert.Len(t, p.burst[b.api].arrivals(apiByName(b.api)), b.events, b.contender)
		assert.GreaterOrEqual(t, b.sent, b.events-b.lost, b.contender)
		if b.errors < b.events {
			assert.True(t, b.p50 <= b.p99 && b.p99 <= b.max && b.p50 > 0, "%s: %v %v %v", b.contender, b.p50, b.p99, b.max)
		}
	}
}

func checkMixed(t *testing.T, rs []mixedResult) {
	require.Len(t, rs, len(contenders()))
	for _, m := range rs {
		for _, a := range m.achieved {
			// The server never lets more than the limit through.
			assert.True(t, a >= 0 && a <= 1, "%s achieved %v", m.contender, m.achieved)
		}
		assert.Positive(t, m.sent, m.contender)
	}
}

func checkFaults(t *testing.T, rs []faultsResult) {
	require.Len(t, rs, len(faultScenarios())*len(contenders()))
	for _, f := range rs {
		assert.GreaterOrEqual(t, f.calls, f.n, "%s %s", f.scenario, f.contender)
		assert.GreaterOrEqual(t, f.sent, f.calls, "%s %s: every call sent a request", f.scenario, f.contender)
		switch f.contender {
		case pacerConfigured, pacerZero:
			// pacer never repeats a create whose answer was lost (unless
			// an idempotency key makes that safe), and the caller looks
			// the item up before creating it again.
			assert.Zero(t, f.lost, "%s: %s lost items", f.scenario, f.contender)
			assert.Zero(t, f.dup, "%s: %s duplicated items", f.scenario, f.contender)
		case "go-retryablehttp":
			// It retries a create whose connection was reset: the server
			// committed it, so every reset makes a duplicate.
			if f.dropped > 0 {
				assert.Positive(t, f.dup, "%s: retryablehttp retried a reset create", f.scenario)
			}
		}
	}
}

func checkOverload(t *testing.T, rs []overloadResult) {
	require.Len(t, rs, len(overloadContenders()))
	for _, o := range rs {
		assert.Positive(t, o.inOutage, "%s sent nothing during the storm", o.contender)
		assert.GreaterOrEqual(t, o.recovery, time.Duration(0), "%s never recovered", o.contender)
		assert.GreaterOrEqual(t, o.sent, o.events-o.lost, o.contender)
	}
}

func checkOverhead(t *testing.T, r results) {
	require.Len(t, r.overhead, len(contenders())+1)
	assert.Equal(t, bare.name, r.overhead[0].contender)
	for _, o := range r.overhead {
		assert.Positive(t, o.rps, o.contender)
		assert.Positive(t, o.allocsPerReq, o.contender)
		assert.Zero(t, o.errors, o.contender)
	}
	require.Len(t, r.roundTrip, 2)
	for _, b := range r.roundTrip {
		assert.False(t, b.benchmarkError, b.name)
		assert.Positive(t, b.nsPerOp, b.name)
	}
}

func checkDocs(t *testing.T, r results) {
	dir := t.TempDir()
	require.NoError(t, writeDocs(dir, r, "go test"))
	md := readFile(t, dir+"/benchmarks.md")
	for _, h := range []string{"## Targets", "## Method", "## Bulk import", "## Burst", "## Mixed endpoints",
		"## Overhead", "## Faults", "### Overload", "## Analysis"} {
		assert.Contains(t, md, h)
	}
	for _, ct := range contenders() {
		assert.Contains(t, md, "| "+ct.name+" |")
	}
	img, err := png.Decode(strings.NewReader(readFile(t, dir+"/timeline.png")))
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 500)

	// Further timelines go to timeline-<api>.png; one whose API had no
	// bulk run is left out, picture and reference.
	r2 := r
	r2.profile.timelines = []string{"lupitor", "lumail"}
	dir2 := t.TempDir()
	require.NoError(t, writeDocs(dir2, r2, "go test"))
	img, err = png.Decode(strings.NewReader(readFile(t, dir2+"/timeline-lumail.png")))
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 500)
	md2 := readFile(t, dir2+"/benchmarks.md")
	assert.Contains(t, md2, "(timeline-lumail.png)")
	assert.NotContains(t, md2, "(timeline.png)")
	assert.NoFileExists(t, dir2+"/timeline.png")

	// A rerun keeps the hand-written analysis.
	var again bytes.Buffer
	writeReport(&again, r, "go test", keptAnalysis(strings.Replace(md, analysisEnd, "kept words\n"+analysisEnd, 1)))
	assert.Contains(t, again.String(), "kept words")
}

func TestMinimumTime(t *testing.T) {
	sliding := func(n int, w time.Duration) pacertest.Limit { return pacertest.Limit{Requests: n, Window: w} }
	fixed := func(n int, w time.Duration) pacertest.Limit {
		return pacertest.Limit{Requests: n, Window: w, Kind: pacertest.Fixed}
	}
	cases := []struct {
		name   string
		limits []pacertest.Limit
		n      int
		offset time.Duration
		want   time.Duration
	}{
		{"within one window", []pacertest.Limit{sliding(100, time.Minute)}, 100, 0, 0},
		{"sliding (ceil(N/L)-1)·W", []pacertest.Limit{sliding(1000, time.Hour)}, 3100, 0, 3 * time.Hour},
		{"sliding exact multiple", []pacertest.Limit{sliding(20, time.Minute)}, 60, 0, 2 * time.Minute},
		{"fixed from the window start", []pacertest.Limit{fixed(100, time.Minute)}, 310, 0, 3 * time.Minute},
		{"fixed, run starts 10 s in", []pacertest.Limit{fixed(100, time.Minute)}, 310, 10 * time.Second, 170 * time.Second},
		{"sliding, offset changes nothing", []pacertest.Limit{sliding(100, time.Minute)}, 310, 10 * time.Second, 3 * time.Minute},
		{"minute and hour: the hour binds", []pacertest.Limit{fixed(100, time.Minute), fixed(1000, time.Hour)}, 1100, 0, time.Hour},
		{"minute and hour: the minute binds", []pacertest.Limit{fixed(100, time.Minute), fixed(1000, time.Hour)}, 310, 0, 3 * time.Minute},
		{"no limit", nil, 500, 0, 0},
		{"nothing to send", []pacertest.Limit{sliding(1, time.Second)}, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, minimumTime(c.limits, c.n, c.offset))
		})
	}
}

func TestLimitsFor(t *testing.T) {
	names := func(ls []pacertest.Limit) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	assert.Equal(t, []string{"api"}, names(limitsFor(pacertest.SlidingHourPerKey(), "POST", "/api/v1/leads")))
	assert.Equal(t, []string{"health"}, names(limitsFor(pacertest.SlidingHourPerKey(), "GET", "/api/health")))
	ep := pacertest.PerEndpointWindows()
	assert.Equal(t, []string{"GET /v1/campaigns/:id"}, names(limitsFor(ep, "GET", "/v1/campaigns/c1")))
	assert.Equal(t, []string{"GET /v1/campaigns/:id/statistics"}, names(limitsFor(ep, "GET", "/v1/campaigns/c1/statistics")))
	assert.Equal(t, []string{"default"}, names(limitsFor(ep, "POST", "/v1/campaigns/c1")))
	assert.Equal(t, []string{"minute", "hour"}, names(limitsFor(pacertest.OrgMinuteAndHour(), "POST", "/x")))
}

func TestQuantileAndMedian(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	assert.Equal(t, time.Duration(3), quantile(ds, 0.5))
	assert.Equal(t, time.Duration(5), quantile(ds, 0.99))
	assert.Equal(t, time.Duration(1), quantile(ds, 0))
	assert.Zero(t, quantile(nil, 0.5))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	assert.Equal(t, 3.0, median([]float64{3, 9, 1}))
}

func TestArrivals(t *testing.T) {
	a := lumail() // 100 per minute
	at := burstSpec{over: 1, half: 2}.arrivals(a)
	require.Len(t, at, 200+100)
	assert.Equal(t, 300*time.Millisecond, at[1]-at[0], "twice the limit: 200 per minute")
	assert.Equal(t, time.Minute, at[200], "the half phase starts after one window")
	assert.Equal(t, 1200*time.Millisecond, at[201]-at[200], "half the limit: 50 per minute")
}

// BenchmarkRoundTrip compares one GET through the full pacer transport
// (retry engine, budget store, header parsing, tracker) with one through a
// bare http.Transport on loopback; read the sub-benchmarks as a ratio.
func BenchmarkRoundTrip(b *testing.B) {
	srv := newUnlimitedServer()
	defer srv.Close()
	for _, rt := range roundTrippers() {
		b.Run(rt.name, func(b *testing.B) {
			tr := rt.rt()
			defer tr.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			benchRoundTrip(b, tr, srv.URL)
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestIssue14Targets(t *testing.T) {
	burst := func(api, contender string, p50 time.Duration, errors, rejected int) burstResult {
		return burstResult{api: api, contender: contender, events: 1000, sent: 1000 + rejected, rejected: rejected, errors: errors, p50: p50}
	}
	for _, c := range []struct {
		name       string
		r          results
		fixed, hdr bool
	}{
		{"configured as fast, nothing failed", results{burst: []burstResult{
			burst("lumail", pacerZero, 3*time.Second, 0, 0), burst("lumail", pacerConfigured, 3*time.Second, 0, 0),
			burst("lumar", pacerZero, time.Second, 0, 10),
		}}, true, true},
		{"configured slower, a failed event", results{burst: []burstResult{
			burst("lumail", pacerZero, 3*time.Second, 0, 0), burst("lumail", pacerConfigured, 5*time.Second, 0, 0),
			burst("lumar", pacerZero, time.Second, 1, 0),
		}}, false, false},
		{"a tie to 0.1 s", results{burst: []burstResult{
			burst("demeterrr", pacerZero, 38157*time.Millisecond, 0, 0), burst("demeterrr", pacerConfigured, 38186*time.Millisecond, 0, 0),
		}}, true, true},
		{"slower by 0.1 s", results{burst: []burstResult{
			burst("demeterrr", pacerZero, 38100*time.Millisecond, 0, 0), burst("demeterrr", pacerConfigured, 38200*time.Millisecond, 0, 0),
		}}, false, true},
		{"429s over 1%", results{burst: []burstResult{burst("lumar", pacerZero, time.Second, 0, 11)}}, true, false},
		{"sliding presets are not judged on latency", results{burst: []burstResult{
			burst("lupitor", pacerZero, 3*time.Second, 0, 0), burst("lupitor", pacerConfigured, 5*time.Second, 0, 0),
		}}, true, true},
	} {
		f, h := fixedWindowLatency(c.r), headerlessZero(c.r)
		assert.Equal(t, c.fixed, f.met, "%s: fixed-window latency: %s", c.name, f.measured)
		assert.Equal(t, c.hdr, h.met, "%s: header-less: %s", c.name, h.measured)
	}
	slow := results{bulk: []bulkResult{{api: "lumar", contender: pacerZero, n: 100, sent: 100, minimum: 91 * time.Second, wall: 100 * time.Second}}}
	assert.False(t, headerlessZero(slow).met, "bulk efficiency 0.91")
}
