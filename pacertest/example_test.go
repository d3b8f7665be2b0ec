package pacertest_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pacerhq/pacer/pacertest"
)

func ExampleNewServer() {
	srv := pacertest.NewServer(pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: 2, Window: time.Hour, Scope: pacertest.ByKey}},
		Headers:    pacertest.XRateLimitUnix,
		RetryAfter: pacertest.RetryAfterSeconds,
	})
	defer srv.Close()

	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/items", nil)
		req.Header.Set("X-API-Key", "my-key")
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, "remaining", resp.Header.Get("X-RateLimit-Remaining"))
	}
	ev := srv.Evidence()
	fmt.Println("accepted", ev.Accepted, "rejected", ev.Rejected, "max in window", ev.MaxInWindow("2-per-1h0m0s-key"))
	// Output:
	// 200 remaining 1
	// 200 remaining 0
	// 429 remaining 0
	// accepted 2 rejected 1 max in window 2
}
