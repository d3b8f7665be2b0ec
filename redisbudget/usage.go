package redisbudget

import (
	"context"
	"time"

	"github.com/pacerhq/pacer"
)

// Usage reports every scope this Store has reserved in, read from Redis in
// one call bounded by the store's timeout: slots counted in the shortest
// window and in flight across all processes, this process's queue, and the
// last limit a response taught. While Redis is unavailable it reports the
// fallback's usage when the fallback reports usage, and this
// process's queues otherwise. The Redis keys of all scopes are read by one
// script, so on Redis Cluster Usage works only for scopes in one slot.
func (s *Store) Usage() []pacer.Usage {
	names, scs := s.snapshot()
	if ok, _ := s.health.usable(); !ok {
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
	if ok, _ := s.health.usable(); !ok {
		return out
	}
	st := s.stamp()
	keys := make([]string, 0, 3*len(names))
	args := []any{st.arg()}
	for i, name := range names {
		k := keysOf(s.cfg.prefix, name)
		ws := scs[i].windows()
		if len(ws) == 0 {
			keys = append(keys, k.learned(), k.inFlight(), k.inFlight())
			args = append(args, "0")
			continue
		}
		keys = append(keys, k.learned(), k.inFlight(), k.window(ws[0].us))
		args = append(args, "1")
	}
	res, err := run(context.Background(), s.cfg.timeout, s.rdb, usageScript, keys, args)
	if err != nil {
		s.health.fail(err, s.cfg.retry)
		return out
	}
	for i := range out {
		if i < len(res) {
			fillUsage(&out[i], res[i], st.now)
		}
	}
	return out
}

func fillUsage(u *pacer.Usage, reply any, now time.Time) {
	f, _ := reply.([]any)
	n := make([]int64, 7)
	for i := range n {
		if i < len(f) {
			n[i], _ = f[i].(int64)
		}
	}
	u.InWindow, u.InFlight = int(n[0]), int(n[1])
	if n[3] < 0 {
		return
	}
	u.Learned = pacer.RateLimit{Limit: int(n[2]), Remaining: int(n[3]), Window: time.Duration(n[6]) * time.Microsecond}
	if n[5] == 1 {
		u.Learned.Reset = now.Add(time.Duration(n[4]) * time.Microsecond)
	}
}
