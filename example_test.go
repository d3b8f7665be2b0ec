package pacer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// A create whose connection dies after it was sent is not retried (the
// server may have acted on it): the caller gets ErrOutcomeUnknown and looks
// the item up before creating it again. With WithIdempotencyKeys pacer
// retries it itself, under one Idempotency-Key.
func ExampleOutcomeUnknownError() {
	var created atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // the lookup
			fmt.Fprint(w, created.Load())
			return
		}
		created.Add(1) // the create is done, then the connection drops
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer srv.Close()

	client := pacer.NewClient()
	_, err := client.Post(srv.URL+"/items", "application/json", strings.NewReader(`{"id":"a"}`))
	var oue *pacer.OutcomeUnknownError
	if errors.As(err, &oue) {
		fmt.Println(errors.Is(err, pacer.ErrOutcomeUnknown), oue.Method, oue.Attempts)
		resp, _ := client.Get(srv.URL + "/items/a")
		n, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println("created:", string(n))
	}
	// Output:
	// true POST 1
	// created: 1
}
