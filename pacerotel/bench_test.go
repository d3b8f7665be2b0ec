package pacerotel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerotel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// variant is one way of sending the benchmark's requests.
type variant struct {
	name string
	// client returns the client and a function releasing it.
	client func(base *http.Transport) (*http.Client, func())
}

// variants: pacer alone; pacer with hooks that do nothing (what the core
// spends building events once any hook is set); pacerotel's metrics (hooks
// and Observe on the SDK); metrics and Wrap with no tracer (the logical
// call's duration); and everything with a sampling SDK tracer.
func variants() []variant {
	metrics := func(tp bool, wrap bool) func(*http.Transport) (*http.Client, func()) {
		return func(base *http.Transport) (*http.Client, func()) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			opts := []pacerotel.Option{pacerotel.WithMeterProvider(mp), pacerotel.WithTracerProvider(noop.NewTracerProvider())}
			var stp *sdktrace.TracerProvider
			if tp {
				stp = sdktrace.NewTracerProvider() // samples every span, exports none
				opts = append(opts, pacerotel.WithTracerProvider(stp))
			}
			in := pacerotel.New(opts...)
			tr := pacer.NewTransport(base, in.Options()...)
			reg, _ := in.Observe(tr)
			var rt http.RoundTripper = tr
			if wrap {
				rt = in.Wrap(tr)
			}
			return &http.Client{Transport: rt}, func() {
				_ = reg.Unregister()
				_ = mp.Shutdown(context.Background())
				if stp != nil {
					_ = stp.Shutdown(context.Background())
				}
			}
		}
	}
	return []variant{
		{"pacer", func(base *http.Transport) (*http.Client, func()) {
			return &http.Client{Transport: pacer.NewTransport(base)}, func() {}
		}},
		{"pacer+empty-hooks", func(base *http.Transport) (*http.Client, func()) {
			h := pacer.Hooks{OnAttempt: func(pacer.AttemptEvent) {}, OnWait: func(pacer.WaitEvent) {},
				OnRetry: func(pacer.RetryEvent) {}, OnGiveUp: func(pacer.GiveUpEvent) {}}
			return &http.Client{Transport: pacer.NewTransport(base, pacer.WithHooks(h))}, func() {}
		}},
		{"pacerotel-metrics", metrics(false, false)},
		{"pacerotel-metrics+wrap", metrics(false, true)},
		{"pacerotel-metrics+wrap+traces", metrics(true, true)},
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
	client, done := v.client(base)
	defer done()
	defer base.CloseIdleConnections()
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
// depend on the machine. PACER_OVERHEAD=1 go test -v -run TestOverheadReport
// prints the ratios.
func BenchmarkOverhead(b *testing.B) {
	srv := benchServer()
	defer srv.Close()
	for _, v := range variants() {
		b.Run(v.name, func(b *testing.B) { runVariant(b, v, srv.URL) })
	}
}

// TestOverheadReport runs every variant, interleaved, over eleven rounds
// and prints the median requests/s and allocations per request of each,
// as ratios to pacer alone: the figures of docs/benchmarks.md. It runs
// only with PACER_OVERHEAD=1 (it takes about a minute).
func TestOverheadReport(t *testing.T) {
	if os.Getenv("PACER_OVERHEAD") == "" {
		t.Skip("set PACER_OVERHEAD=1 to measure the overhead")
	}
	overheadReport(t, variants(), 11)
}

func overheadReport(t *testing.T, vs []variant, rounds int) {
	srv := benchServer()
	defer srv.Close()
	rates := make([][]float64, len(vs))
	allocs := make([][]float64, len(vs))
	for round := range rounds {
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
