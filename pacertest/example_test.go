package pacertest_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
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

// A scaled clock shared by server and client makes an hourly window pass in
// a fraction of a second.
func ExampleNewScaledClock() {
	clock := pacertest.NewScaledClock(36000) // one virtual hour per 100 ms
	srv := pacertest.NewServer(pacertest.Config{
		Limits:  []pacertest.Limit{{Requests: 1, Window: time.Hour}},
		Headers: pacertest.XRateLimitUnixMs,
		Clock:   clock,
	})
	defer srv.Close()

	get := func() *http.Response {
		resp, err := srv.Client().Get(srv.URL + "/items")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp
	}
	fmt.Println(get().StatusCode)
	refused := get()
	fmt.Println(refused.StatusCode)

	// Wait, on the shared clock, until the server says a slot frees.
	ms, _ := strconv.ParseInt(refused.Header.Get("X-RateLimit-Reset"), 10, 64)
	c, _ := srv.Clock().NewTimer(time.UnixMilli(ms).Sub(srv.Clock().Now()))
	<-c
	fmt.Println(get().StatusCode)
	// Output:
	// 200
	// 429
	// 200
}

// Evidence tells which creates a client lost and which it made twice.
func ExampleEvidence_Missing() {
	srv := pacertest.NewServer(pacertest.OrgMinuteAndHour())
	defer srv.Close()

	for _, id := range []string{"a", "b", "b"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/contacts", strings.NewReader(`{"id":"`+id+`"}`))
		req.Header.Set("Authorization", "Bearer my-token")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	ev := srv.Evidence()
	fmt.Println("missing:", ev.Missing([]string{"a", "b", "c"}))
	fmt.Println("created twice:", ev.CreatedTwice)
	fmt.Println("most in one minute:", ev.MaxInWindow("minute"))
	// Output:
	// missing: [c]
	// created twice: [b]
	// most in one minute: 3
}
