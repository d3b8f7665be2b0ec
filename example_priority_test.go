package pacer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// An interactive request overtakes bulk requests already queued for the
// same budget.
func ExampleContextWithPriority() {
	var mu sync.Mutex
	var order []string
	started, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/first" { // answered once the others are queued
			close(started)
			<-release
		}
	}))
	defer srv.Close()

	clk := pacertest.NewScaledClock(120) // a minute passes in half a second
	tr := pacer.NewTransport(nil, pacer.WithBudget(1, time.Minute), pacer.WithClock(clk))
	client := &http.Client{Transport: tr}
	get := func(ctx context.Context, path string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	queued := func(n int) { // waits until n requests wait for the budget
		for tr.Stats().Scopes[srv.Listener.Addr().String()].Queued < n {
			time.Sleep(time.Millisecond)
		}
	}

	var wg sync.WaitGroup
	wg.Go(func() { get(context.Background(), "/first") }) // takes this minute's slot
	<-started
	for i := range 3 {
		wg.Go(func() {
			get(pacer.ContextWithPriority(context.Background(), -10), fmt.Sprint("/bulk-", i))
		})
		queued(i + 1) // queue them in order
	}
	wg.Go(func() {
		get(pacer.ContextWithPriority(context.Background(), 10), "/interactive")
	})
	queued(4)
	close(release)
	wg.Wait()

	fmt.Println(order)
	// Output: [/first /interactive /bulk-0 /bulk-1 /bulk-2]
}
