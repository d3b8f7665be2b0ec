package interop

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Theoretical minimum times: with zero latency, the fastest a client can
// complete n requests is the greedy schedule that sends each request the
// moment the limiter admits it. A run's minimum adds one measured round trip
// (the answer to the last request).

// minFixedFromFirst is the minimum for a fixed window of limit per window
// that starts at a key's first request (ulule/limiter's and
// express-rate-limit's memory stores): limit at once, the next limit when the
// window expires, ... the last batch (ceil(n/limit)-1) windows after the first.
func minFixedFromFirst(n, limit int, window time.Duration) time.Duration {
	batches := (n + limit - 1) / limit
	return time.Duration(batches-1) * window
}

// minGCRA is the minimum for a GCRA bucket of burst requests that refills one
// request every interval (throttled's PerSec(20) with MaxBurst 19: 20 at
// once, then one every 50 ms): the request burst+k goes out k intervals after
// the first.
func minGCRA(n, burst int, interval time.Duration) time.Duration {
	return time.Duration(max(0, n-burst)) * interval
}

// minSlidingCounter simulates go-chi/httprate's sliding-window counter for a
// greedy client starting at start: windows of length window aligned to
// offset (the limiter's creation instant modulo window); a request at t, diff
// into its window, is admitted when round(prev*(window-diff)/window + curr)
// + 1 <= limit, and only admitted requests are counted.
func minSlidingCounter(n, limit int, window, offset time.Duration, start time.Time) time.Duration {
	const step = 100 * time.Microsecond
	windowOf := func(t time.Time) time.Time { return t.Add(-offset).Truncate(window).Add(offset) }
	counts := map[time.Time]int{}
	t, last := start, start
	for sent := 0; sent < n; {
		cw := windowOf(t)
		diff := t.Sub(cw)
		rate := float64(counts[cw.Add(-window)])*float64(window-diff)/float64(window) + float64(counts[cw])
		if int(math.Round(rate))+1 <= limit {
			counts[cw]++
			sent++
			last = t
			continue
		}
		t = t.Add(step)
	}
	return last.Sub(start)
}

func TestMinimum(t *testing.T) {
	assert.Equal(t, 3*time.Second, minFixedFromFirst(70, 20, time.Second))
	assert.Equal(t, 2*time.Second, minFixedFromFirst(60, 20, time.Second))
	assert.Equal(t, 2500*time.Millisecond, minGCRA(70, 20, 50*time.Millisecond))
	assert.Equal(t, time.Duration(0), minGCRA(10, 20, 50*time.Millisecond))

	// Starting at a window's start: 20 at once, none more in that window,
	// then ~20 per window from 25 ms into each (round(19.5) is 20), the 70th
	// at about 3 s + 475 ms.
	base := time.Unix(1_700_000_000, 0)
	got := minSlidingCounter(70, 20, time.Second, 0, base)
	assert.InDelta(t, 3.475, got.Seconds(), 0.01)
	// Starting 900 ms into the window, the next window comes sooner.
	got = minSlidingCounter(70, 20, time.Second, 0, base.Add(900*time.Millisecond))
	assert.InDelta(t, 2.575, got.Seconds(), 0.01)
	// The offset shifts the windows: the same start is now 900 ms in.
	got = minSlidingCounter(70, 20, time.Second, 100*time.Millisecond, base)
	assert.InDelta(t, 2.575, got.Seconds(), 0.01)
}

// TestMinimumMatchesRealLimiters checks each Go limiter's minimum against
// the limiter itself: a greedy client (one request at a time, the next one
// 2 ms after a 429, at once after a success) completes the creates no sooner
// than the minimum says, and not much later.
func TestMinimumMatchesRealLimiters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type got struct {
		name       string
		took, want time.Duration
		sent       int
		err        error
		skip       bool
	}
	results := make([]got, len(goMiddlewares))
	var wg sync.WaitGroup
	for i, m := range goMiddlewares {
		if m.joinAfter > 0 {
			// The same limiter and minimum as an entry checked here; and
			// one more greedy client at once only loads the machine: the
			// real httprate then once admitted 14 ms ahead of its minimum
			// (likely its race: it reads the clock for a request's window
			// before it takes its lock, and a turn in between clears its
			// counts).
			results[i] = got{name: m.name, skip: true}
			continue
		}
		tg := startGoServer(t, m)
		wg.Go(func() {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			r := got{name: m.name}
			defer func() { results[i] = r }()
			start := time.Now()
			var last time.Time
			for created := 0; created < items; {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.url+"/items",
					strings.NewReader(fmt.Sprintf(`{"id":"item-%03d"}`, created)))
				if err != nil {
					r.err = err
					return
				}
				resp, err := c.Do(req)
				if err != nil {
					r.err = err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.sent++
				switch resp.StatusCode {
				case http.StatusCreated:
					created++
					last = time.Now()
				case http.StatusTooManyRequests:
					time.Sleep(2 * time.Millisecond)
				default:
					r.err = fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			r.took, r.want = last.Sub(start), tg.minimum(items, start)
		})
	}
	wg.Wait()
	for _, r := range results {
		if r.skip {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			require.NoError(t, r.err)
			t.Logf("greedy client: %v for %d creates (%d requests); minimum %v", r.took.Round(time.Millisecond), items, r.sent, r.want.Round(time.Millisecond))
			assert.GreaterOrEqual(t, r.took, r.want-10*time.Millisecond, "the limiter admitted faster than its minimum")
			assert.LessOrEqual(t, r.took, r.want+250*time.Millisecond, "the minimum is far below what a greedy client achieves")
		})
	}
}
