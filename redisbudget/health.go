package redisbudget

import (
	"sync"
	"sync/atomic"
	"time"
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
