package pacer_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// send makes n GET requests to url with the given API key from 8 goroutines.
func send(client *http.Client, url, key string, n int) {
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for range jobs {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("X-API-Key", key)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// A client configured with the documented limit sends 100 requests through a
// 30-per-minute API without a single 429. The test server's clock runs 600
// times faster than real time, so the four minutes take under a second.
func ExampleWithBudget() {
	clk := pacertest.NewScaledClock(600)
	srv := pacertest.NewServer(pacertest.Config{
		Limits: []pacertest.Limit{{Requests: 30, Window: time.Minute}},
		Clock:  clk,
	})
	defer srv.Close()

	client := pacer.NewClient(pacer.WithBudget(30, time.Minute), pacer.WithClock(clk))
	send(client, srv.URL+"/items", "key-1", 100)

	ev := srv.Evidence()
	fmt.Printf("accepted %d, 429s %d, most in one minute %d\n", ev.Accepted, ev.Rejected, ev.MaxInWindow("30-per-1m0s-key"))
	// Output: accepted 100, 429s 0, most in one minute 30
}

// Per-endpoint limits, one budget per API key: the tight endpoint's queue
// never holds up the generous one.
func ExampleWithRouteBudget() {
	clk := pacertest.NewScaledClock(600)
	cfg := pacertest.PerEndpointWindows() // vendor-docs/campaigns-api.txt
	cfg.Clock = clk
	srv := pacertest.NewServer(cfg)
	defer srv.Close()

	tr := pacer.NewTransport(nil,
		pacer.WithClock(clk),
		pacer.WithScope(pacer.ScopeByHeader("X-API-Key")),
		pacer.WithRouteBudget("GET /v1/campaigns/:id", 120, time.Minute),
		pacer.WithRouteBudget("GET /v1/campaigns/:id/statistics", 30, time.Minute),
		pacer.WithBudget(60, time.Minute), // every other route: one shared pool
	)
	client := &http.Client{Transport: tr}
	send(client, srv.URL+"/v1/campaigns/7", "key-1", 120)
	send(client, srv.URL+"/v1/campaigns/7/statistics", "key-1", 30)

	fmt.Println("429s:", srv.Evidence().Rejected)
	var lines []string
	for scope, s := range tr.Stats().Scopes { // "host key:<hash of key-1> route"
		parts := strings.SplitN(scope, " ", 3)
		lines = append(lines, fmt.Sprintf("%s: sent %d", parts[2], s.Sent))
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// 429s: 0
	// GET /v1/campaigns/:id/statistics: sent 30
	// GET /v1/campaigns/:id: sent 120
}
