package memstore

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pacerhq/pacer/internal/clocktest"
)

// benchTicket has two budgets far above what a benchmark can send, so
// Reserve never waits: the benchmarks measure the path that grants at once.
// The windows are short so that their rings reach a steady size (a window
// keeps up to Limit release times; with an hour-long window the ring would
// grow through the whole run, which is memory held, not per-call garbage).
func benchTicket(scope string) Ticket {
	return Ticket{Scope: scope, Budgets: []Budget{
		{Limit: 1 << 30, Window: 10 * time.Millisecond},
		{Limit: 1 << 30, Window: 100 * time.Millisecond},
	}}
}

// BenchmarkReserve is one Reserve and its Observe, on one goroutine.
func BenchmarkReserve(b *testing.B) {
	st := new(Store)
	tk := benchTicket("api")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sl, err := st.Reserve(ctx, tk)
		if err != nil {
			b.Fatal(err)
		}
		st.Observe(sl, Outcome{Sent: true, Status: 200, At: sl.Granted})
	}
}

// BenchmarkReserveParallel runs Reserve and Observe from 64 goroutines per
// CPU, all in one scope (one mutex) or each in its own scope.
func BenchmarkReserveParallel(b *testing.B) {
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "one scope", false: "scope per goroutine"}[shared]
		b.Run(name, func(b *testing.B) {
			st := new(Store)
			ctx := context.Background()
			var n int64
			var mu = make(chan struct{}, 1)
			b.ReportAllocs()
			b.SetParallelism(64)
			b.RunParallel(func(pb *testing.PB) {
				tk := benchTicket("api")
				if !shared {
					mu <- struct{}{}
					n++
					tk.Scope = fmt.Sprint("api-", n)
					<-mu
				}
				for pb.Next() {
					sl, err := st.Reserve(ctx, tk)
					if err != nil {
						b.Error(err)
						return
					}
					st.Observe(sl, Outcome{Sent: true, Status: 200, At: sl.Granted})
				}
			})
		})
	}
}

// BenchmarkIdleScopeMemory reports the heap an idle, learned scope costs:
// 10 000 scopes, each with one request answered with rate-limit headers
// (one pool, one route) and then idle, measured after a GC.
func BenchmarkIdleScopeMemory(b *testing.B) {
	const n = 10_000
	for b.Loop() {
		b.StopTimer()
		perScope := idleScopeBytes(b, n)
		b.StartTimer()
		b.ReportMetric(perScope, "bytes/scope")
	}
}

// idleScopeBytes fills a Store with n idle learned scopes and returns the
// heap they take, per scope.
func idleScopeBytes(tb testing.TB, n int) float64 {
	perScope, _ := fillIdleScopes(tb, n, func(string) {})
	return perScope
}

// fillIdleScopes makes a Store on a manual clock holding n scopes, each
// with one request on one route answered with rate-limit headers (one pool
// learned, its cap in force), and returns the heap they take per scope, and
// the store. check is called every 10 000 scopes.
func fillIdleScopes(tb testing.TB, n int, check func(string)) (float64, *Store) {
	clk := clocktest.NewManual(time.Time{})
	st := &Store{Clock: clk}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("key-%07d", i)
	}
	before := heapInUse()
	for i, name := range names {
		sl, err := st.Reserve(context.Background(), Ticket{Scope: name, Route: 42})
		if err != nil {
			tb.Fatal(err)
		}
		st.Observe(sl, Outcome{Sent: true, Status: 200, HasRateLimit: true,
			RateLimit: RateLimit{Limit: 100, Remaining: 99, Reset: clk.Now().Add(time.Second)}})
		if i%10_000 == 0 {
			check("filling the store")
		}
	}
	after := heapInUse()
	runtime.KeepAlive(names) // allocated before the first reading
	return float64(after-before) / float64(n), st
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
