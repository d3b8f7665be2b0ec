package pacer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
)

// A MemoryStore holding a scope to 2 requests per minute: the third request
// would wait a minute, longer than its context allows, so Reserve says so at
// once.
func ExampleMemoryStore() {
	clk := clocktest.NewManual(time.Time{})
	st := &pacer.MemoryStore{Clock: clk}
	tk := pacer.Ticket{Scope: "api.example.com", Budgets: []pacer.Budget{{Limit: 2, Window: time.Minute}}}
	for range 2 {
		slot, err := st.Reserve(context.Background(), tk)
		if err != nil {
			panic(err)
		}
		// ... send the request, then report its answer:
		st.Observe(slot, pacer.Outcome{Sent: true, Status: 200, At: clk.Now()})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := st.Reserve(ctx, tk)
	fmt.Println(err)
	fmt.Println("held in the window:", st.Usage()[0].InWindow)
	// Output:
	// pacer: rate limited (scope api.example.com, 0 attempts, retry after 1m0s): context deadline exceeded
	// held in the window: 2
}
