package redisbudget_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/redisbudget"
	"github.com/redis/go-redis/v9"
)

// Every process that runs this shares one budget of 100 requests per minute
// to each host, kept in Redis. If Redis goes away, each process falls back
// to the same budget in memory until it is back.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()

	client := pacer.NewClient(
		pacer.WithStore(redisbudget.New(rdb, redisbudget.FailOpen())),
		pacer.WithBudget(100, time.Minute),
	)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1/items", nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
}

// By default the store fails closed: when Redis cannot be reached, Reserve
// returns an error matching ErrUnavailable within the store's timeout.
func ExampleUnavailableError() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	store := redisbudget.New(rdb, redisbudget.WithTimeout(100*time.Millisecond))

	ticket := pacer.Ticket{Scope: "api.example.com", Budgets: []pacer.Budget{{Limit: 10, Window: time.Second}}}
	_, err := store.Reserve(context.Background(), ticket)
	fmt.Println(errors.Is(err, redisbudget.ErrUnavailable))
	// Output: true
}

// With FailOpen the store serves from memory while Redis is unavailable.
func ExampleFailOpen() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	store := redisbudget.New(rdb, redisbudget.FailOpen(), redisbudget.WithTimeout(100*time.Millisecond))

	ticket := pacer.Ticket{Scope: "api.example.com", Budgets: []pacer.Budget{{Limit: 10, Window: time.Second}}}
	slot, err := store.Reserve(context.Background(), ticket)
	fmt.Println(err)
	store.Observe(slot, pacer.Outcome{Sent: false})
	// Output: <nil>
}
