package pacer_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pacerhq/pacer"
)

func ExampleParseRateLimit() {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "100")
	h.Set("X-RateLimit-Remaining", "95")
	h.Set("X-RateLimit-Reset", "1704067260") // unix seconds

	rl, ok := pacer.ParseRateLimit(h, now)
	fmt.Println(ok, rl.Limit, rl.Remaining, rl.Reset.Sub(now))

	// The IETF structured fields; the most restrictive policy governs.
	h = http.Header{}
	h.Set("RateLimit", `"burst";r=5;t=1, "daily";r=900;t=3600`)
	h.Set("RateLimit-Policy", `"burst";q=10;w=1, "daily";q=1000;w=86400`)
	rl, ok = pacer.ParseRateLimit(h, now)
	fmt.Println(ok, rl.Pool, rl.Limit, rl.Remaining, rl.Reset.Sub(now), rl.Window)

	// OpenAI limits requests and tokens: pacer paces by requests, and
	// reports the tokens beside them.
	h = http.Header{}
	h.Set("x-ratelimit-limit-requests", "60")
	h.Set("x-ratelimit-remaining-requests", "59")
	h.Set("x-ratelimit-reset-requests", "1s")
	h.Set("x-ratelimit-limit-tokens", "150000")
	h.Set("x-ratelimit-remaining-tokens", "0")
	h.Set("x-ratelimit-reset-tokens", "6m0s")
	rl, ok = pacer.ParseRateLimit(h, now)
	fmt.Println(ok, rl.Limit, rl.Remaining, rl.Reset.Sub(now), "tokens:", rl.Tokens.Limit, rl.Tokens.Remaining, rl.Tokens.Reset.Sub(now))
	// Output:
	// true 100 95 1m0s
	// true burst 10 5 1s 1s
	// true 60 59 1s tokens: 150000 0 6m0s
}

func ExampleParseRetryAfter() {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []string{
		"120",
		"Mon, 01 Jan 2024 00:01:30 GMT",
		"Sun, 31 Dec 2023 23:00:00 GMT", // in the past
		"Mon, 15 Jan 2024 00:00:00 GMT", // not capped: pacer caps where it waits
		"99999999999999999999999",       // too long for a time.Duration
		"soon",
	} {
		h := http.Header{}
		h.Set("Retry-After", v)
		d, ok := pacer.ParseRetryAfter(h, now)
		fmt.Println(d, ok)
	}

	// The server's clock runs an hour ahead of ours: its Date corrects it.
	h := http.Header{}
	h.Set("Date", "Mon, 01 Jan 2024 01:00:00 GMT")
	h.Set("Retry-After", "Mon, 01 Jan 2024 01:00:30 GMT")
	d, ok := pacer.ParseRetryAfter(h, now)
	fmt.Println(d, ok)
	// Output:
	// 2m0s true
	// 1m30s true
	// 0s true
	// 336h0m0s true
	// 0s false
	// 0s false
	// 30s true
}
