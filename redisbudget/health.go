package redisbudget

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// health remembers a recent Redis failure so that calls made during the
// retry interval do not pay the timeout again. Times are wall-clock.
type health struct {
	downUntil atomic.Int64 // unix nanoseconds; 0 when Redis is believed up
	mu        sync.Mutex
	lastErr   error
}

// usable reports whether Redis may be called now, and the last failure if not.
func (h *health) usable() (bool, error) {
	until := h.downUntil.Load()
	if until == 0 || time.Now().UnixNano() >= until {
		return true, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return false, h.lastErr
}

func (h *health) fail(err error, retry time.Duration) {
	h.mu.Lock()
	h.lastErr = err
	h.mu.Unlock()
	h.downUntil.Store(time.Now().Add(retry).UnixNano())
}

func (h *health) succeed() {
	if h.downUntil.Load() != 0 {
		h.downUntil.Store(0)
	}
}

// run runs script with a wall-clock bound of timeout, whatever the client's
// own timeouts: when the bound passes, run returns and the call is left to
// finish (or time out) in its goroutine.
func run(ctx context.Context, timeout time.Duration, rdb redis.Scripter, script *redis.Script, keys []string, args []any) ([]any, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   []any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := script.Run(ctx, rdb, keys, args...).Slice()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
