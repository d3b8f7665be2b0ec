package pacer_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer"
)

// A circuit breaker stops calling a server that keeps failing: after three
// failures the circuit opens and requests fail at once, until a probe after
// the cool-down finds the server back.
func ExampleWithCircuitBreaker() {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()

	client := pacer.NewClient(
		pacer.WithMaxAttempts(1), // no retries, to keep the example short
		pacer.WithCircuitBreaker(pacer.Breaker{MinRequests: 3, CoolDown: 30 * time.Second}),
		pacer.WithHooks(pacer.Hooks{OnBreaker: func(e pacer.BreakerEvent) {
			fmt.Printf("circuit %s -> %s: %d of %d failed\n", e.From, e.To, e.Failures, e.Requests)
		}}),
	)
	for range 4 {
		resp, err := client.Get(down.URL)
		if errors.Is(err, pacer.ErrCircuitOpen) {
			fmt.Println("refused at once: circuit open")
			continue
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// 503 Service Unavailable
	// 503 Service Unavailable
	// circuit closed -> open: 3 of 3 failed
	// 503 Service Unavailable
	// refused at once: circuit open
}

// A retry budget stops retries when most attempts fail: the first request
// is retried up to its max attempts, the budget is then spent and later
// requests fail after one attempt.
func ExampleWithRetryBudget() {
	var sent atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		sent.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()

	client := pacer.NewClient(
		pacer.WithBackoff(time.Millisecond, 10*time.Millisecond, pacer.FullJitter),
		pacer.WithRetryBudget(pacer.RetryBudget{}),
	)
	refused := 0
	for range 20 {
		resp, err := client.Get(down.URL)
		if errors.Is(err, pacer.ErrRetryBudgetExhausted) {
			refused++
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Printf("20 calls, %d requests sent, %d calls ended by the budget\n", sent.Load(), refused)
	// Output:
	// 20 calls, 24 requests sent, 19 calls ended by the budget
}
