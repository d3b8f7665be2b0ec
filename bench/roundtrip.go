package main

import (
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/pacerhq/pacer"
)

// benchRoundTrip sends GETs to url through rt from 8 parallel goroutines
// (at least; a multiple of GOMAXPROCS), one request per b.N iteration,
// reading each body.
// It is BenchmarkRoundTrip's body and also runs inside the program through
// testing.Benchmark.
func benchRoundTrip(b *testing.B, rt http.RoundTripper, url string) {
	client := &http.Client{Transport: rt}
	b.ReportAllocs()
	b.SetParallelism((workers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

// roundTrippers are the two transports BenchmarkRoundTrip compares: a bare
// http.Transport and the full pacer transport (retry engine, budget store,
// header parsing, tracker) over the same pool settings.
func roundTrippers() []struct {
	name string
	rt   func() http.RoundTripper
} {
	return []struct {
		name string
		rt   func() http.RoundTripper
	}{
		{"bare", func() http.RoundTripper { return newBase() }},
		{"pacer", func() http.RoundTripper { return pacer.NewTransport(newBase()) }},
	}
}
