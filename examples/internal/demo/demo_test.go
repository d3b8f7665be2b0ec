package demo

import (
	"bytes"
	"flag"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMinDuration(t *testing.T) {
	for _, c := range []struct {
		requests, limit int
		window          time.Duration
		want            time.Duration
	}{
		{0, 100, time.Minute, 0},
		{100, 100, time.Minute, 0},
		{101, 100, time.Minute, time.Minute},
		{2000, 100, time.Minute, 19 * time.Minute},
		{2000, 1000, time.Hour, time.Hour},
		{10, 0, time.Minute, 0},
		{10, 5, 0, 0},
	} {
		assert.Equal(t, c.want, MinDuration(c.requests, c.limit, c.window), "%+v", c)
	}
}

func TestAutoScale(t *testing.T) {
	assert.Equal(t, 95.0, AutoScale(19*time.Minute, 12*time.Second, 10))
	assert.Equal(t, 10.0, AutoScale(0, 12*time.Second, 10), "never below min")
	assert.Equal(t, 3.0, AutoScale(time.Hour, 0, 3))
}

func TestSumAndLatestServer(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	st := pacer.Stats{Scopes: map[string]pacer.ScopeStats{
		"a": {Sent: 3, RateLimited: 1, Retries: 1, GivenUp: 0, Queued: 2,
			Server: pacer.RateLimit{Limit: 100, Remaining: 7}, ServerAt: t0},
		"b": {Sent: 5, Retries: 2, GivenUp: 1,
			Server: pacer.RateLimit{Limit: 100, Remaining: 4}, ServerAt: t0.Add(time.Second)},
		"c": {Sent: 1},
	}}
	assert.Equal(t, Totals{Sent: 9, RateLimited: 1, Retries: 3, GivenUp: 1, Queued: 2}, Sum(st))
	rl, ok := LatestServer(st)
	require.True(t, ok)
	assert.Equal(t, 4, rl.Remaining, "the most recent answer wins")
	_, ok = LatestServer(pacer.Stats{Scopes: map[string]pacer.ScopeStats{"c": {Sent: 1}}})
	assert.False(t, ok)
}

func TestStopwatchRunsOnTheScaledClock(t *testing.T) {
	clk := pacertest.NewScaledClock(1000)
	w := StartStopwatch(clk)
	ch, _ := clk.NewTimer(2 * time.Second) // 2 ms of real time
	<-ch
	virtual, wall := w.Elapsed()
	assert.GreaterOrEqual(t, virtual, 2*time.Second)
	assert.Less(t, wall, virtual)
}

func TestEveryStopsAndWaits(t *testing.T) {
	calls := make(chan struct{}, 1)
	stop := Every(time.Millisecond, func() {
		select {
		case calls <- struct{}{}:
		default:
		}
	})
	<-calls // it runs
	stop()
	stop() // twice is fine
	select {
	case <-calls:
	default:
	}
	select {
	case <-calls:
		t.Fatal("called after stop")
	default:
	}
}

func TestSyncWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewSyncWriter(&buf)
	assert.Same(t, w, NewSyncWriter(w))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = w.Write([]byte("ab"))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1600, buf.Len())
}

func TestEmbeddedAPIVerifiesCreates(t *testing.T) {
	api := EmbeddedAPI(pacertest.SlidingHourPerKey(), 100, "/api/v1/leads", "api", 1000, time.Hour)
	defer api.Close()
	tr := pacer.NewTransport(nil, pacer.WithClock(api.Clock))
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	require.NoError(t, api.PostJSON(t.Context(), c, map[string]string{"id": "x"}, nil))
	check := api.Verify([]string{"x", "y"}, 0)
	assert.Equal(t, Check{Lost: 1, Duplicated: 0, MaxInWindow: 1, Verified: true}, check,
		"the server's evidence, not the client's count")
	assert.Equal(t, "from the embedded API's evidence", check.Source())

	check = RealAPI("http://127.0.0.1:1", "/x", "", "", 1, time.Second).Verify([]string{"x", "y"}, 2)
	assert.Equal(t, Check{Lost: 2}, check, "a real API's records cannot be checked")
	assert.Equal(t, "client-side results only", check.Source())
}

func TestRealFlags(t *testing.T) {
	var r Real
	fs := flag.NewFlagSet("journey", flag.ContinueOnError)
	r.DefineFlags(fs, "create endpoint")
	require.NoError(t, fs.Parse([]string{"-url", "https://api.example.com", "-path", "/v1/leads",
		"-key", "k", "-limit", "100", "-window", "1m"}))
	assert.Equal(t, Real{URL: "https://api.example.com", Path: "/v1/leads", Key: "k", KeyHeader: "X-API-Key",
		Limit: 100, Window: time.Minute}, r, "-key-header defaults to X-API-Key")
	assert.Equal(t, "real API: create endpoint", fs.Lookup("path").Usage)

	api := r.API()
	assert.Nil(t, api.Server, "a real API")
	assert.Equal(t, RealAPI("https://api.example.com", "/v1/leads", "k", "X-API-Key", 100, time.Minute), api)
}
