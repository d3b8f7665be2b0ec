package redisbudget

import (
	"sync"
	"sync/atomic"
	"time"
)

// health remembers a recent Redis failure so that calls made during the
// retry interval do not pay the timeout again. Times are wall-clock. A
// health is safe for concurrent use.
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

// healthSet is a Store's memory of failures: one health for a single Redis,
// and one per hash slot for a Cluster client, so that a node that is down or
// stuck costs only the scopes whose slots it serves (each slot pays the
// timeout once per retry interval) while the others go on. Slots are known
// without asking the cluster (a scope's slot is the CRC16 of its hash tag),
// so a failover that moves a slot needs nothing: the slot is tried again
// after the retry interval, wherever it lives. At most 16384 entries
// (one per slot). A healthSet is safe for concurrent use.
type healthSet struct {
	perSlot bool
	one     health

	mu    sync.Mutex
	slots map[uint16]*health
}

// of returns the health that covers scope keys k.
func (hs *healthSet) of(k keys) *health {
	if !hs.perSlot {
		return &hs.one
	}
	slot := k.slot()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.slots[slot]
	if h == nil {
		if hs.slots == nil {
			hs.slots = make(map[uint16]*health)
		}
		h = &health{}
		hs.slots[slot] = h
	}
	return h
}

// anyDown reports whether some part of Redis is believed down.
func (hs *healthSet) anyDown() bool {
	if !hs.perSlot {
		ok, _ := hs.one.usable()
		return !ok
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hs.slots {
		if ok, _ := h.usable(); !ok {
			return true
		}
	}
	return false
}
