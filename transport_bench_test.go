package pacer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pacerhq/pacer"
)

// BenchmarkRoundTrip compares a request through the full pacer transport
// (retry engine, budget store, header parsing, tracker) with the same
// request through a bare http.Transport, on loopback. Compare the two
// sub-benchmarks as a ratio: the absolute figures depend on the machine.
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "1000000")
		w.Header().Set("X-RateLimit-Remaining", "999999")
		w.Header().Set("X-RateLimit-Reset", "60")
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	newBase := func() *http.Transport {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		return t
	}
	run := func(b *testing.B, rt http.RoundTripper) {
		client := &http.Client{Transport: rt}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(srv.URL)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	b.Run("bare", func(b *testing.B) { run(b, newBase()) })
	b.Run("pacer", func(b *testing.B) { run(b, pacer.NewTransport(newBase())) })
	b.Run("pacer-budget", func(b *testing.B) {
		run(b, pacer.NewTransport(newBase(), pacer.WithBudget(1<<30, 1)))
	})
}
