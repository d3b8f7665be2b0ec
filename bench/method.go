package main

// methodText is the Method section of the report.
const methodText = "## Method\n\n" +
	"**Servers.** Every run starts a fresh [`pacertest`](../pacertest/) server on 127.0.0.1 from " +
	"one of the five presets that reproduce the vendor pages in `shared/vendor-docs` " +
	"(lupitor: `SlidingHourPerKey`, lumail: `OrgMinuteAndIPSecond`, lumar: `IPFiveMinutesNoHeaders`, " +
	"campaigns: `PerEndpointWindows`, demeterrr: `OrgMinuteAndHour`), on a `pacertest.ScaledClock` " +
	"running *scale* times faster than real time (the ×N of each section). The server counts what it " +
	"received, rejected and created; the tables report the server's counts, not the clients'.\n\n" +
	"**Contenders.** Each runs alone against its own server, one after the other (the `-quick` " +
	"profile runs them at once, each against its own server, so its figures are indicative), with " +
	"its own connection pool: a clone of `http.DefaultTransport` with `MaxIdleConnsPerHost` 16 and " +
	"`MaxConnsPerHost` 64 (thousands of concurrent webhook calls queue for a connection rather " +
	"than exhaust file descriptors).\n\n" +
	"| contender | what it is | how its waits follow the virtual clock |\n" +
	"|---|---|---|\n" +
	"| hand loop (vendor pages) | the loop the vendor pages print: up to 5 attempts; after a 429 wait `Retry-After` seconds if present, else 2^attempt s (1, 2, 4, 8); other statuses and errors end the call | sleeps on the server's clock (`Clock.NewTimer`) |\n" +
	"| go-retryablehttp | `retryablehttp.NewClient()` defaults (5 attempts, waits 1–30 s doubling, `Retry-After` on 429/503, retries connection errors and 5xx for every method), logger off, used through `StandardClient()` | `Backoff` is `DefaultBackoff` (computed in server time) divided by the scale |\n" +
	"| go-retryablehttp + x/time/rate | the same client whose inner transport first waits on one `rate.Limiter` per documented limit of the endpoint, each at the documented average rate (limit/window) with burst 1 — the vendor pages' \"distribute load over time\" | each limiter's rate is the documented rate × scale in real time |\n" +
	"| failsafe-go (retry + bursty limiter) | `failsafehttp.NewRoundTripper` with `failsafehttp.NewRetryPolicyBuilder()` (5 attempts, `failsafehttp.DelayFunc` for `Retry-After`, else backoff 1–30 s) around one bursty `ratelimiter` per documented limit (limit permits per window, waiting for a permit); the harness closes the responses failsafehttp leaves open (those it retries, and the last one when its retries run out) | `DelayFunc`'s result, the backoff bounds and the limiter periods are divided by the scale |\n" +
	"| pacer (zero config) | `pacer.NewTransport(base, pacer.WithClock(srv.Clock()))`: learns the limit from the headers, adapts its rate to bare 429s | `WithClock` |\n" +
	"| pacer (configured) | as the vendor page says: `WithBudget`/`WithRouteBudget` for each documented sliding limit, `WithFixedWindow` for each fixed one (lumail, demeterrr), `WithScope` per API key or bearer token, `WithIdempotencyKeys()` | `WithClock` |\n\n" +
	"Dividing a wait by the scale makes a wall-clock sleep last exactly as much virtual time as the " +
	"same wait on the server's clock (which fires after d/scale of real time, rounded up), so every " +
	"contender waits the same virtual time for the same decision. Contexts are cancelled by a timer " +
	"rather than given a deadline, because pacer compares its waits with the wall-clock time left " +
	"before a deadline. A run is cut at a generous bound (bulk: twice the minimum plus three of the " +
	"longest windows; burst: the arrivals plus twice the time to serve every event at the limit plus " +
	"two windows); what had not completed by then counts as failed, and lost if never created.\n\n" +
	"**Theoretical minimum** (bulk). With zero latency, the fastest any client can complete N " +
	"requests is the greedy schedule that sends each request the moment every limit admits it. For " +
	"one sliding window of L per W starting fresh that is (⌈N/L⌉−1)·W: L requests at once, the next L " +
	"when the first slots free one window later, and so on, the last batch at (⌈N/L⌉−1)·W. For a fixed " +
	"window it is the same minus how far into its window the run starts (windows are aligned to the " +
	"server's start). With several limits the program simulates the greedy schedule over all of " +
	"them, which gives the binding one: demeterrr's 1100 creates at 100/min and 1000/h take 60 min " +
	"(the 1001st waits for the next hour), not the 10 min the minute limit alone would give. Sending " +
	"takes real time too, so N is chosen a little above a multiple of L (the last window holds few " +
	"requests) and the scale keeps a window long in real time; a client that holds the limit still " +
	"loses a round trip per window.\n\n"
