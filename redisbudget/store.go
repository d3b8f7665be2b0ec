package redisbudget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/redis/go-redis/v9"
)

// keySlack is how much longer than its content a key is kept, so that a key
// expires only after every member in it has stopped counting.
const keySlack = time.Second

// newWindowTolerance is how far a learned reset may move forward and still
// belong to the same server window (reset headers are often rounded to the
// second). A reset further ahead starts a new cap.
const newWindowTolerance = time.Second

// Store is a pacer.Store whose budgets live in Redis: every process that uses
// the same Redis, key prefix and scope draws from one budget. See the package
// documentation for the model. Build it with New; the zero value is not
// usable. A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	rdb   redis.UniversalClient
	cfg   config
	id    string // this Store's part of slot member names
	seq   atomic.Uint64
	nodes nodes
	later pendingQueue
	fleet fleetCount

	mu        sync.Mutex
	scopes    map[string]*scope
	nextSweep time.Time
}

var _ pacer.Store = (*Store)(nil)

// New returns a Store that keeps its budgets in rdb. Without options it
// reads the system clock, bounds every Redis call by 200ms and fails closed
// when Redis is unavailable (see FailOpen and WithFallback). Give rdb
// ContextTimeoutEnabled so that calls the store abandons stop at once too.
// New panics if rdb is nil.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	if rdb == nil {
		panic("redisbudget: New with a nil Redis client")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	cluster, _ := rdb.(*redis.ClusterClient)
	return &Store{
		nodes:  nodes{cluster: cluster},
		rdb:    rdb,
		cfg:    newConfig(opts),
		id:     hex.EncodeToString(b[:]),
		scopes: make(map[string]*scope),
	}
}

// Reserve blocks until the ticket's scope may send one more request in every
// process sharing the budget, and holds a slot for it. It returns ctx's
// error when ctx ends first (no slot is kept), a *pacer.RateLimitError at
// once when the earliest slot frees after ctx's deadline, pacer.ErrQueueFull
// when WithQueueLimit waiters already wait in this process, and an
// *UnavailableError when Redis cannot be used and the store fails closed.
func (s *Store) Reserve(ctx context.Context, t pacer.Ticket) (pacer.Slot, error) {
	if err := ctx.Err(); err != nil {
		return pacer.Slot{}, err
	}
	slot, err := s.reserve(ctx, t)
	var unavailable *UnavailableError
	if s.cfg.fallback != nil && errors.As(err, &unavailable) {
		return s.reserveFallback(ctx, t)
	}
	return slot, err
}

func (s *Store) reserveFallback(ctx context.Context, t pacer.Ticket) (pacer.Slot, error) {
	t.Budgets = shareOf(t.Budgets, s.fleetSize())
	slot, err := s.cfg.fallback.Reserve(ctx, t)
	if err != nil {
		return pacer.Slot{}, err
	}
	slot.ID = fallbackTag + slot.ID
	return slot, nil
}

// reserve waits for this process's turn in the scope, then asks Redis until
// it grants a slot.
func (s *Store) reserve(ctx context.Context, t pacer.Ticket) (pacer.Slot, error) {
	ws := windowsOf(t.Budgets)
	sc := s.acquire(t.Scope)
	defer s.release(sc)
	w, err := sc.enqueue(t.Priority, ws, s.cfg.queueLimit)
	if err != nil {
		return pacer.Slot{}, err
	}
	defer sc.leave(w)
	fail := func(retryAt time.Time) error { return s.failFast(ctx, t.Scope, retryAt) }
	for {
		if err := sc.awaitTurn(ctx, w, fail); err != nil {
			return pacer.Slot{}, err
		}
		v, err := s.try(ctx, t, ws)
		if err != nil {
			return pacer.Slot{}, err
		}
		if v.granted {
			sc.granted()
			return v.slot, nil
		}
		retryAt := s.cfg.clock.Now().Add(v.wait)
		sc.denied(retryAt, v.why == whyInFlight || v.why == whyProbing)
		if err := fail(retryAt); err != nil {
			return pacer.Slot{}, err
		}
		if err := s.sleep(ctx, w, v.wait); err != nil {
			return pacer.Slot{}, err
		}
	}
}

// verdict is one answer of the reserve script.
type verdict struct {
	granted bool
	slot    pacer.Slot
	wait    time.Duration
	why     int64
}

// try runs the reserve script once.
//
// A call the store gives up on (its timeout passes, or ctx ends) may still
// reach Redis later, when a stalled server wakes up; a grant made then would
// count for Window + MaxInFlight with nobody to release it. So the script is
// told when to refuse: expiry, a Redis TIME no later than the moment the
// store gives up (see expiry). A script that runs later takes nothing. One
// that ran earlier but whose answer came too late (or never) may have taken
// a slot: the store keeps it and releases it once Redis answers again (see
// pending.go), after the expiry, so that the release cannot overtake it.
func (s *Store) try(ctx context.Context, t pacer.Ticket, ws []window) (verdict, error) {
	k := keysOf(s.cfg.prefix, t.Scope)
	nd := s.nodes.of(k)
	health := &nd.health
	if ok, last := health.usable(); !ok {
		return verdict{}, &UnavailableError{Scope: t.Scope, Err: last}
	}
	fail := func(err error) (verdict, error) {
		if ctx.Err() != nil {
			return verdict{}, ctx.Err()
		}
		health.fail(err, s.cfg.retry)
		return verdict{}, &UnavailableError{Scope: t.Scope, Err: err}
	}
	expiry, err := s.expiry(ctx, nd, k)
	if err != nil {
		return fail(err)
	}
	member := s.id + "." + strconv.FormatUint(s.seq.Add(1), 36)
	sc := s.lookup(t.Scope)
	keys, args := s.reserveCall(t, ws, member, expiry, sc.expected(s.cfg.clock.Now(), s.epochLife(ws)))
	sent := localMicros()
	res, err := run(ctx, s.cfg.timeout, s.rdb, reserveScript, keys, args)
	if err == nil {
		err = checkReply(res)
	}
	if err != nil {
		if mayHaveRun(err) { // until expiry, or already, unanswered
			s.defer1(pacer.Slot{Scope: t.Scope, ID: redisSlotID(member, ws)}, pacer.Outcome{}, sent+s.expiryAfter())
		}
		return fail(err)
	}
	srv, _ := res[3].(int64)
	nd.clock.sample(sent, localMicros(), srv)
	if epoch, _ := res[4].(string); epoch != "" {
		sc.seen(epoch, isGrant(res), s.cfg.clock.Now())
	}
	if ctx.Err() != nil {
		if isGrant(res) {
			s.forget(t.Scope, grantID(res, t, member, ws)) // Redis answers: give the slot back now
		}
		return verdict{}, ctx.Err()
	}
	wait, _ := res[1].(int64)
	why, _ := res[2].(int64)
	if !isGrant(res) && why == whyExpired {
		return fail(fmt.Errorf("redis ran the call too late (%v after it was sent)", s.cfg.timeout))
	}
	health.succeed()
	s.flushPending()
	s.heartbeat()
	if isGrant(res) {
		done, _ := res[2].(int64)
		slot := pacer.Slot{Scope: t.Scope, ID: grantID(res, t, member, ws), Granted: s.cfg.clock.Now(), Mark: uint64(done)}
		return verdict{granted: true, slot: slot}, nil
	}
	return verdict{wait: time.Duration(wait) * time.Microsecond, why: why}, nil
}

// grantID is the slot id of a grant: member, windows and the charge the
// script reported.
func grantID(res []any, t pacer.Ticket, member string, ws []window) string {
	pool, _ := res[5].(string)
	markP, _ := res[6].(int64)
	return withCharge(redisSlotID(member, ws), t.Route, markP, pool)
}

// mayHaveRun reports whether a call that failed with err may have run in
// Redis: anything but a refused dial (nothing was sent) or a cluster's
// refusal (Redis ran nothing).
func mayHaveRun(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return !refusedByCluster(err)
}

// expiryAfter is how long after a call is sent its script may still take a
// slot, in microseconds of the local clock: the timeout, when the store
// gives up on the call.
func (s *Store) expiryAfter() int64 { return ceilMicros(s.cfg.timeout) }

// expiry is the Redis TIME (µs) after which a reserve script sent now must
// take nothing: now + offset - uncertainty + expiryAfter. The offset between
// this host and Redis is learned from the replies (see serverClock) and is
// wrong by at most its uncertainty, so in real time the refusal falls
// between expiryAfter - 2·uncertainty and expiryAfter after the send,
// whatever either wall clock says. An estimate less certain than timeout/8
// is refreshed by one TIME call first: a call that Redis runs within 3/4 of
// the timeout is never refused.
func (s *Store) expiry(ctx context.Context, nd *node, k keys) (int64, error) {
	maxUnc := ceilMicros(s.cfg.timeout) / 8
	if err := s.syncClock(ctx, nd, k, maxUnc); err != nil {
		return 0, err
	}
	now := localMicros()
	off, unc, _ := nd.clock.offset(now)
	return now + off - unc + s.expiryAfter(), nil
}

// syncClock makes sure nd's clock has a sample no less certain than maxUnc
// µs, reading the TIME of the node serving k when it has not: up to three
// reads, within one timeout (a cold connection's first round trip is slow).
func (s *Store) syncClock(ctx context.Context, nd *node, k keys, maxUnc int64) error {
	if _, unc, ok := nd.clock.offset(localMicros()); ok && unc <= maxUnc {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	for range 3 {
		sent := localMicros()
		srv, err := serverTime(ctx, s.cfg.timeout, s.rdb, k.learned())
		if err != nil {
			return err
		}
		nd.clock.sample(sent, localMicros(), srv)
		if _, unc, ok := nd.clock.offset(localMicros()); ok && unc <= maxUnc {
			return nil
		}
	}
	return fmt.Errorf("redis round trip over %v (a quarter of the timeout)", s.cfg.timeout/4)
}

// epochLife is how long after this process's latest grant in a scope the
// scope's epoch hash surely still exists in Redis: the hash lives the longest
// window plus MaxInFlight (and a key slack) after every grant.
func (s *Store) epochLife(ws []window) time.Duration {
	return time.Duration(longest(ws))*time.Microsecond + s.cfg.maxInFlight
}

// longest is the longest window's length in µs, 0 without windows.
func longest(ws []window) int64 {
	if len(ws) == 0 {
		return 0
	}
	return ws[len(ws)-1].us
}

func (s *Store) reserveCall(t pacer.Ticket, ws []window, member string, expiry int64, expected string) ([]string, []any) {
	k := keysOf(s.cfg.prefix, t.Scope)
	var pace int64
	if t.Pace {
		pace = paceMicros(ws)
	}
	keys := make([]string, 0, 7+len(ws))
	keys = append(keys, k.learned(), k.inFlight(), k.caps(), k.pace(), k.epoch(), k.routes(), k.pools())
	args := make([]any, 0, 13+2*len(ws))
	args = append(args, s.stamp().arg(), member, ceilMicros(s.cfg.maxInFlight),
		ceilMicros(keySlack), pace, ceilMicros(s.cfg.poll), flag(s.cfg.learning), ceilMicros(s.cfg.probe), expiry,
		expected, member, longest(ws), routeArg(t.Route))
	for _, w := range ws {
		keys = append(keys, k.window(w.us))
		args = append(args, w.limit, w.us)
	}
	return keys, args
}

// routeArg is a route as the scripts take it: "" for none (0).
func routeArg(r uint64) string {
	if r == 0 {
		return ""
	}
	return strconv.FormatUint(r, 10)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func isGrant(res []any) bool {
	return len(res) == 7 && res[0] == int64(1)
}

func checkReply(res []any) error {
	if len(res) == 7 {
		return nil
	}
	return fmt.Errorf("redisbudget: unexpected script reply %v", res)
}

// failFast returns a *pacer.RateLimitError when retryAt (on the store's
// clock) is further away than ctx's deadline.
func (s *Store) failFast(ctx context.Context, scope string, retryAt time.Time) error {
	dl, ok := ctx.Deadline()
	if !ok || retryAt.IsZero() {
		return nil
	}
	wait := retryAt.Sub(s.cfg.clock.Now())
	if wait <= 0 || wait <= time.Until(dl) {
		return nil
	}
	return &pacer.RateLimitError{Scope: scope, RetryAt: retryAt, RetryAfter: wait, Err: context.DeadlineExceeded}
}

// sleep waits d plus jitter on the store's clock, or until w is nudged.
func (s *Store) sleep(ctx context.Context, w *waiter, d time.Duration) error {
	if j := min(s.cfg.jitter, d/4); j > 0 {
		d += mrand.N(j)
	}
	c, stop := s.cfg.clock.NewTimer(d)
	defer stop()
	select {
	case <-c:
	case <-w.sig:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Observe releases the slot into its windows (held until o.At + Window, or
// freed at once when !o.Counted(): never sent, or a 5xx without rate-limit
// headers, also taken back from the learned counts) and shares what the
// response said about the server's limit with every process, as
// pacer.MemoryStore does within one:
//
//   - a 429 with Retry-After, or "0 remaining until T": no grant before T
//     anywhere (a block only ever grows), in the answer's pool when it has
//     rate-limit headers (the pool named, else its Limit), in the whole
//     scope when not;
//   - "R remaining until T": at most R more of the pool's requests before
//     T, counting every request not yet answered when this one was granted
//     (they may reach the server after it). Each pool keeps cumulative
//     counts of grants and answers in Redis; the slot carries the pool's
//     answer count at its grant, so the cap is "grants <= mark + 1 + R"
//     until T, and stays safe whatever order answers arrive in (a grant
//     whose route's pool was unknown counts in every pool, and its mark is
//     bounded below by the scope's answers since). An unknown T means At
//     plus the server's window, or one second. The answer also tells which
//     pool the slot's route draws from;
//   - a bare 429 (no headers, no Retry-After): the scope is held, 1 s
//     doubling to 1 min with each refused probe, until an answer other
//     than 429;
//   - when no cap is in force and the server sends headers (or, for a scope
//     without budgets, before its first answer), processes send one request
//     at a time until an answer brings fresh headers.
//
// Observe makes one Redis call, bounded by the store's timeout. When Redis
// is unavailable the outcome is kept in the process (see pending.go) and
// sent again after the next call Redis answers, so a stall leaks no slot;
// only when more than maxPending outcomes wait does the oldest stay counted
// until its safety expiry (grant + Window + MaxInFlight).
func (s *Store) Observe(slot pacer.Slot, o pacer.Outcome) {
	if id, ok := strings.CutPrefix(slot.ID, fallbackTag); ok {
		if s.cfg.fallback != nil {
			slot.ID = id
			s.cfg.fallback.Observe(slot, o)
		}
		return
	}
	member, ws, ok := parseRedisSlotID(slot.ID)
	if !ok {
		return
	}
	if sc := s.lookup(slot.Scope); sc != nil {
		defer sc.released()
	}
	if o.At.IsZero() {
		o.At = s.cfg.clock.Now()
	}
	health := &s.nodes.of(keysOf(s.cfg.prefix, slot.Scope)).health
	if ok, _ := health.usable(); !ok {
		s.defer1(slot, o, 0)
		return
	}
	if err := s.observe(slot, member, ws, o); err != nil {
		s.defer1(slot, o, 0)
		health.fail(err, s.cfg.retry)
		return
	}
	health.succeed()
	s.flushPending()
}

// observe runs the observe script once for a Redis slot.
func (s *Store) observe(slot pacer.Slot, member string, ws []int64, o pacer.Outcome) error {
	keys, args := s.observeCall(slot.Scope, slot.ID, member, ws, slot.Mark, slot.Granted, o)
	_, err := run(context.Background(), s.cfg.timeout, s.rdb, observeScript, keys, args)
	return err
}

// forget frees a slot the caller will not use, best effort.
func (s *Store) forget(scope, id string) {
	member, us, _ := parseRedisSlotID(id)
	keys, args := s.observeCall(scope, id, member, us, 0, time.Time{}, pacer.Outcome{})
	_, _ = run(context.Background(), s.cfg.timeout, s.rdb, observeScript, keys, args)
}

func (s *Store) observeCall(scopeName, id, member string, ws []int64, mark uint64, granted time.Time, o pacer.Outcome) ([]string, []any) {
	st := s.stamp()
	if o.At.IsZero() {
		o.At = st.now
	}
	if granted.IsZero() || granted.After(o.At) {
		granted = o.At
	}
	k := keysOf(s.cfg.prefix, scopeName)
	keys := make([]string, 0, 5+len(ws))
	keys = append(keys, k.learned(), k.inFlight(), k.caps(), k.routes(), k.pools())
	args := make([]any, 0, 22+2*len(ws))
	args = append(args, st.arg(), member, flag(o.Counted()), ceilMicros(s.cfg.maxInFlight),
		ceilMicros(keySlack), mark, flag(s.cfg.learning), o.Status)
	args = append(args, learnedArgs(st, o)...)
	args = append(args, st.offset(granted), ceilMicros(bareHoldMin), ceilMicros(bareHoldMax), int64(1e6/resumeFloor))
	route, markP, pool := chargeOf(id)
	args = append(args, pool, markP, routeArg(route), o.RateLimit.Pool)
	for _, us := range ws {
		keys = append(keys, k.window(us))
		args = append(args, us, st.offset(o.At.Add(time.Duration(us)*time.Microsecond)))
	}
	return keys, args
}

// learnedArgs are ARGV 9 to 14 of the observe script: block offset,
// remaining, reset offset, limit, window, offset of At.
func learnedArgs(st stamp, o pacer.Outcome) []any {
	rl := o.RateLimit
	var block time.Time
	if o.Status == http.StatusTooManyRequests && o.RetryAfter > 0 {
		block = o.At.Add(o.RetryAfter)
	}
	if o.HasRateLimit && rl.Remaining <= 0 && rl.Reset.After(block) {
		block = rl.Reset
	}
	offset := func(t time.Time) any {
		if t.IsZero() {
			return ""
		}
		return st.offset(t)
	}
	remaining, reset := any(""), any("")
	if o.HasRateLimit {
		remaining, reset = rl.Remaining, offset(rl.Reset)
	}
	return []any{offset(block), remaining, reset, rl.Limit, ceilMicros(rl.Window), st.offset(o.At)}
}

func (s *Store) stamp() stamp {
	return stamp{now: s.cfg.clock.Now(), server: s.cfg.serverTime}
}
