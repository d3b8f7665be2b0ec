package redisbudget

import (
	"context"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/redis/go-redis/v9"
)

// heartbeatEvery is how often a store with FailOpenShare(0) says it is alive;
// a process counts while its latest heartbeat is younger than
// heartbeatEvery × heartbeatMissed, so a process that stops drops out of the
// count within three seconds, and one that is merely slow (a heartbeat is
// sent after a successful call, when due) does not flicker out.
const (
	heartbeatEvery  = time.Second
	heartbeatMissed = 3
)

// fleetCount is the number of processes sharing the store's key prefix, as
// last learned from the heartbeats in Redis. It is safe for concurrent use.
type fleetCount struct {
	mu   sync.Mutex
	n    int       // 0 until learned
	next time.Time // wall clock: when the next heartbeat is due
}

// fleetSize is the n of FailOpenShare: configured, learned, or 1 when not
// yet learned (or FailOpenShare not given).
func (s *Store) fleetSize() int {
	if s.cfg.share > 0 {
		return s.cfg.share
	}
	if s.cfg.share == 0 {
		return 1
	}
	s.fleet.mu.Lock()
	defer s.fleet.mu.Unlock()
	return max(1, s.fleet.n)
}

// heartbeat, when FailOpenShare(0) is set and one is due, records this store
// in the fleet key (a sorted set of store ids scored by Redis TIME), drops
// the ids silent for heartbeatMissed intervals and counts the rest, in one
// script bounded by the store's timeout. It is a best effort: a failure is
// not a sign that Redis is down (the call that just succeeded says it is
// not), and the next heartbeat is due a second later all the same.
func (s *Store) heartbeat() {
	if s.cfg.share != -1 {
		return
	}
	now := time.Now()
	s.fleet.mu.Lock()
	due := !now.Before(s.fleet.next)
	if due {
		s.fleet.next = now.Add(heartbeatEvery)
	}
	s.fleet.mu.Unlock()
	if !due {
		return
	}
	key := s.cfg.prefix + "fleet"
	n, err := bounded(context.Background(), s.cfg.timeout, func(ctx context.Context) (int64, error) {
		return heartbeatScript.Run(ctx, s.rdb, []string{key}, s.id,
			(heartbeatMissed * heartbeatEvery).Microseconds(), ms(heartbeatMissed*heartbeatEvery+keySlack)).Int64()
	})
	if err != nil {
		return
	}
	s.fleet.mu.Lock()
	s.fleet.n = int(n)
	s.fleet.mu.Unlock()
}

// heartbeatScript records ARGV[1] in the fleet set KEYS[1] at TIME, drops
// the members older than ARGV[2] µs, keeps the set ARGV[3] ms and returns
// how many remain.
var heartbeatScript = redis.NewScript(prelude + `
local now = servertime()
redis.call('ZADD', KEYS[1], fmt(now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. fmt(now - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])
`)

// ms is d in whole milliseconds, rounded up.
func ms(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

// shareOf returns budgets with each limit divided by n (rounded down, at
// least 1); the budgets themselves are not modified.
func shareOf(bs []pacer.Budget, n int) []pacer.Budget {
	if n <= 1 {
		return bs
	}
	out := make([]pacer.Budget, len(bs))
	for i, b := range bs {
		out[i] = b
		if b.Limit > 0 {
			out[i].Limit = max(1, b.Limit/n)
		}
	}
	return out
}
