package pacerprom_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerprom"
)

type variant struct {
	name string
	rt   func(base *http.Transport) http.RoundTripper
}

// variants: pacer alone; pacer with hooks that do nothing (what the core
// spends building events once any hook is set); pacer feeding a Collector.
func variants() []variant {
	return []variant{
		{"pacer", func(base *http.Transport) http.RoundTripper { return pacer.NewTransport(base) }},
		{"pacer+empty-hooks", func(base *http.Transport) http.RoundTripper {
			h := pacer.Hooks{OnAttempt: func(pacer.AttemptEvent) {}, OnWait: func(pacer.WaitEvent) {},
				OnRetry: func(pacer.RetryEvent) {}, OnGiveUp: func(pacer.GiveUpEvent) {}}
			return pacer.NewTransport(base, pacer.WithHooks(h))
		}},
		{"pacerprom", func(base *http.Transport) http.RoundTripper {
			c := pacerprom.New()
			tr := pacer.NewTransport(base, c.Options()...)
			c.Observe(tr)
			return tr
		}},
	}
}

func benchServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "1000000")
		w.Header().Set("X-RateLimit-Remaining", "999999")
		w.Header().Set("X-RateLimit-Reset", "60")
		_, _ = io.WriteString(w, "ok")
	}))
}

func runVariant(b *testing.B, v variant, url string) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: v.rt(base)}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url + "/v1/campaigns/7")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkOverhead sends requests on loopback through each variant. Read
// the variants against "pacer", run in the same process: absolute figures
// depend on the machine. PACER_OVERHEAD=1 go test -v -run
// TestOverheadReport prints the ratios.
func BenchmarkOverhead(b *testing.B) {
	srv := benchServer()
	defer srv.Close()
	for _, v := range variants() {
		b.Run(v.name, func(b *testing.B) { runVariant(b, v, srv.URL) })
	}
}

// TestOverheadReport runs every variant, interleaved, over eleven rounds and
// prints the median requests/s and allocations per request of each, and
// the median of each round's ratio to pacer alone: the figures of docs/benchmarks.md. It runs only
// with PACER_OVERHEAD=1 (it takes about a minute).
func TestOverheadReport(t *testing.T) {
	if os.Getenv("PACER_OVERHEAD") == "" {
		t.Skip("set PACER_OVERHEAD=1 to measure the overhead")
	}
	vs := variants()
	srv := benchServer()
	defer srv.Close()
	rates := make([][]float64, len(vs))
	allocs := make([][]float64, len(vs))
	for round := range 11 {
		for j := range vs { // the order rotates each round
			i := (j + round) % len(vs)
			v := vs[i]
			r := testing.Benchmark(func(b *testing.B) { runVariant(b, v, srv.URL) })
			rates[i] = append(rates[i], r.Extra["req/s"])
			allocs[i] = append(allocs[i], float64(r.MemAllocs)/float64(r.N))
		}
	}
	median := func(xs []float64) float64 { s := slices.Clone(xs); slices.Sort(s); return s[len(s)/2] }
	fmt.Printf("| variant | requests/s | vs pacer | allocs/request | extra allocs |\n|---|---:|---:|---:|---:|\n")
	a0 := median(allocs[0])
	for i, v := range vs {
		ratios := make([]float64, len(rates[i]))
		for k := range ratios {
			ratios[k] = rates[i][k] / rates[0][k]
		}
		a := median(allocs[i])
		fmt.Printf("| %s | %.0f | %.2f | %.1f | %+.1f |\n", v.name, median(rates[i]), median(ratios), a, a-a0)
	}
}
