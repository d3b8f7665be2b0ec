// Package pacertest runs real HTTP servers on 127.0.0.1 that behave like the
// rate-limited APIs pacer's users integrate with: "httptest for rate-limited
// APIs".
//
// A Server puts a configurable rate limiter (sliding or fixed windows, scoped
// by API key, organisation, client IP or globally, per route or for all
// routes), rate-limit headers in the common vendor styles, 429 bodies, and
// injectable faults (503s, outages, missing headers, latency, connections
// reset after a create) in front of a small items API. Everything runs on the
// server's Clock, so a test that shares a ScaledClock (or a manual clock) with
// its client runs an hourly window in seconds.
//
// Evidence reports what the server saw: how many requests were accepted,
// rejected and failed, the most requests ever accepted inside one window of
// each limit (the proof that a client, or the limiter, kept the limit), and
// which items were created, created twice, or never created.
//
// Presets (SlidingHourPerKey, OrgMinuteAndIPSecond, IPFiveMinutesNoHeaders,
// PerEndpointWindows, OrgMinuteAndHour) reproduce the behaviour described by
// the vendor pages in /work/shared/vendor-docs.
//
// Unless stated otherwise, everything in this package is safe for concurrent
// use by multiple goroutines.
package pacertest
