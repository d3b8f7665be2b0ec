package redisbudget

import (
	"context"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
)

// BenchmarkReserve measures one reservation: for Redis, one round trip to a
// local redis-server running the reserve script; for comparison, the
// in-memory store. The budget is large enough never to wait.
func BenchmarkReserve(b *testing.B) {
	for _, bc := range benchStores(b) {
		b.Run(bc.name, func(b *testing.B) {
			tk := pacer.Ticket{Scope: "bench", Budgets: []pacer.Budget{{Limit: 1 << 30, Window: time.Minute}}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.store.Reserve(ctx, tk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReserveObserve measures a whole slot's life: Reserve and Observe
// (two round trips for Redis).
func BenchmarkReserveObserve(b *testing.B) {
	for _, bc := range benchStores(b) {
		b.Run(bc.name, func(b *testing.B) {
			tk := pacer.Ticket{Scope: "bench", Budgets: []pacer.Budget{{Limit: 1 << 30, Window: time.Second}}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				slot, err := bc.store.Reserve(ctx, tk)
				if err != nil {
					b.Fatal(err)
				}
				bc.store.Observe(slot, pacer.Outcome{Sent: true, At: time.Now(), Status: 200})
			}
		})
	}
}

type benchStore struct {
	name  string
	store pacer.Store
}

func benchStores(b *testing.B) []benchStore {
	r := startRedis(b)
	return []benchStore{
		{"redis", New(r.client(b), WithTimeout(time.Second))},
		{"memory", pacer.NewMemoryStore()},
	}
}
