// Package pacerotel reports what a pacer Transport does to OpenTelemetry:
// metrics through a metric.MeterProvider and one span per logical call
// through a trace.TracerProvider (the global providers by default).
//
// Three pieces, each optional:
//
//   - Hooks (or Options) feeds pacer's events to counters and histograms,
//     and adds an event per attempt and per wait to the call's span;
//
//   - Wrap, around the pacer Transport, records http.client.request.duration
//     per logical call (every attempt and wait included) and starts the
//     call's span, named after its route ("GET /v1/campaigns/:id");
//
//   - Observe registers observable gauges read from Transport.Stats: queue
//     depth, slots in the window, requests in flight, the adaptive rate, the
//     server's remaining budget and the breaker state.
//
//     in := pacerotel.New() // global MeterProvider and TracerProvider
//     tr := pacer.NewTransport(nil, append(in.Options(), pacer.WithBudget(100, time.Minute))...)
//     reg, err := in.Observe(tr)
//     client := &http.Client{Transport: in.Wrap(tr)}
//
// # Instruments
//
// Following the OTel HTTP client semantic conventions where they apply:
//
//	http.client.request.duration  histogram, s   one per logical call (Wrap)
//
// and pacer's own, under the pacer. prefix:
//
//	pacer.requests.sent          counter {request}   attempts sent, retries included
//	pacer.rate_limited           counter {response}  429 answers
//	pacer.retries                counter {retry}     by pacer.retry.reason
//	pacer.give_ups               counter {request}   by error.type
//	pacer.wait.duration          histogram, s        by pacer.wait.reason: throttle, retry_after, backoff
//	pacer.breaker.transitions    counter {transition} by pacer.breaker.state (the new state)
//	pacer.requests.queued        gauge {request}     waiting for a slot (Observe)
//	pacer.requests.in_window     gauge {request}     slots counted in the shortest window (Observe)
//	pacer.requests.in_flight     gauge {request}     sent, not yet answered (Observe)
//	pacer.adaptive.rate          gauge {request}/s   adaptive send rate, 0 when inactive (Observe)
//	pacer.server.remaining       gauge {request}     what the server last said was left (Observe)
//	pacer.server.limit           gauge {request}     the server's announced limit (Observe)
//	pacer.breaker.state          gauge               0 closed, 1 open, 2 half-open (Observe)
//
// # Attributes and cardinality
//
// Attributes are pacer.scope (the budget scope: a host, or a SHA-256 hash
// of a credential, never the credential), pacer.route (the method and path
// with identifier-like segments folded: "GET /v1/campaigns/:id"),
// http.request.method (standard methods, else "_OTHER"), pacer.status_class
// ("2xx", "4xx", "error"), http.response.status_code, error.type (a class
// such as "rate_limited", never an error message), server.address and
// server.port. Raw URLs, query strings, header values and error messages
// are never exported.
//
// Every attribute has a bounded set of values: methods, classes, reasons
// and error types are fixed lists; status codes are three digits; scopes,
// routes and server addresses are admitted first come first served up to
// WithMaxScopes, WithMaxRoutes and WithMaxHosts (100, 200 and 100 by
// default), and later ones read "_OTHER". Routes fold identifiers with a
// digit in them but not names (/users/alice, /users/bob), hence the bound.
//
// # Traces
//
// Wrap starts one span (kind internal) per logical call. Each attempt adds
// a "pacer.attempt" event (its number, status, duration, the server's
// remaining budget) and each wait a "pacer.wait" event with its reason and
// duration, so a slow call shows whether it queued behind a budget, waited
// for the server's Retry-After or backed off. Without Wrap, the events go
// to the span in the request's context, if it records (an otelhttp span
// around pacer, say).
//
// With otelhttp, put otelhttp.NewTransport inside pacer, as its base, to
// get one client span per attempt under pacer's span for the logical call;
// around Wrap, otelhttp's span is the logical call's and pacer's span is
// its child.
//
// # Durations
//
// Wait durations are on pacer's clock (a scaled test clock makes them
// virtual); http.client.request.duration is on the wall clock unless
// WithClock gives pacer's.
//
// Everything in this package is safe for concurrent use by multiple
// goroutines.
package pacerotel
