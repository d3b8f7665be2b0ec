package main

import (
	"context"
	"net/http"
	"sync"

	"github.com/pacerhq/pacer/examples/internal/demo"
)

// deliveries counts the outcome of outbound calls. It is safe for
// concurrent use by multiple goroutines.
type deliveries struct {
	mu        sync.Mutex
	delivered int
	failed    []error
}

func (d *deliveries) record(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.failed = append(d.failed, err)
		return
	}
	d.delivered++
}

func (d *deliveries) counts() (delivered int, failed []error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.delivered, append([]error(nil), d.failed...)
}

// deliverAll runs workers goroutines that post each queued event to the
// API until the queue is closed and drained; it returns when they are done.
// ctx should outlive a shutdown request, so that the drain completes.
func deliverAll(ctx context.Context, c *http.Client, api demo.API, q *queue, workers int, d *deliveries) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ev := range q.ch {
				d.record(deliver(ctx, c, api, ev))
			}
		})
	}
	wg.Wait()
}

// deliver posts one event as a subscriber. The event's id is its
// Idempotency-Key: a sender that delivers the same webhook twice, or a
// retry after a lost answer, never creates it twice.
func deliver(ctx context.Context, c *http.Client, api demo.API, ev event) error {
	body := map[string]any{"id": ev.ID, "email": ev.ID + "@example.com", "source": "webhook:" + ev.Type}
	return api.PostJSON(ctx, c, body, http.Header{"Idempotency-Key": {"hook-" + ev.ID}})
}
