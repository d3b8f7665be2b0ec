package redisbudget

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Scores and times in the scripts are integer microseconds on the clock
// named by ARGV[1] (the caller's reading, or Redis TIME when it is empty).
// Numbers go back to Redis through fmt (%.0f) because Lua's default
// conversion keeps only 14 significant digits.
//
// The learned hash of a scope holds: sent and done, the cumulative counts of
// grants that were (or may yet be) sent and of answers to them; block, no
// grant before it; headers, whether the latest answer (status below 500)
// carried rate-limit headers (1) or not (2); and limit, remaining, reset and
// window, the latest limit a response named (for Usage). It lives at least
// MaxInFlight after the latest grant, so the counters outlive every slot in
// flight. After a bare 429 (no headers, no Retry-After) it holds bnext, the
// current hold's length, and buntil, no grant before it; once buntil has
// passed, one request at a time is sent (a probe) until an answer other
// than 429 clears both. rstart and rok count the run of successes since
// rstart; when a probe ends a lockout (a hold in which probes were refused)
// rok over the time since rstart is the rate the server sustains, rbase, and
// rgap (1/rate, at most 1/resumeFloor) paces every grant: it climbs back by
// 0.2% of rbase with each success, is cut to 0.7 times by each new hold,
// and goes once it reaches 4 times rbase. The caps set (member "n" with
// score T: "no grant while sent >= n, until T") held the learned caps
// before they were kept per pool (see the pools hash in the prelude); it is
// still read, so that processes of an older version that write it are
// heeded.
const prelude = `
local function fmt(x) return string.format('%.0f', x) end
local function ms(us) return fmt(math.ceil(us / 1000)) end
local function servertime()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function clock(arg)
  local now = tonumber(arg)
  if now then return now end
  return servertime()
end
-- Pools: the pools hash of a scope holds 'list' (pool ids, newline
-- separated, oldest first, at most 8), 'star' (grants in flight charged to
-- every pool: their route's pool was unknown) and, for each pool P, P..US..f
-- with f one of s (grants charged to P), d (answers to them), b (no grant
-- before), cb and cu (no grant while s >= cb, until cu).
local US = '\31'
local function poolList(pk)
  local l = redis.call('HGET', pk, 'list')
  local t = {}
  if l then for p in string.gmatch(l, '[^\n]+') do t[#t+1] = p end end
  return t
end
local function poolState(pk, p)
  local v = redis.call('HMGET', pk, p..US..'s', p..US..'d', p..US..'b', p..US..'cb', p..US..'cu')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]), tonumber(v[5]) or 0
end
-- keepPools sets the expiry of the pools and routes hashes: MaxInFlight
-- past now, or the latest block or cap end of a pool if later.
local function keepPools(pk, rk, now, maxf, slack)
  local last = now + maxf
  for _, p in ipairs(poolList(pk)) do
    local _, _, b, _, cu = poolState(pk, p)
    last = math.max(last, b, cu)
  end
  redis.call('PEXPIRE', pk, ms(last - now + slack))
  redis.call('PEXPIRE', rk, ms(last - now + slack))
end
local function keepLearned(h, now, maxf, slack)
  local b = redis.call('HMGET', h, 'block', 'buntil')
  local block, buntil = tonumber(b[1]) or 0, tonumber(b[2]) or 0
  redis.call('PEXPIRE', h, ms(math.max(maxf, block - now, buntil - now) + slack))
end
`

// Verdict reasons returned by reserveScript when it denies.
const (
	whyWindow   = 1 // a window is full; wait is when its oldest slot frees
	whyInFlight = 2 // waiting for an answer: a window full of requests in flight, or probing
	whyBlocked  = 3 // a learned block (429 Retry-After, "0 remaining")
	whyCapped   = 4 // a learned cap ("R remaining") is used up
	whyPaced    = 5 // Ticket.Pace spacing
	whyProbing  = 6 // no learned cap in force: one request at a time until an answer
	whyExpired  = 7 // the script ran after the deadline its caller set; nothing was taken
	whyHeld     = 8 // Redis lost the scope's windows: held one window from the new epoch
	whyBare     = 9 // held after a bare 429 (no headers, no Retry-After)
)

// resumeFloor is the slowest pace set when a lockout ends (requests per
// second), as pacer.MemoryStore's adaptive floor.
const resumeFloor = 0.5

// Bounds of the scope-wide hold after a bare 429, as in pacer.MemoryStore:
// 1 s, doubled by each probe refused again, up to 1 min.
const (
	bareHoldMin = time.Second
	bareHoldMax = time.Minute
)

// reserveScript checks and takes one slot in every window of a scope.
//
// KEYS: 1 learned hash, 2 in-flight set, 3 caps set, 4 pace key, 5 epoch
// hash, 6 routes hash, 7 pools hash, 8.. one sorted set per window. ARGV:
// 1 now, 2 member, 3 max
// in-flight, 4 key slack, 5 pace interval (0: no pacing), 6 poll interval,
// 7 learning (1/0), 8 probe interval, 9 expiry (Redis TIME in µs after which
// the caller has given up, "" none), 10 the epoch the caller expects (""
// none), 11 a new epoch id, 12 hold (the longest window), 13 the ticket's
// route ("" none), then limit and window length for each window key.
// Returns {1, now, done, TIME, epoch, pool, markP} when granted (pool: the
// pool the grant is charged to, "" for every pool; markP: that pool's
// answer count), {0, wait, why, TIME, epoch, "", 0} when not; a script that
// runs past its expiry takes nothing and returns {0, 0, whyExpired, TIME,
// "", "", 0}.
//
// A route whose pool is known (the routes hash, learned from answers) is
// held back by that pool's block and cap only; a route not known yet by
// every pool's.
//
// The epoch hash names the scope's current life in Redis (id) and since
// when (since). A caller that expects an epoch has granted in the scope
// recently enough that the hash must still exist (it lives as long as the
// longest window plus MaxInFlight after every grant); finding none, or
// another id, means Redis lost the scope's windows (a restart without
// persistence, a failover to a replica that had not caught up), so the
// scope is held, nothing granted, until one hold (the longest window) after
// the new epoch began: every request the lost windows counted has left the
// server's window by then.
var reserveScript = redis.NewScript(prelude + `
local srv = servertime()
local expiry = tonumber(ARGV[9])
if expiry and srv > expiry then return {0, 0, 7, srv, '', '', 0} end
local now, member = clock(ARGV[1]), ARGV[2]
if ARGV[1] == '' then now = srv end
local maxf, slack = tonumber(ARGV[3]), tonumber(ARGV[4])
local pace, poll, learning = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local probe = tonumber(ARGV[8])
local expected, holdLen = ARGV[10], tonumber(ARGV[12])
local ek = KEYS[5]
local h, fl, caps = KEYS[1], KEYS[2], KEYS[3]

local lost = redis.call('ZREMRANGEBYSCORE', fl, '-inf', fmt(now))
if lost > 0 then redis.call('HINCRBY', h, 'done', lost) end
local st = redis.call('HMGET', h, 'sent', 'done', 'block', 'headers', 'bnext', 'buntil', 'rgap')
local sent, done = tonumber(st[1]) or 0, tonumber(st[2]) or 0
local block, headers = tonumber(st[3]), tonumber(st[4]) or 0
local bnext, buntil = tonumber(st[5]), tonumber(st[6]) or 0
local rgap = tonumber(st[7])
if redis.call('ZSCORE', fl, member) then return {1, now, done, srv, epoch, '', 0} end

local ep = redis.call('HMGET', ek, 'id', 'since', 'hold')
local epoch, since, hold = ep[1], tonumber(ep[2]), tonumber(ep[3])
if not epoch then
  epoch, since = ARGV[11], now
  redis.call('HSET', ek, 'id', epoch, 'since', fmt(now))
  redis.call('PEXPIRE', ek, ms(holdLen + maxf + slack))
end
if expected ~= '' and expected ~= epoch and holdLen > 0 then
  local h2 = since + holdLen
  if not hold or h2 > hold then
    hold = h2
    redis.call('HSET', ek, 'hold', fmt(hold))
  end
end

local rk, pk, route = KEYS[6], KEYS[7], ARGV[13]
local pools = poolList(pk)
local mine = nil
if route ~= '' then mine = redis.call('HGET', rk, route) or nil end
local check = pools
if mine then
  check = {}
  for _, p in ipairs(pools) do if p == mine then check = {mine} end end
  if #check == 0 then mine, check = nil, pools end
end

local wait, why = 0, 0
local function later(w, r) if w > wait then wait, why = w, r end end
if hold and hold > now then later(hold - now, 8) end
if learning then
  if block and block > now then later(block - now, 3) end
  if bnext then
    if buntil > now then later(buntil - now, 9)
    elseif redis.call('ZCARD', fl) > 0 then later(probe, 6) end
  end
  if rgap and rgap > pace then pace = rgap end
  redis.call('ZREMRANGEBYSCORE', caps, '-inf', fmt(now))
  local cs = redis.call('ZRANGE', caps, 0, -1, 'WITHSCORES')
  for j = 1, #cs, 2 do
    if tonumber(cs[j]) <= sent then later(tonumber(cs[j+1]) - now, 4) end
  end
  local capped = #cs > 0
  for _, p in ipairs(check) do
    local ps, _, pb, pcb, pcu = poolState(pk, p)
    if pb > now then later(pb - now, 3) end
    if pcb and pcu > now then
      capped = true
      if ps >= pcb then later(pcu - now, 4) end
    end
  end
  local probing = headers == 1 or (headers == 0 and #KEYS == 7)
  if not capped and probing and redis.call('ZCARD', fl) > 0 then later(probe, 6) end
end
if pace > 0 then
  local nxt = tonumber(redis.call('GET', KEYS[4]))
  if nxt and nxt > now then later(nxt - now, 5) end
end
for i = 8, #KEYS do
  local limit, win = tonumber(ARGV[2*i-2]), tonumber(ARGV[2*i-1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', fmt(now))
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local free = tonumber(redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')[2])
    if free > now + win then later(math.min(win, poll), 2) else later(free - now, 1) end
  end
end
if wait > 0 then
  if lost > 0 then keepLearned(h, now, maxf, slack) end
  return {0, wait, why, srv, epoch, '', 0}
end

for i = 8, #KEYS do
  local win = tonumber(ARGV[2*i-1])
  redis.call('ZADD', KEYS[i], fmt(now + win + maxf), member)
  redis.call('PEXPIRE', KEYS[i], ms(win + maxf + slack))
end
redis.call('ZADD', fl, fmt(now + maxf), member)
redis.call('PEXPIRE', fl, ms(maxf + slack))
redis.call('HINCRBY', h, 'sent', 1)
keepLearned(h, now, maxf, slack)
redis.call('PEXPIRE', ek, ms(math.max(holdLen, (hold or 0) - now) + maxf + slack))
if pace > 0 then redis.call('SET', KEYS[4], fmt(now + pace), 'PX', ms(pace + slack)) end
-- charge the grant to its route's pool, or to every pool (star) when the
-- route's pool is unknown; markP is the pool's answer count now
local markP = 0
if mine then
  markP = tonumber(redis.call('HGET', pk, mine..US..'d')) or 0
  redis.call('HINCRBY', pk, mine..US..'s', 1)
else
  local star = redis.call('HINCRBY', pk, 'star', 1)
  local nf = redis.call('ZCARD', fl)
  if star > nf then redis.call('HSET', pk, 'star', nf) end
  for _, p in ipairs(pools) do redis.call('HINCRBY', pk, p..US..'s', 1) end
end
keepPools(pk, rk, now, maxf, slack)
return {1, now, done, srv, epoch, mine or '', markP}
`)

// observeScript releases a slot into its windows and records what the
// response taught.
//
// KEYS: 1 learned hash, 2 in-flight set, 3 caps set (legacy: read, no
// longer written), 4 routes hash, 5 pools hash, 6.. the slot's window sets. ARGV: 1 now, 2 member, 3 sent (1/0), 4 max in-flight, 5 key slack,
// 6 mark (done at grant), 7 learning (1/0), 8 status, 9 block-until offset
// ("" none), 10 remaining ("" none), 11 reset offset ("" none), 12 limit,
// 13 window named by the server (0 none), 14 offset of At, 15 offset of
// the slot's grant, 16 bare hold minimum, 17 bare hold maximum, 18 the
// longest resume pace interval, 19 the pool the grant was charged to (""
// every pool), 20 its markP, 21 the route ("" none), 22 the pool the answer
// names ("" none), then for each window key: its length and the offset of
// its release (At + length).
var observeScript = redis.NewScript(prelude + `
local now, member, sent = clock(ARGV[1]), ARGV[2], ARGV[3] == '1'
local maxf, slack, mark = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h, fl, caps = KEYS[1], KEYS[2], KEYS[3]

local rk, pk = KEYS[4], KEYS[5]
local charged, markP, route, named = ARGV[19], tonumber(ARGV[20]), ARGV[21], ARGV[22]
local live = redis.call('ZREM', fl, member) == 1
local doneBefore = tonumber(redis.call('HGET', h, 'done')) or 0
local function inList(p)
  for _, q in ipairs(poolList(pk)) do if q == p then return true end end
  return false
end
-- release takes the slot's charge out of its pools: answered (d) when
-- sent, uncharged (s) when not.
local function release()
  if not live then return end
  local f, inc = 'd', 1
  if not sent then f, inc = 's', -1 end
  if charged ~= '' then
    if inList(charged) then redis.call('HINCRBY', pk, charged..US..f, inc) end
    return
  end
  if (tonumber(redis.call('HGET', pk, 'star')) or 0) > 0 then redis.call('HINCRBY', pk, 'star', -1) end
  for _, p in ipairs(poolList(pk)) do redis.call('HINCRBY', pk, p..US..f, inc) end
end
if live and sent then redis.call('HINCRBY', h, 'done', 1) end
if live and not sent then redis.call('HINCRBY', h, 'sent', -1) end
for i = 6, #KEYS do
  local win, rel = tonumber(ARGV[2*i+11]), tonumber(ARGV[2*i+12])
  if sent then
    redis.call('ZADD', KEYS[i], fmt(now + rel), member)
    redis.call('PEXPIRE', KEYS[i], ms(win + maxf + slack))
  else
    redis.call('ZREM', KEYS[i], member)
  end
end
if ARGV[7] ~= '1' or not sent then
  release()
  if live then keepLearned(h, now, maxf, slack) end
  keepPools(pk, rk, now, maxf, slack)
  return {1}
end

local status, at = tonumber(ARGV[8]), now + tonumber(ARGV[14])
local remaining = tonumber(ARGV[10])
if status > 0 and status < 500 then redis.call('HSET', h, 'headers', remaining and '1' or '2') end
local blockOff = tonumber(ARGV[9])
if remaining then
  -- the answer names a pool: its name, else its limit
  local P = 'l:'..ARGV[12]
  if named ~= '' then P = 'n:'..named end
  local pools = poolList(pk)
  if not inList(P) then
    if #pools >= 8 then
      local old = table.remove(pools, 1)
      redis.call('HDEL', pk, old..US..'s', old..US..'d', old..US..'b', old..US..'cb', old..US..'cu')
    end
    pools[#pools+1] = P
    redis.call('HSET', pk, 'list', table.concat(pools, '\n'), P..US..'s', tonumber(redis.call('HGET', pk, 'star')) or 0, P..US..'d', 0)
  end
  if route ~= '' then
    if redis.call('HLEN', rk) >= 512 and redis.call('HEXISTS', rk, route) == 0 then redis.call('DEL', rk) end
    redis.call('HSET', rk, route, P)
  end
  local _, pd, pb, pcb, pcu = poolState(pk, P)
  if blockOff and blockOff > 0 then
    if now + blockOff > pb then redis.call('HSET', pk, P..US..'b', fmt(now + blockOff)) end
    blockOff = nil
  end
  local win = tonumber(ARGV[13])
  if win <= 0 then win = tonumber(redis.call('HGET', h, 'window')) or 1000000 end
  local resetOff = tonumber(ARGV[11])
  local untilT = resetOff and (now + resetOff) or (at + win)
  if live and untilT > at then
    -- the answer's own request counts in P unless charged to another pool;
    -- a grant not charged to P alone has P's answer count at its grant
    -- bounded below by P's count now less the scope's answers since
    local m, own = markP, 1
    if charged ~= P then m = math.max(0, pd - (doneBefore - mark)) end
    if charged ~= '' and charged ~= P then own = 0 end
    local bound = m + own + math.max(remaining, 0)
    if pcb and pcu > now and math.abs(untilT - pcu) <= 1000000 then
      redis.call('HSET', pk, P..US..'cb', fmt(math.min(bound, pcb)), P..US..'cu', fmt(math.max(untilT, pcu)))
    elseif not pcb or pcu <= now or untilT > pcu then
      redis.call('HSET', pk, P..US..'cb', fmt(bound), P..US..'cu', fmt(untilT))
    end
  end
end
release()
local b = redis.call('HMGET', h, 'bnext', 'buntil', 'rstart', 'rok', 'rgap', 'rbase')
local bnext, buntil = tonumber(b[1]), tonumber(b[2]) or 0
local rstart, rok, rgap, rbase = tonumber(b[3]), tonumber(b[4]) or 0, tonumber(b[5]), tonumber(b[6])
local granted, bmin, bmax, gapMax = now + tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[17]), tonumber(ARGV[18])
if status > 0 and status < 500 and status ~= 429 then
  if bnext and granted >= buntil and bnext > bmin and rok > 0 and rstart and at > rstart then
    -- a probe ends a lockout: the run's successes over the run and the
    -- lockout are the rate the server sustains; pace the scope at it
    rbase = rok * 1000000 / (at - rstart)
    redis.call('HSET', h, 'rgap', fmt(math.min(1000000 / rbase, gapMax)), 'rbase', tostring(rbase), 'rstart', fmt(at), 'rok', 1)
  else
    if not rstart then redis.call('HSET', h, 'rstart', fmt(at)) end
    redis.call('HINCRBY', h, 'rok', 1)
    if rgap then -- climb back, 30% of the base rate per 150 successes
      local r = 1000000 / rgap + 0.002 * rbase
      if r >= 4 * rbase then redis.call('HDEL', h, 'rgap', 'rbase')
      else redis.call('HSET', h, 'rgap', fmt(math.min(1000000 / r, gapMax))) end
    end
  end
  redis.call('HDEL', h, 'bnext', 'buntil')
elseif status == 429 and not remaining and not blockOff then
  -- a bare 429: hold the scope, longer for each probe refused again
  local nxt
  if not bnext then
    nxt = bmin
    if rgap then redis.call('HSET', h, 'rgap', fmt(math.min(rgap / 0.7, gapMax))) end
  elseif granted >= buntil then nxt = math.min(2 * bnext, bmax) end
  if nxt then redis.call('HSET', h, 'bnext', fmt(nxt), 'buntil', fmt(at + nxt)) end
end
if blockOff and blockOff > 0 then
  local b = now + blockOff
  local old = tonumber(redis.call('HGET', h, 'block'))
  if not old or b > old then redis.call('HSET', h, 'block', fmt(b)) end
end
if remaining then
  local win = tonumber(ARGV[13])
  if win > 0 then redis.call('HSET', h, 'window', ARGV[13]) else win = tonumber(redis.call('HGET', h, 'window')) or 1000000 end
  local resetOff = tonumber(ARGV[11])
  local untilT = resetOff and (now + resetOff) or (at + win)
  redis.call('HSET', h, 'limit', ARGV[12], 'remaining', ARGV[10], 'reset', fmt(untilT))
end
keepLearned(h, now, maxf, slack)
keepPools(pk, rk, now, maxf, slack)
return {1}
`)

// run runs script with a wall-clock bound of timeout, whatever the client's
// own timeouts (see bounded).
func run(parent context.Context, timeout time.Duration, rdb redis.Scripter, script *redis.Script, keys []string, args []any) ([]any, error) {
	return bounded(parent, timeout, func(ctx context.Context) ([]any, error) {
		return script.Run(ctx, rdb, keys, args...).Slice()
	})
}

// timeScript returns the TIME of the node serving KEYS[1] (which it does
// not touch: the key only routes the call on a cluster).
var timeScript = redis.NewScript(prelude + `return servertime()`)

// serverTime reads, in microseconds, the TIME of the node serving key,
// bounded like run.
func serverTime(parent context.Context, timeout time.Duration, rdb redis.Scripter, key string) (int64, error) {
	return bounded(parent, timeout, func(ctx context.Context) (int64, error) {
		return timeScript.Run(ctx, rdb, []string{key}).Int64()
	})
}

// bounded runs call with a wall-clock bound of timeout: when the bound
// passes, bounded returns and the call is left to finish (or time out, with
// a client that has ContextTimeoutEnabled) in its goroutine. It returns
// parent's error when parent ends first, and "no answer within timeout"
// (wrapping context.DeadlineExceeded) when the bound passes. A call refused
// by a cluster in motion (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING: Redis
// ran nothing) is tried again, redirectPause later, while the bound allows.
func bounded[T any](parent context.Context, timeout time.Duration, call func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		for {
			v, err := call(ctx)
			if !refusedByCluster(err) || ctx.Err() != nil {
				done <- result{v, err}
				return
			}
			select {
			case <-time.After(redirectPause):
			case <-ctx.Done():
				done <- result{v, err}
				return
			}
		}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		if parent.Err() != nil {
			return zero, parent.Err()
		}
		return zero, fmt.Errorf("no answer within %v: %w", timeout, ctx.Err())
	}
}

// redirectPause is how long bounded waits before sending again a call a
// cluster refused: about the time a failover or slot migration step takes to
// reach the client's view of the cluster, and small against the default 200
// ms bound (up to 40 tries).
const redirectPause = 5 * time.Millisecond

// refusedByCluster reports whether err is a Redis error saying the call was
// not run and may be sent again: a redirect the client did not follow, or a
// cluster (or server) not ready for it.
func refusedByCluster(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	for _, p := range []string{"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN", "LOADING"} {
		if strings.HasPrefix(rerr.Error(), p) {
			return true
		}
	}
	return false
}
