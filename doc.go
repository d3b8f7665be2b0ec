// Package pacer makes HTTP API clients polite and unbreakable under rate
// limits. Its Transport is an http.RoundTripper (NewClient wraps one in an
// *http.Client) that reads what servers say about their limits, throttles
// before they say no, and retries only what is safe to send again.
//
//	client := pacer.NewClient(pacer.WithBudget(100, time.Minute))
//	resp, err := client.Do(req) // waits for a slot; retries 429/503; never past ctx's deadline
//
// With no option at all, a client learns each server's limit from its
// response headers and sends as fast as it allows.
//
// # A request's path
//
// Transport.RoundTrip (transport.go) makes a call (call.go) and sends each
// attempt the same way:
//
//  1. scope: the request's scope (ScopeFunc: per host by default, per API
//     key with ScopeByHeader) and route pick its budgets (WithBudget,
//     WithRouteBudget);
//  2. admit: the scope's circuit breaker (WithCircuitBreaker), then the
//     Store: Reserve waits in the scope's fair queue until the budgets and
//     what the server last said allow one more request, or fails at once
//     when the request's turn is past its deadline;
//  3. send: the base RoundTripper sends it;
//  4. learn: ParseRateLimit and ParseRetryAfter (headers.go) read the
//     answer, and Observe tells the Store, which holds the scope to it;
//  5. decide (retry.go): an answer, or a failure in one of three classes —
//     never sent (pacer refused it, the request is invalid, the dial or TLS
//     handshake failed), maybe sent (the connection died after the request
//     was written), or answered with a status worth retrying;
//  6. wait: the server's word (Retry-After, a body hint, the reset of an
//     exhausted window), else capped exponential backoff with jitter
//     (backoff.go), never past the context's deadline or the max wait.
//
// The first attempt is sent directly; go-retryablehttp runs the retries
// (engine.go) with the same decision, wait and error handling. The caller
// gets the response with its body intact, or one typed error:
// *RateLimitError (ErrRateLimited), *OutcomeUnknownError
// (ErrOutcomeUnknown: a request with side effects may have been acted on),
// *RetryBudgetError, *CircuitOpenError, *StoreError, ErrQueueFull, or the
// transport's own error.
//
// # Budgets and learned limits
//
// A budget is an exact sliding window: at most Limit requests in any
// interval of Window, counted from send until Window after the answer, so
// latency cannot push the server over. Limits the server announces are
// learned per scope and per server-side pool (one per endpoint when the
// server names different limits), counting the requests in flight. A 429
// holds its scope until the time the server named, at most the max wait
// (WithMaxWait), after which one request probes; a bare 429 starts
// adaptive mode (AIMD). A 429 costs no attempt: the server did nothing.
//
// # Overload guards
//
// WithRetryBudget caps retries per scope (at most 10 % extra load in an
// outage); WithCircuitBreaker stops calling a failing server and probes it
// after a cool-down. Both are off by default.
//
// # Seeing what it does
//
// Stats returns per-scope figures; Hooks and WithLogger report attempts,
// waits, retries, give-ups and breaker changes. Scopes hold hashes of
// credentials, and URLs lose their query and userinfo: no secret reaches an
// event, a log line or a store.
//
// # Writing a Store
//
// The Store interface (store.go) is the only seam between the transport and
// the budget state: Reserve a slot for a Ticket, Observe its Outcome. The
// default MemoryStore (budget.go, over internal/memstore) serves one
// process; the redisbudget module shares budgets across processes. A store
// that learns per route keys its state by Ticket.Route.
package pacer
