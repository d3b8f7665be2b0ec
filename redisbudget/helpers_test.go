package redisbudget

import (
	"context"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var t0 = clocktest.Epoch

// env is one Redis server and a manual clock shared by the stores of a test,
// each store standing for one process.
type env struct {
	t     *testing.T
	redis *redisServer
	rdb   *redis.Client
	clock *clocktest.Manual
}

func newEnv(t *testing.T) *env {
	t.Helper()
	r := startRedis(t)
	return &env{t: t, redis: r, rdb: r.client(t), clock: clocktest.NewManual(t0)}
}

// store returns a Store on the env's Redis and manual clock (which the
// scripts use too: WithLocalTime), without jitter and polling no more often
// than a minute unless opts say otherwise.
func (e *env) store(opts ...Option) *Store {
	base := []Option{WithClock(e.clock), WithLocalTime(), WithJitter(0), WithPollInterval(time.Minute)}
	return New(e.rdb, append(base, opts...)...)
}

func ticket(scope string, bs ...pacer.Budget) pacer.Ticket {
	return pacer.Ticket{Scope: scope, Budgets: bs}
}

func per(limit int, window time.Duration) pacer.Budget {
	return pacer.Budget{Limit: limit, Window: window}
}

// try asks the reserve script once.
func try(t *testing.T, s *Store, tk pacer.Ticket) verdict {
	t.Helper()
	v, err := s.try(context.Background(), tk, windowsOf(tk.Budgets))
	require.NoError(t, err)
	return v
}

func grant(t *testing.T, s *Store, tk pacer.Ticket) pacer.Slot {
	t.Helper()
	v := try(t, s, tk)
	require.True(t, v.granted, "want a grant, got wait %v (why %d)", v.wait, v.why)
	return v.slot
}

func deny(t *testing.T, s *Store, tk pacer.Ticket, wait time.Duration, why int64) {
	t.Helper()
	v := try(t, s, tk)
	require.False(t, v.granted, "want a denial")
	require.Equal(t, wait, v.wait, "wait")
	require.Equal(t, why, v.why, "reason")
}

func answered(at time.Time) pacer.Outcome {
	return pacer.Outcome{Sent: true, At: at, Status: 200}
}

// unsent is the outcome of a request that never went out: its slot frees at once.
var unsent = pacer.Outcome{Sent: false}

// reserve calls Reserve with no deadline and requires a slot.
func reserve(t *testing.T, s *Store, tk pacer.Ticket) pacer.Slot {
	t.Helper()
	slot, err := s.Reserve(context.Background(), tk)
	require.NoError(t, err)
	return slot
}

// taken returns a store of the env (with opts), a ticket for scope "s"
// allowing one request a minute, and that request's slot, reserved and not
// yet observed.
func (e *env) taken(t *testing.T, opts ...Option) (*Store, pacer.Ticket, pacer.Slot) {
	t.Helper()
	s := e.store(opts...)
	tk := ticket("s", per(1, time.Minute))
	return s, tk, reserve(t, s, tk)
}

// sleeper runs Reserve in a goroutine, like reserveAsync, and returns once a
// timer is pending on the env's clock: the waiter has been denied and sleeps,
// so moving the clock now reaches it. Use it when no other timer is pending.
func (e *env) sleeper(t *testing.T, ctx context.Context, s *Store, tk pacer.Ticket) <-chan result {
	t.Helper()
	c := reserveAsync(ctx, s, tk)
	require.True(t, e.clock.WaitForTimers(1, 5*time.Second), "the waiter sleeps")
	return c
}

// keysOfServer lists every key in Redis.
func keysOfServer(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	var all []string
	iter := rdb.Scan(context.Background(), 0, "*", 100).Iterator()
	for iter.Next(context.Background()) {
		all = append(all, iter.Val())
	}
	require.NoError(t, iter.Err())
	return all
}

// reserveAsync runs Reserve in a goroutine; the result arrives on the channel.
func reserveAsync(ctx context.Context, s *Store, tk pacer.Ticket) <-chan result {
	c := make(chan result, 1)
	go func() {
		slot, err := s.Reserve(ctx, tk)
		c <- result{slot, err}
	}()
	return c
}

type result struct {
	slot pacer.Slot
	err  error
}

func await(t *testing.T, c <-chan result) result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Reserve did not return")
		return result{}
	}
}

func pending(t *testing.T, c <-chan result) {
	t.Helper()
	select {
	case r := <-c:
		t.Fatalf("Reserve returned early: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
}
