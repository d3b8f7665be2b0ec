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

// node is what a Store knows of the Redis node serving some scopes: its
// health and its clock. A node is safe for concurrent use.
type node struct {
	health health
	clock  serverClock
}

// nodes is a Store's knowledge of Redis: one node for a single Redis, and
// one per hash slot for a Cluster client, so that a node that is down or
// stuck costs only the scopes whose slots it serves (each slot pays the
// timeout once per retry interval) while the others go on, and each node's
// TIME is estimated on its own. Slots are known without asking the cluster
// (a scope's slot is the CRC16 of its hash tag), so a failover that moves a
// slot needs nothing: the slot is tried again after the retry interval,
// wherever it lives. At most 16384 entries (one per slot). A nodes is safe
// for concurrent use.
type nodes struct {
	perSlot bool
	one     node

	mu    sync.Mutex
	slots map[uint16]*node
}

// of returns the node that serves scope keys k.
func (ns *nodes) of(k keys) *node {
	if !ns.perSlot {
		return &ns.one
	}
	slot := k.slot()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	n := ns.slots[slot]
	if n == nil {
		if ns.slots == nil {
			ns.slots = make(map[uint16]*node)
		}
		n = &node{}
		ns.slots[slot] = n
	}
	return n
}

// anyDown reports whether some part of Redis is believed down.
func (ns *nodes) anyDown() bool {
	if !ns.perSlot {
		ok, _ := ns.one.health.usable()
		return !ok
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, n := range ns.slots {
		if ok, _ := n.health.usable(); !ok {
			return true
		}
	}
	return false
}
