package pacertest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

func TestScaledClockRunsFaster(t *testing.T) {
	clk := pacertest.NewScaledClock(1000)
	assert.Equal(t, 1000.0, clk.Scale())
	realStart, virtStart := time.Now(), clk.Now()
	c, _ := clk.NewTimer(20 * time.Second) // 20 ms of real time
	fired := <-c
	assert.GreaterOrEqual(t, fired.Sub(virtStart), 20*time.Second, "timer fired early")
	assert.GreaterOrEqual(t, time.Since(realStart), 20*time.Millisecond)
	assert.False(t, clk.Now().Before(fired), "clock went backwards")
}

func TestScaledClockStopAndZero(t *testing.T) {
	clk := pacertest.NewScaledClock(10)
	c, stop := clk.NewTimer(time.Hour)
	assert.True(t, stop())
	select {
	case <-c:
		t.Fatal("stopped timer fired")
	default:
	}
	c, stop = clk.NewTimer(0)
	<-c
	assert.False(t, stop())
	assert.Panics(t, func() { pacertest.NewScaledClock(0) })
}

// An hourly window runs in a fraction of a second when client and server
// share a scaled clock.
func TestScaledClockHourlyWindow(t *testing.T) {
	clk := pacertest.NewScaledClock(36000) // an hour in 100 ms
	srv := pacertest.NewServer(pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: 2, Window: time.Hour}},
		Headers:    pacertest.XRateLimitUnixMs,
		RetryAfter: pacertest.RetryAfterSeconds,
		Clock:      clk,
	})
	defer srv.Close()
	require.Same(t, clk, srv.Clock())
	before := clk.Now()
	assert.Equal(t, []int{200, 200, 429}, statuses(t, srv, 3, "/x", "k"))
	r := get(t, srv, "/x", "k")
	after := clk.Now()
	require.Equal(t, http.StatusTooManyRequests, r.status)
	// The Date header is virtual time (truncated to the second).
	date, err := http.ParseTime(r.header.Get("Date"))
	require.NoError(t, err)
	assert.False(t, date.Before(before.Truncate(time.Second)) || date.After(after), "Date %v outside [%v, %v]", date, before, after)
	// The first request leaves the window an hour after it was made.
	reset := time.UnixMilli(headerInt(t, r.header, "X-RateLimit-Reset"))
	assert.False(t, reset.Before(before.Add(time.Hour)) || reset.After(after.Add(time.Hour+time.Millisecond)),
		"reset %v outside [%v, %v] + 1h", reset, before, after)
	c, _ := srv.Clock().NewTimer(reset.Sub(srv.Clock().Now()))
	<-c
	assert.Equal(t, 200, get(t, srv, "/x", "k").status)
}
