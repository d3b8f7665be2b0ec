package pacerprom_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerprom"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A client whose first request gets a 429, served with its metrics on
// /metrics and scraped once.
func Example() {
	var n atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "98")
		w.Header().Set("X-RateLimit-Reset", "60")
	}))
	defer api.Close()

	c := pacerprom.New()
	tr := pacer.NewTransport(nil, append(c.Options(),
		pacer.WithScope(func(*http.Request) string { return "crm" }), // one budget, named for the example
		pacer.WithClock(pacertest.NewScaledClock(1000)),              // a 1 s Retry-After takes 1 ms
	)...)
	defer tr.CloseIdleConnections()
	c.Observe(tr)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	metrics := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})) // your /metrics
	defer metrics.Close()

	resp, err := (&http.Client{Transport: tr}).Get(api.URL + "/v1/campaigns/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	scrape, err := http.Get(metrics.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer scrape.Body.Close()
	defer http.DefaultClient.CloseIdleConnections()
	body, _ := io.ReadAll(scrape.Body)
	for _, line := range strings.Split(string(body), "\n") {
		for _, name := range []string{"pacer_requests_sent_total", "pacer_retries_total", "pacer_wait_seconds_count",
			"pacer_server_remaining_requests"} {
			if strings.HasPrefix(line, name+"{") {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// pacer_requests_sent_total{method="GET",route="GET /v1/campaigns/:id",scope="crm",status_class="2xx"} 1
	// pacer_requests_sent_total{method="GET",route="GET /v1/campaigns/:id",scope="crm",status_class="4xx"} 1
	// pacer_retries_total{method="GET",reason="rate_limited",route="GET /v1/campaigns/:id",scope="crm"} 1
	// pacer_server_remaining_requests{scope="crm"} 98
	// pacer_wait_seconds_count{method="GET",reason="retry_after",route="GET /v1/campaigns/:id",scope="crm"} 1
}
