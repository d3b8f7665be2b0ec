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
// PerEndpointWindows, OrgMinuteAndHour) reproduce the rate-limit behaviour
// documented by five real vendors (lupitor, lumail, lumar, a campaigns API
// and demeterrr); each preset's doc names its page.
//
// # The items API
//
// Unless Config.Handler replaces it, the application behind the limiter is a
// small items API:
//   - a POST whose body is a JSON object with an "id" string creates that item
//     and answers 201 with the object; other JSON objects and empty bodies
//     get 200 and create nothing; other bodies get 400;
//   - a POST to a path ending in /bulk with a JSON array of such objects
//     creates each and answers 201; a batch larger than Config.BulkMax gets
//     413, a batch with an item lacking an id 400, and neither creates
//     anything;
//   - a GET with an "id" query parameter (any path) looks that item up: 200
//     with {"id": id, "created": times} if it was created, else 404 — what
//     a client does before creating again after a lost answer;
//   - any other request gets 200 with a small JSON body;
//   - a POST repeating an Idempotency-Key already seen for the same API key
//     gets the stored response, marked "Idempotent-Replayed: true", and
//     creates nothing. Stored responses are kept until the server closes.
//
// Requests answered 429 or 503 never reach the application.
//
// Unless stated otherwise, everything in this package is safe for concurrent
// use by multiple goroutines.
package pacertest
