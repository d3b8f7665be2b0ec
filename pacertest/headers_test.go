package pacertest_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

func TestSeveralLimitsReportTheMostRestrictive(t *testing.T) {
	srv, clk := start(t, pacertest.Config{
		Limits: []pacertest.Limit{
			{Requests: 2, Window: 10 * sec, Kind: pacertest.Fixed, Name: "short"},
			{Requests: 3, Window: 60 * sec, Kind: pacertest.Fixed, Name: "long"},
		},
		Headers:    pacertest.XRateLimitUnix,
		RetryAfter: pacertest.RetryAfterSeconds,
	})
	check := func(status int, limit, remaining int64, reset time.Duration) reply {
		t.Helper()
		r := get(t, srv, "/x", "k")
		require.Equal(t, status, r.status)
		assert.Equal(t, limit, headerInt(t, r.header, "X-RateLimit-Limit"))
		assert.Equal(t, remaining, headerInt(t, r.header, "X-RateLimit-Remaining"))
		assert.Equal(t, t0.Add(reset).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
		return r
	}
	check(200, 2, 1, 10*sec) // short: 1 left, long: 2 left
	check(200, 2, 0, 10*sec)
	r := check(429, 2, 0, 10*sec)
	assert.Equal(t, int64(10), headerInt(t, r.header, "Retry-After"))

	clk.Set(t0.Add(10 * sec))
	check(200, 3, 0, 60*sec) // short: 1 left, long: 0 left
	r = check(429, 3, 0, 60*sec)
	assert.Equal(t, int64(50), headerInt(t, r.header, "Retry-After"), "wait for the exhausted long window")
	ev := srv.Evidence()
	assert.Equal(t, 2, ev.MaxInWindow("short"))
	assert.Equal(t, 3, ev.MaxInWindow("long"))
}

func TestEqualRemainingReportsTheLatestReset(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits: []pacertest.Limit{
			{Requests: 2, Window: 10 * sec, Kind: pacertest.Fixed},
			{Requests: 2, Window: 60 * sec, Kind: pacertest.Fixed},
		},
		Headers: pacertest.XRateLimitUnix,
	})
	r := get(t, srv, "/x", "k")
	assert.Equal(t, int64(1), headerInt(t, r.header, "X-RateLimit-Remaining"))
	assert.Equal(t, t0.Add(60*sec).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
}

// roundingCfg takes one request at t0+300ms and is asked again at t0+1s, so
// the slot frees at t0+10.3s, 9.3 s after the rejected request.
func rejectedAt1s(t *testing.T, cfg pacertest.Config) reply {
	t.Helper()
	cfg.Limits = []pacertest.Limit{{Requests: 1, Window: 10 * sec, Name: "ten"}}
	srv, clk := start(t, cfg)
	clk.Set(t0.Add(300 * time.Millisecond))
	require.Equal(t, 200, get(t, srv, "/x", "k").status)
	clk.Set(t0.Add(sec))
	r := get(t, srv, "/x", "k")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	return r
}

func TestResetStylesRoundUp(t *testing.T) {
	free := t0.Add(10300 * time.Millisecond)
	tests := []struct {
		style pacertest.HeaderStyle
		want  int64
	}{
		{pacertest.XRateLimitUnix, free.Unix() + 1},
		{pacertest.XRateLimitUnixMs, free.UnixMilli()},
		{pacertest.XRateLimitRelative, 10},
	}
	for _, tt := range tests {
		r := rejectedAt1s(t, pacertest.Config{Headers: tt.style})
		assert.Equal(t, tt.want, headerInt(t, r.header, "X-RateLimit-Reset"), "style %d", tt.style)
		assert.Equal(t, int64(1), headerInt(t, r.header, "X-RateLimit-Limit"))
		assert.Empty(t, r.header.Get("Retry-After"), "NoRetryAfter is the zero value")
	}
}

func TestRetryAfterStyles(t *testing.T) {
	r := rejectedAt1s(t, pacertest.Config{RetryAfter: pacertest.RetryAfterSeconds})
	assert.Equal(t, int64(10), headerInt(t, r.header, "Retry-After"))
	assert.Empty(t, r.header.Get("X-RateLimit-Reset"), "NoHeaders is the zero value")

	r = rejectedAt1s(t, pacertest.Config{RetryAfter: pacertest.RetryAfterHTTPDate})
	at, err := http.ParseTime(r.header.Get("Retry-After"))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(11*sec), at.UTC(), "the date is rounded up to the next second")
	date, err := http.ParseTime(r.header.Get("Date"))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(sec), date.UTC(), "Date comes from the server clock")
}

// ietfItem is one parsed item of a structured-field list.
type ietfItem struct {
	name   string
	params map[string]int64
}

func parseIETF(t *testing.T, v string) []ietfItem {
	t.Helper()
	var out []ietfItem
	for _, member := range strings.Split(v, ",") {
		parts := strings.Split(strings.TrimSpace(member), ";")
		name, err := strconv.Unquote(parts[0])
		require.NoError(t, err, "item %q", member)
		it := ietfItem{name: name, params: map[string]int64{}}
		for _, p := range parts[1:] {
			k, val, ok := strings.Cut(p, "=")
			require.True(t, ok, "param %q", p)
			n, err := strconv.ParseInt(val, 10, 64)
			require.NoError(t, err)
			it.params[k] = n
		}
		out = append(out, it)
	}
	return out
}

func TestIETFHeadersListEveryPolicy(t *testing.T) {
	srv, clk := start(t, pacertest.Config{
		Limits: []pacertest.Limit{
			{Requests: 5, Window: 10 * sec, Name: "burst"},
			{Requests: 100, Window: time.Hour, Kind: pacertest.Fixed, Name: "hourly"},
		},
		Headers: pacertest.IETF,
	})
	clk.Set(t0.Add(2500 * time.Millisecond))
	r := get(t, srv, "/x", "k")
	require.Equal(t, 200, r.status)
	assert.Equal(t, []ietfItem{
		{"burst", map[string]int64{"r": 4, "t": 10}},
		{"hourly", map[string]int64{"r": 99, "t": 3598}}, // 3597.5 s rounded up
	}, parseIETF(t, r.header.Get("RateLimit")))
	assert.Equal(t, []ietfItem{
		{"burst", map[string]int64{"q": 5, "w": 10}},
		{"hourly", map[string]int64{"q": 100, "w": 3600}},
	}, parseIETF(t, r.header.Get("RateLimit-Policy")))
	assert.Empty(t, r.header.Get("X-RateLimit-Limit"))
}

func TestHeadersOn429Only(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits:           []pacertest.Limit{{Requests: 1, Window: time.Minute}},
		Headers:          pacertest.XRateLimitUnix,
		HeadersOn429Only: true,
	})
	r := get(t, srv, "/x", "k")
	require.Equal(t, 200, r.status)
	assert.Empty(t, r.header.Get("X-RateLimit-Remaining"))
	r = get(t, srv, "/x", "k")
	require.Equal(t, 429, r.status)
	assert.Equal(t, int64(0), headerInt(t, r.header, "X-RateLimit-Remaining"))
	assert.Equal(t, t0.Add(time.Minute).Unix(), headerInt(t, r.header, "X-RateLimit-Reset"))
}

func TestBodyShapes(t *testing.T) {
	free := t0.Add(10300 * time.Millisecond) // see rejectedAt1s
	r := rejectedAt1s(t, pacertest.Config{})
	assert.Equal(t, "Too Many Requests\n", r.body)
	assert.Contains(t, r.header.Get("Content-Type"), "text/plain")

	r = rejectedAt1s(t, pacertest.Config{Body429: pacertest.BodyEmpty})
	assert.Empty(t, r.body)

	var ra struct{ RetryAfter int }
	r = rejectedAt1s(t, pacertest.Config{Body429: pacertest.BodyRetryAfterJSON})
	require.NoError(t, json.Unmarshal([]byte(r.body), &ra), r.body)
	assert.Equal(t, 10, ra.RetryAfter)

	var dem struct {
		Error struct {
			Code    string
			Message string
			Details struct {
				RetryAfter int
				Limit      int
				Window     string
			}
		}
	}
	r = rejectedAt1s(t, pacertest.Config{Body429: pacertest.BodyDemeterrr})
	require.NoError(t, json.Unmarshal([]byte(r.body), &dem), r.body)
	assert.Equal(t, "RATE_LIMIT_EXCEEDED", dem.Error.Code)
	assert.NotEmpty(t, dem.Error.Message)
	assert.Equal(t, 10, dem.Error.Details.RetryAfter)
	assert.Equal(t, 1, dem.Error.Details.Limit)
	assert.Equal(t, "10 seconds", dem.Error.Details.Window)

	var lup struct {
		Success   *bool
		Data      any
		Error     string
		Limit     int
		Remaining *int
		Reset     string
	}
	r = rejectedAt1s(t, pacertest.Config{Body429: pacertest.BodyLupitor})
	require.NoError(t, json.Unmarshal([]byte(r.body), &lup), r.body)
	require.NotNil(t, lup.Success)
	require.NotNil(t, lup.Remaining)
	assert.False(t, *lup.Success)
	assert.Nil(t, lup.Data)
	assert.Equal(t, 1, lup.Limit)
	assert.Equal(t, 0, *lup.Remaining)
	assert.Equal(t, free.UTC().Format("2006-01-02T15:04:05.000Z"), lup.Reset)
	reset, err := time.Parse(time.RFC3339Nano, lup.Reset)
	require.NoError(t, err)
	assert.Equal(t, free, reset)

	var lum struct{ Message, Docs string }
	r = rejectedAt1s(t, pacertest.Config{Body429: pacertest.BodyLumail})
	require.NoError(t, json.Unmarshal([]byte(r.body), &lum), r.body)
	assert.Equal(t, "Too many requests", lum.Message)
	assert.NotEmpty(t, lum.Docs)
}
