package pacertest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/pacertest"
)

func TestFail503FractionIsSeeded(t *testing.T) {
	cfg := pacertest.Config{
		RetryAfter: pacertest.RetryAfterSeconds,
		Faults:     pacertest.Faults{Fail503: 0.3, Seed: 7},
	}
	run := func() ([]int, pacertest.Evidence) {
		srv, _ := start(t, cfg)
		return statuses(t, srv, 200, "/x", "k"), srv.Evidence()
	}
	first, ev := run()
	again, _ := run()
	assert.Equal(t, first, again, "the same seed gives the same faults")
	failed := 0
	for _, s := range first {
		if s == http.StatusServiceUnavailable {
			failed++
		} else {
			require.Equal(t, http.StatusOK, s)
		}
	}
	assert.InDelta(t, 60, failed, 30, "about 30%% of 200 requests")
	assert.Equal(t, failed, ev.Failed)
	assert.Equal(t, 200-failed, ev.Accepted)

	cfg.Faults.Seed = 8
	other, _ := run()
	assert.NotEqual(t, first, other, "another seed gives other faults")
}

func TestFail503CountsNothingCreatesNothing(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: 1, Window: time.Minute, Name: "l"}},
		RetryAfter: pacertest.RetryAfterSeconds,
		Faults:     pacertest.Faults{Fail503: 1, RetryAfter503: 2500 * time.Millisecond},
	})
	r := do(t, srv, "POST", "/items", "k", `{"id":"a"}`)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, int64(3), headerInt(t, r.header, "Retry-After"))
	ev := srv.Evidence()
	assert.Equal(t, []string{"a"}, ev.Missing([]string{"a"}))
	assert.Equal(t, 0, ev.MaxInWindow("l"))
	assert.Equal(t, 1, ev.Failed)
}

func TestOutageSwitch(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits: []pacertest.Limit{{Requests: 2, Window: time.Minute}},
	})
	assert.Equal(t, 200, get(t, srv, "/x", "k").status)
	srv.SetOutage(true)
	assert.Equal(t, repeat(503, 5), statuses(t, srv, 5, "/x", "k"))
	srv.SetOutage(false)
	// Failed requests did not use the limit: one slot is left.
	assert.Equal(t, []int{200, 429}, statuses(t, srv, 2, "/x", "k"))
	ev := srv.Evidence()
	assert.Equal(t, 5, ev.Failed)
	assert.Equal(t, 2, ev.Accepted)
	assert.Equal(t, 1, ev.Rejected)
}

func TestOutageFunc(t *testing.T) {
	srv, clk := start(t, pacertest.Config{
		Faults: pacertest.Faults{Outage: func(now time.Time) bool {
			return now.Before(t0.Add(10 * sec))
		}},
	})
	assert.Equal(t, 503, get(t, srv, "/x", "k").status)
	clk.Set(t0.Add(10 * sec))
	assert.Equal(t, 200, get(t, srv, "/x", "k").status)
}

func TestDropHeadersFailsOpen(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits:  []pacertest.Limit{{Requests: 3, Window: time.Minute, Name: "l"}},
		Headers: pacertest.XRateLimitUnix,
		Faults:  pacertest.Faults{DropHeaders: 0.5, Seed: 1},
	})
	var remaining []int64
	bare, rejected := 0, 0
	for range 40 {
		r := get(t, srv, "/x", "k")
		switch {
		case r.header.Get("X-RateLimit-Remaining") == "":
			require.Equal(t, 200, r.status, "a request the limiter failed open on passes")
			bare++
		case r.status == 200:
			remaining = append(remaining, headerInt(t, r.header, "X-RateLimit-Remaining"))
		default:
			require.Equal(t, 429, r.status)
			rejected++
		}
	}
	// Only the requests with headers were counted.
	assert.Equal(t, []int64{2, 1, 0}, remaining)
	ev := srv.Evidence()
	assert.Equal(t, bare, ev.FailedOpen)
	assert.Equal(t, 3+bare, ev.Accepted)
	assert.Equal(t, rejected, ev.Rejected)
	assert.Greater(t, bare, 3, "about half of 40 requests")
	// The evidence sees every accepted request: the limit did not hold.
	assert.Equal(t, 3+bare, ev.MaxInWindow("l"))
}

// inFlight sends a GET in the background and returns its outcome channel.
func inFlight(srv *pacertest.Server, path string) <-chan reply {
	out := make(chan reply, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			out <- reply{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		out <- reply{status: resp.StatusCode, header: resp.Header}
	}()
	return out
}

func TestLatencyIsServerClockTime(t *testing.T) {
	srv, clk := start(t, pacertest.Config{Faults: pacertest.Faults{Latency: 5 * sec}})
	res := inFlight(srv, "/x")
	require.True(t, clk.WaitForTimers(1, 10*time.Second), "the request never started waiting")
	clk.Advance(4 * sec)
	select {
	case r := <-res:
		t.Fatalf("answered before the latency passed: %+v", r)
	default:
	}
	clk.Advance(sec)
	r := <-res
	require.Equal(t, 200, r.status)
	date, err := http.ParseTime(r.header.Get("Date"))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(5*sec), date.UTC(), "handled after the delay")
}

func TestCloseAbortsLatencyAndLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, clk := start(t, pacertest.Config{Faults: pacertest.Faults{Latency: time.Hour}})
	res := inFlight(srv, "/x")
	require.True(t, clk.WaitForTimers(1, 10*time.Second))
	srv.Close() // must not wait for the hour
	r := <-res
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	srv.Close() // a second Close is harmless
}

// noReuse returns a client that opens a new connection per request, so that
// net/http never replays a request on a reused connection by itself.
func noReuse(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func post(c *http.Client, srv *pacertest.Server, body string, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequest("POST", srv.URL+"/items", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-API-Key", "k")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestResetAfterCommit(t *testing.T) {
	srv, _ := start(t, pacertest.Config{Faults: pacertest.Faults{ResetAfterCommit: 1}})
	c := noReuse(t)
	_, err := post(c, srv, `{"id":"a"}`)
	require.Error(t, err, "the client sees no answer")
	ev := srv.Evidence()
	assert.Empty(t, ev.Missing([]string{"a"}), "but the item exists")
	assert.Equal(t, 1, ev.Dropped)

	// A blind retry creates it again.
	_, err = post(c, srv, `{"id":"a"}`)
	require.Error(t, err)
	assert.Equal(t, []string{"a"}, srv.Evidence().CreatedTwice)

	// A retry with the same Idempotency-Key gets the stored answer.
	_, err = post(c, srv, `{"id":"b"}`, "Idempotency-Key", "key-b")
	require.Error(t, err)
	resp, err := post(c, srv, `{"id":"b"}`, "Idempotency-Key", "key-b")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	ev = srv.Evidence()
	assert.Equal(t, 1, ev.CreatedCount("b"))
	assert.Equal(t, 3, ev.Dropped)
	// GETs and non-creating POSTs are never dropped.
	assert.Equal(t, 200, get(t, srv, "/items", "k").status)
	assert.Equal(t, 200, do(t, srv, "POST", "/items", "k", `{"name":"no id"}`).status)
}

func TestResetAfterCommitFraction(t *testing.T) {
	srv, _ := start(t, pacertest.Config{Faults: pacertest.Faults{ResetAfterCommit: 0.5, Seed: 3}})
	c := noReuse(t)
	ids := make([]string, 40)
	errs := 0
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%d", i)
		if _, err := post(c, srv, `{"id":"`+ids[i]+`"}`); err != nil {
			errs++
		}
	}
	ev := srv.Evidence()
	assert.Equal(t, errs, ev.Dropped)
	assert.Greater(t, errs, 5)
	assert.Less(t, errs, 35)
	assert.Empty(t, ev.Missing(ids), "every dropped create still happened")
	assert.Equal(t, 40, ev.Created)
}
