package redisbudget

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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
// one per master for a Cluster client, so that a node that is down or stuck
// costs only the scopes it serves (the first call pays the timeout, the
// others fail at once for the retry interval) while the others go on, and
// each node's TIME is estimated on its own. A scope's node is the master
// the client's cached view of the cluster names for its slot; while the
// client has no view yet (before its first call), the slot stands for the
// node. A failover gives the slot a new master, known afresh. The entries
// are at most one per master address and one per slot. A nodes is safe for
// concurrent use.
type nodes struct {
	cluster *redis.ClusterClient // nil: one Redis
	one     node

	mu  sync.Mutex
	all map[string]*node // by master address, or "slot <n>"
}

// of returns the node that serves scope keys k.
func (ns *nodes) of(k keys) *node {
	if ns.cluster == nil {
		return &ns.one
	}
	name := ns.master(k)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	n := ns.all[name]
	if n == nil {
		if ns.all == nil {
			ns.all = make(map[string]*node)
		}
		n = &node{}
		ns.all[name] = n
	}
	return n
}

// master names the master serving k in the client's cached view of the
// cluster, or k's slot while the client has none. It never waits: with a
// context that has ended, go-redis answers from its cache or fails at once
// (before its first call, when it then falls back to the addresses it was
// configured with, which it uses at that point anyway).
func (ns *nodes) master(k keys) string {
	if c, err := ns.cluster.MasterForKey(endedCtx, k.learned()); err == nil {
		return c.Options().Addr
	}
	return "slot " + strconv.Itoa(int(k.slot()))
}

// endedCtx is a context that has ended, for calls that must not wait.
var endedCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// anyDown reports whether some part of Redis is believed down.
func (ns *nodes) anyDown() bool {
	if ns.cluster == nil {
		ok, _ := ns.one.health.usable()
		return !ok
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, n := range ns.all {
		if ok, _ := n.health.usable(); !ok {
			return true
		}
	}
	return false
}
