package pacer

import (
	"bytes"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// encodeHeader writes h as "Key: value" lines, keys as stored (not
// canonicalised), in a stable order.
func encodeHeader(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// decodeHeader reads encodeHeader's format into map keys as written, so the
// fuzzer also reaches non-canonical keys.
func decodeHeader(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}

// requireWait checks a wait pacer read from a server: never negative, and
// zero when not valid.
func requireWait(t *testing.T, d time.Duration, ok bool) {
	t.Helper()
	require.GreaterOrEqual(t, d, time.Duration(0))
	if !ok {
		require.Zero(t, d)
	}
}

// requireSane checks the invariants of every RateLimit parseRateLimits returns.
func requireSane(t *testing.T, rl RateLimit) {
	t.Helper()
	require.GreaterOrEqual(t, rl.Remaining, 0)
	require.GreaterOrEqual(t, rl.Limit, 0)
	if rl.Limit > 0 {
		require.LessOrEqual(t, rl.Remaining, rl.Limit)
	}
	require.GreaterOrEqual(t, rl.Window, time.Duration(0))
	require.LessOrEqual(t, len(rl.Pool), maxPoolName)
	if rl.Tokens != nil {
		require.Nil(t, rl.Tokens.Tokens, "tokens have no tokens")
		requireSane(t, *rl.Tokens)
	}
}

// fuzzBudget is how long a parse of up to 64 KiB may take. A linear parse
// takes well under a millisecond; the quadratic one this guards against took
// seconds on inputs of this size.
const fuzzBudget = 50 * time.Millisecond

// requireQuick fails when parse, given an input of size bytes, takes longer
// than fuzzBudget per started 64 KiB on the fastest of three runs (one slow
// run may be the scheduler's doing; a slow parser is slow every time).
func requireQuick(t *testing.T, size int, parse func()) {
	t.Helper()
	budget := fuzzBudget * time.Duration(1+size/(64<<10))
	took := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		parse()
		if took = min(took, time.Since(start)); took <= budget {
			return
		}
	}
	t.Fatalf("parsing %d bytes took %v, over the budget of %v", size, took, budget)
}

func FuzzParseRateLimit(f *testing.F) {
	for _, c := range rateLimitCases {
		f.Add(encodeHeader(c.h), c.clock().UnixNano())
	}
	f.Fuzz(func(t *testing.T, raw string, nowNano int64) {
		h, now := decodeHeader(raw), time.Unix(0, nowNano).UTC()
		requireQuick(t, len(raw), func() { parseRateLimits(h, now) })
		all := parseRateLimits(h, now)
		for i, rl := range all {
			requireSane(t, rl)
			if i > 0 {
				require.LessOrEqual(t, moreRestrictive(all[i-1], rl), 0, "most restrictive first")
			}
		}
		rl, ok := ParseRateLimit(h, now)
		require.Equal(t, len(all) > 0, ok)
		if ok {
			require.Equal(t, all[0], rl)
		} else {
			require.Zero(t, rl)
		}

		// Limits on tokens never change what is read about requests.
		noTokens := h.Clone()
		for k := range noTokens {
			if strings.Contains(strings.ToLower(k), "token") {
				delete(noTokens, k)
			}
		}
		want, wantOK := ParseRateLimit(noTokens, now)
		require.Equal(t, wantOK, ok)
		rl.Tokens = nil
		require.Equal(t, want, rl)
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, c := range retryAfterCases {
		for _, v := range c.h.Values("Retry-After") {
			f.Add(v, "")
			f.Add(v, httpDate(at(time.Hour)))
		}
	}
	f.Fuzz(func(t *testing.T, value, date string) {
		requireQuick(t, len(value)+len(date), func() {
			ParseRetryAfter(http.Header{"Retry-After": {value}, "Date": {date}}, hdrT0)
		})
		d, ok := ParseRetryAfter(http.Header{"Retry-After": {value}}, hdrT0)
		requireWait(t, d, ok)
		if x, err := strconv.ParseFloat(strings.TrimSpace(value), 64); ok && err == nil {
			require.InDelta(t, x, d.Seconds(), 1e-6*max(x, 1), "delta-seconds read as the number they are")
		}
		// A Date that agrees with the caller's clock changes nothing.
		same, sameOK := ParseRetryAfter(http.Header{"Retry-After": {value}, "Date": {httpDate(hdrT0)}}, hdrT0)
		require.Equal(t, ok, sameOK)
		require.Equal(t, d, same)

		hd, hok := ParseRetryAfter(http.Header{"Retry-After": {value}, "Date": {date}}, hdrT0)
		requireWait(t, hd, hok)
	})
}

func FuzzParseBodyHint(f *testing.F) {
	for _, c := range bodyHintCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		requireQuick(t, len(body), func() { parseBodyHint(body, hdrT0) })
		d, ok := parseBodyHint(body, hdrT0)
		requireWait(t, d, ok)

		resp := &http.Response{Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		pd, pok := peekBodyHint(resp, hdrT0)
		requireWait(t, pd, pok)
		if len(body) <= bodyHintLimit {
			require.Equal(t, ok, pok)
			require.Equal(t, d, pd)
		}
		rest, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.True(t, bytes.Equal(body, rest), "body intact after the peek")
	})
}
