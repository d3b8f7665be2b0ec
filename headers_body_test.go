package pacer

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type bodyHintCase struct {
	name string
	body string
	now  time.Time // hdrT0 when zero
	want time.Duration
	ok   bool
}

// lupitorNow is one minute before the reset in lupitor's documented body.
var lupitorNow = time.Date(2025, 10, 29, 16, 29, 0, 0, time.UTC)

var bodyHintCases = []bodyHintCase{
	{name: "retryAfter", body: `{"retryAfter":60}`, want: time.Minute, ok: true},
	{name: "retry_after", body: `{"retry_after":60}`, want: time.Minute, ok: true},
	{name: "fractional retry_after", body: `{"message":"slow down","retry_after":1.5}`, want: 1500 * time.Millisecond, ok: true},
	{name: "retryAfter as string", body: `{"retryAfter":"30"}`, want: 30 * time.Second, ok: true},
	{name: "retryAfter as duration", body: `{"retryAfter":"6m0s"}`, want: 6 * time.Minute, ok: true},
	{name: "nested (demeterrr)", body: `{"error":{"details":{"retryAfter":60}}}`, want: time.Minute, ok: true},
	{name: "demeterrr body", body: `{
  "error": {
    "code": "RATE_LIMIT_EXCEEDED",
    "message": "Rate limit exceeded. Please try again later.",
    "details": {"retryAfter": 60, "limit": 1000, "window": "1 hour"}
  }
}`, want: time.Minute, ok: true},
	{name: "reset RFC 3339", body: `{"reset":"2025-10-29T16:30:00.000Z"}`, now: lupitorNow, want: time.Minute, ok: true},
	{name: "lupitor body", body: `{"success": false, "data": null, "error": "Rate limit exceeded. Please try again later.",
  "limit": 1000, "remaining": 0, "reset": "2025-10-29T16:30:00.000Z"}`, now: lupitorNow, want: time.Minute, ok: true},
	{name: "reset unix seconds", body: `{"resetAt":1704067230}`, want: 30 * time.Second, ok: true},
	{name: "reset HTTP-date", body: `{"reset_at":"Mon, 01 Jan 2024 00:01:00 GMT"}`, want: time.Minute, ok: true},
	{name: "reset in the past", body: `{"reset":"2023-01-01T00:00:00Z"}`, want: 0, ok: true},
	{name: "retry preferred over reset", body: `{"reset":"2024-01-01T00:10:00Z","retryAfter":5}`, want: 5 * time.Second, ok: true},
	{name: "first retry hint wins", body: `{"retryAfter":5,"more":{"retryAfter":50}}`, want: 5 * time.Second, ok: true},
	{name: "invalid first hint skipped", body: `{"retryAfter":"soon","more":{"retry-after":7}}`, want: 7 * time.Second, ok: true},
	{name: "inside an array", body: `[{"x":[1,2]},{"Retry_After_Seconds":9}]`, want: 9 * time.Second, ok: true},
	{name: "not capped", body: `{"retryAfter":999999999}`, want: 999999999 * time.Second, ok: true},
	{name: "reset too far ahead for a Duration", body: `{"reset":"9999-12-31T23:59:59Z"}`},
	{name: "truncated after the hint", body: `{"retryAfter":60,"detail":"aaaa`, want: time.Minute, ok: true},
	{name: "lumail body has no hint", body: `{"message": "Too many requests", "docs": "https://lumail.io/docs/api-reference/api-limits"}`},
	{name: "key name as a value", body: `{"message":"retryAfter","n":60}`},
	{name: "negative", body: `{"retryAfter":-5}`},
	{name: "exponent", body: `{"retryAfter":6e1}`},
	{name: "null", body: `{"retryAfter":null}`},
	{name: "bool", body: `{"retryAfter":true}`},
	{name: "object value", body: `{"retryAfter":{"seconds":5}}`},
	{name: "overflow", body: `{"retryAfter":99999999999999999999999}`},
	{name: "too deep", body: strings.Repeat(`{"a":`, bodyHintDepth+1) + `{"retryAfter":5}` + strings.Repeat(`}`, bodyHintDepth+1)},
	{name: "not JSON", body: `Too Many Requests`},
	{name: "HTML", body: `<html><body>retryAfter: 60</body></html>`},
	{name: "empty", body: ``},
	{name: "broken JSON", body: `{"retryAfter"60}`},
}

func TestParseBodyHint(t *testing.T) {
	for _, c := range bodyHintCases {
		t.Run(c.name, func(t *testing.T) {
			now := c.now
			if now.IsZero() {
				now = hdrT0
			}
			got, ok := parseBodyHint([]byte(c.body), now)
			require.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
		})
	}
}

// trackedBody is a response body that records Close.
type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func jsonResponse(body io.Reader, kv ...string) (*http.Response, *trackedBody) {
	tb := &trackedBody{Reader: body}
	h := hdr(append([]string{"Content-Type", "application/json; charset=utf-8"}, kv...)...)
	return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h, Body: tb}, tb
}

// bigBody is a JSON object of about n bytes with the hint first.
func bigBody(n int) string {
	return `{"retryAfter":60,"pad":"` + strings.Repeat("x", n) + `"}`
}

func TestPeekBodyHintKeepsBodyIntact(t *testing.T) {
	cases := []struct {
		name string
		body string
		want time.Duration
		ok   bool
	}{
		{"small", `{"retryAfter":60}`, time.Minute, true},
		{"exactly the limit", bigBody(bodyHintLimit - len(bigBody(0))), time.Minute, true},
		{"larger than the prefix, hint first", bigBody(3 * bodyHintLimit), time.Minute, true},
		{"hint past the prefix", `{"pad":"` + strings.Repeat("y", bodyHintLimit) + `","retryAfter":60}`, 0, false},
		{"not JSON", "rate limited\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, tb := jsonResponse(strings.NewReader(c.body))
			got, ok := peekBodyHint(resp, hdrT0)
			require.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
			rest, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, c.body, string(rest))
			require.NoError(t, resp.Body.Close())
			assert.True(t, tb.closed, "Close reaches the original body")
		})
	}
}

func TestPeekBodyHintReadsAtMostTheLimit(t *testing.T) {
	src := strings.NewReader(bigBody(10 * bodyHintLimit))
	resp, _ := jsonResponse(src)
	_, ok := peekBodyHint(resp, hdrT0)
	require.True(t, ok)
	assert.Equal(t, int64(bodyHintLimit), src.Size()-int64(src.Len()))
}

func TestPeekBodyHintKeepsReadError(t *testing.T) {
	boom := errors.New("connection reset")
	body := io.MultiReader(strings.NewReader(`{"retryAfter":3,`), iotest.ErrReader(boom))
	resp, _ := jsonResponse(body)
	got, ok := peekBodyHint(resp, hdrT0)
	require.True(t, ok)
	assert.Equal(t, 3*time.Second, got)
	rest, err := io.ReadAll(resp.Body)
	assert.Equal(t, `{"retryAfter":3,`, string(rest))
	assert.ErrorIs(t, err, boom)
}

func TestPeekBodyHintServerClock(t *testing.T) {
	// The server's clock is an hour ahead; its reset is 90 s after its Date.
	body := `{"reset":"2024-01-01T01:01:30Z"}`
	resp, _ := jsonResponse(strings.NewReader(body), "Date", httpDate(at(time.Hour)))
	got, ok := peekBodyHint(resp, hdrT0)
	require.True(t, ok)
	assert.Equal(t, 90*time.Second, got)
}

func TestPeekBodyHintSkipsOtherBodies(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
	}{
		{"text/html", []string{"Content-Type", "text/html"}},
		{"gzip", []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}},
		{"bad media type", []string{"Content-Type", "application/json; ;;"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := &trackedBody{Reader: strings.NewReader(`{"retryAfter":60}`)}
			resp := &http.Response{Header: hdr(c.kv...), Body: tb}
			_, ok := peekBodyHint(resp, hdrT0)
			assert.False(t, ok)
			assert.Same(t, tb, resp.Body, "body untouched")
		})
	}
}

func TestPeekBodyHintContentTypes(t *testing.T) {
	for _, h := range []http.Header{
		{},
		hdr("Content-Type", "application/problem+json"),
		hdr("Content-Type", "Application/JSON"),
		{"content-type": {"application/json"}},
		hdr("Content-Type", "application/json", "Content-Encoding", "identity"),
	} {
		resp := &http.Response{Header: h, Body: io.NopCloser(bytes.NewReader([]byte(`{"retryAfter":2}`)))}
		got, ok := peekBodyHint(resp, hdrT0)
		assert.True(t, ok, "%v", h)
		assert.Equal(t, 2*time.Second, got)
	}
}

func TestPeekBodyHintNoBody(t *testing.T) {
	for _, resp := range []*http.Response{nil, {Header: http.Header{}}, {Header: http.Header{}, Body: http.NoBody}} {
		_, ok := peekBodyHint(resp, hdrT0)
		assert.False(t, ok)
	}
}
