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
// reports the fallback's usage when the fallback is a pacer.UsageReporter
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
	if s.health.anyDown() {
		if r, isReporter := s.cfg.fallback.(pacer.UsageReporter); isReporter {
			return r.Usage()
		}
	}
	out := make([]pacer.Usage, len(names))
	for i, name := range names {
		out[i] = pacer.Usage{Scope: name, Queued: scs[i].queued()}
	}
	if len(names) == 0 || (!s.health.perSlot && s.health.anyDown()) {
		return out
	}
	now, at, err := s.usageNow()
	if err != nil {
		return out
	}
	min := "(" + strconv.FormatInt(now, 10)
	reads, _ := bounded(context.Background(), s.cfg.timeout, func(ctx context.Context) ([]scopeRead, error) {
		reads := make([]scopeRead, len(names))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, name := range names {
				k := keysOf(s.cfg.prefix, name)
				if ok, _ := s.health.of(k).usable(); !ok {
					continue // a node down or stuck would hold up the whole read
				}
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
		reads[i].fill(&out[i], now, at)
	}
	return out
}

// usageNow is "now" on the scripts' clock in microseconds (Redis TIME, as
// estimated from this host's clock, or the store's clock with
// WithLocalTime), and the same instant on the store's clock.
func (s *Store) usageNow() (int64, time.Time, error) {
	at := s.cfg.clock.Now()
	if !s.cfg.serverTime {
		return at.UnixMicro(), at, nil
	}
	local := s.srv.local()
	off, _, ok := s.srv.offset(local)
	if !ok {
		srv, err := serverTime(context.Background(), s.cfg.timeout, s.rdb)
		if err != nil {
			return 0, at, err
		}
		s.srv.sample(local, s.srv.local(), srv)
		return srv, at, nil
	}
	return local + off, at, nil
}

// scopeRead is the pipelined read of one scope; a nil command was not sent.
type scopeRead struct {
	inWindow, inFlight *redis.IntCmd
	learned            *redis.SliceCmd
}

// fill sets u from the read, if every part of it succeeded. now is the
// scripts' clock in µs, at the same instant on the store's clock.
func (r scopeRead) fill(u *pacer.Usage, now int64, at time.Time) {
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
		u.Learned.Reset = at.Add(time.Duration(reset-now) * time.Microsecond)
	}
}
