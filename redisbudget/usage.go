package redisbudget

import (
	"context"
	"strconv"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/redis/go-redis/v9"
)

// Usage reports every scope this Store has reserved in: slots counted in the
// shortest window and in flight across all processes, this process's queue,
// and the last limit a response taught. While Redis is unavailable it
// reports the fallback's usage when the fallback reports usage
// (on a cluster: while any slot is believed down), and this process's queues
// otherwise.
//
// It reads each scope with plain commands (ZCOUNT, ZCOUNT, HMGET) sent in one
// pipeline bounded by the store's timeout: go-redis sends a Cluster client's
// pipeline to each node for its slots, so scopes in different slots cost one
// round trip per node, and never a cross-slot call. A scope whose read fails
// reports its queue only. Usage is a metrics read: its failures never mark
// Redis down for Reserve and Observe.
func (s *Store) Usage() []pacer.Usage {
	names, scs := s.snapshot()
	if s.nodes.anyDown() {
		if r, isReporter := s.cfg.fallback.(interface{ Usage() []pacer.Usage }); isReporter {
			return r.Usage()
		}
	}
	out := make([]pacer.Usage, len(names))
	for i, name := range names {
		out[i] = pacer.Usage{Scope: name, Queued: scs[i].queued()}
	}
	if len(names) == 0 {
		return out
	}
	at := s.cfg.clock.Now()
	reads, _ := bounded(context.Background(), s.cfg.timeout, func(ctx context.Context) ([]scopeRead, error) {
		reads := make([]scopeRead, len(names))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, name := range names {
				k := keysOf(s.cfg.prefix, name)
				now, ok := s.usageNow(k, at)
				if !ok {
					continue
				}
				reads[i].now = now
				min := "(" + strconv.FormatInt(now, 10)
				if ws := scs[i].windows(); len(ws) > 0 {
					reads[i].inWindow = p.ZCount(ctx, k.window(ws[0].us), min, "+inf")
				}
				reads[i].inFlight = p.ZCount(ctx, k.inFlight(), min, "+inf")
				reads[i].learned = p.HMGet(ctx, k.learned(), "limit", "remaining", "reset", "window")
			}
			return nil
		})
		if refusedByCluster(err) {
			err = nil // the scopes read are kept; the others report their queue
		}
		return reads, err
	})
	for i := range reads {
		reads[i].fill(&out[i], at)
	}
	return out
}

// usageNow is "now" on the scripts' clock for scope keys k, in µs: the TIME
// of the node serving k as estimated from this host's clock, or at (the
// store's clock) with WithLocalTime. ok is false when the scope is not to
// be read: its node is believed down (a node down or stuck would hold up
// the whole read), or its TIME has never been sampled.
func (s *Store) usageNow(k keys, at time.Time) (now int64, ok bool) {
	nd := s.nodes.of(k)
	if up, _ := nd.health.usable(); !up {
		return 0, false
	}
	if !s.cfg.serverTime {
		return at.UnixMicro(), true
	}
	local := localMicros()
	off, _, ok := nd.clock.offset(local)
	return local + off, ok
}

// scopeRead is the pipelined read of one scope; a nil command was not sent.
// It belongs to one Usage call and is read only after the pipeline ends.
type scopeRead struct {
	now                int64 // the scripts' clock in µs, when the read was made
	inWindow, inFlight *redis.IntCmd
	learned            *redis.SliceCmd
}

// fill sets u from the read, if every part of it succeeded. at is r.now on
// the store's clock.
func (r scopeRead) fill(u *pacer.Usage, at time.Time) {
	if r.inFlight == nil || r.inFlight.Err() != nil || r.learned.Err() != nil ||
		(r.inWindow != nil && r.inWindow.Err() != nil) {
		return
	}
	if r.inWindow != nil {
		u.InWindow = int(r.inWindow.Val())
	}
	u.InFlight = int(r.inFlight.Val())
	h := r.learned.Val()
	num := func(i int) (int64, bool) {
		if i >= len(h) {
			return 0, false
		}
		str, _ := h[i].(string)
		n, err := strconv.ParseInt(str, 10, 64)
		return n, err == nil
	}
	remaining, ok := num(1)
	if !ok {
		return
	}
	limit, _ := num(0)
	win, _ := num(3)
	u.Learned = pacer.RateLimit{Limit: int(limit), Remaining: int(remaining), Window: time.Duration(win) * time.Microsecond}
	if reset, ok := num(2); ok {
		u.Learned.Reset = at.Add(time.Duration(reset-r.now) * time.Microsecond)
	}
}
