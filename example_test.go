package pacer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer"
)

// flaky answers its first request with 429 and the rest with 200, sending
// X-RateLimit headers on every response.
func flaky() *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "100")
		if n.Add(1) == 1 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "99")
		fmt.Fprint(w, "hello")
	}))
}

func ExampleNewClient() {
	srv := flaky()
	defer srv.Close()

	client := pacer.NewClient(pacer.WithBudget(100, time.Minute))
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello
}

func ExampleNewTransport() {
	srv := flaky()
	defer srv.Close()

	var retries int
	tr := pacer.NewTransport(nil,
		pacer.WithMaxAttempts(3),
		pacer.WithHooks(pacer.Hooks{OnRetry: func(e pacer.RetryEvent) { retries++ }}),
	)
	client := &http.Client{Transport: tr}
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	for _, s := range tr.Stats().Scopes {
		fmt.Printf("sent %d, 429s %d, retries %d (hook saw %d), server limit %d, remaining %d\n",
			s.Sent, s.RateLimited, s.Retries, retries, s.Server.Limit, s.Server.Remaining)
	}
	// Output: sent 2, 429s 1, retries 1 (hook saw 1), server limit 100, remaining 99
}

func ExampleRateLimitError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600") // come back in an hour
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()

	client := pacer.NewClient(pacer.WithMaxWait(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := client.Do(req)

	var rle *pacer.RateLimitError
	if errors.As(err, &rle) {
		fmt.Println(errors.Is(err, pacer.ErrRateLimited), rle.StatusCode, rle.RetryAfter)
	}
	// Output: true 429 1h0m0s
}
