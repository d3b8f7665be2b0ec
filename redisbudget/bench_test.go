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
	benchEachStore(b, time.Minute, func(ctx context.Context, s pacer.Store, tk pacer.Ticket) error {
		_, err := s.Reserve(ctx, tk)
		return err
	})
}

// BenchmarkReserveObserve measures a whole slot's life: Reserve and Observe
// (two round trips for Redis).
func BenchmarkReserveObserve(b *testing.B) {
	benchEachStore(b, time.Second, func(ctx context.Context, s pacer.Store, tk pacer.Ticket) error {
		slot, err := s.Reserve(ctx, tk)
		if err == nil {
			s.Observe(slot, pacer.Outcome{Sent: true, At: time.Now(), Status: 200})
		}
		return err
	})
}

// benchEachStore runs op in a loop as a sub-benchmark for each store, with a
// ticket whose budget (2^30 per window) is large enough never to wait.
func benchEachStore(b *testing.B, window time.Duration, op func(context.Context, pacer.Store, pacer.Ticket) error) {
	for _, bc := range benchStores(b) {
		b.Run(bc.name, func(b *testing.B) {
			tk := pacer.Ticket{Scope: "bench", Budgets: []pacer.Budget{{Limit: 1 << 30, Window: window}}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := op(ctx, bc.store, tk); err != nil {
					b.Fatal(err)
				}
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
		{"memory", new(pacer.MemoryStore)},
	}
}
