package pacer_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pacerhq/pacer"
)

// Hooks see every attempt, wait and retry, on the caller's goroutine; the
// route folds identifiers, so it makes a label of bounded cardinality.
func ExampleWithHooks() {
	srv := flaky()
	defer srv.Close()

	tr := pacer.NewTransport(nil, pacer.WithHooks(pacer.Hooks{
		OnAttempt: func(e pacer.AttemptEvent) {
			fmt.Println("attempt", e.Attempt, e.Route, e.Status, "remaining", e.RateLimit.Remaining)
		},
		OnRetry: func(e pacer.RetryEvent) {
			fmt.Println("retry after", e.Wait, "server's word:", e.ServerWait)
		},
	}))
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/v1/items/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// Output:
	// attempt 1 GET /v1/items/:id 429 remaining 0
	// retry after 0s server's word: true
	// attempt 2 GET /v1/items/:id 200 remaining 99
}

// Stats reports per scope what the transport did and what the server last
// said; scopes keyed by a credential carry its hash, never the key.
func ExampleTransport_Stats() {
	srv := flaky()
	defer srv.Close()

	tr := pacer.NewTransport(nil, pacer.WithScope(pacer.ScopeByHeader("X-API-Key")))
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("X-API-Key", "secret-key")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	for scope, s := range tr.Stats().Scopes {
		fmt.Println(strings.Contains(scope, "secret-key"), strings.HasSuffix(scope, pacer.HashSecret("secret-key")))
		fmt.Println("sent", s.Sent, "429s", s.RateLimited, "retries", s.Retries, "remaining", s.Server.Remaining)
	}
	// Output:
	// false true
	// sent 2 429s 1 retries 1 remaining 99
}
