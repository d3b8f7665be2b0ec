package redisbudget

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReserveConcurrentNeverExceedsLimit(t *testing.T) {
	e := newEnv(t)
	stores := []*Store{e.store(), e.store(), e.store()} // three "processes"
	tk := ticket("api.example.com", per(10, time.Minute), per(25, time.Hour))
	inHour := 0
	for round, want := range []int{10, 10, 5, 0} { // the hourly window allows 25
		var mu sync.Mutex
		var slots []pacer.Slot
		var wg sync.WaitGroup
		for g := range 60 {
			wg.Go(func() {
				// The next slot frees a minute later on the manual clock,
				// past the deadline, so losers fail fast; the 30 s leave a
				// loaded machine room to serve the winners first.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				slot, err := stores[g%3].Reserve(ctx, tk)
				if err != nil {
					assert.ErrorIs(t, err, pacer.ErrRateLimited)
					return
				}
				mu.Lock()
				slots = append(slots, slot)
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Len(t, slots, want, "round %d: grants", round)
		k := keysOf(DefaultPrefix, tk.Scope)
		ctx := context.Background()
		assert.EqualValues(t, want, e.rdb.ZCard(ctx, k.window(ceilMicros(time.Minute))).Val())
		inHour += len(slots)
		assert.EqualValues(t, inHour, e.rdb.ZCard(ctx, k.window(ceilMicros(time.Hour))).Val())
		for i, s := range slots {
			stores[i%3].Observe(s, answered(e.clock.Now()))
		}
		e.clock.Advance(time.Minute)
	}
}

func TestDualWindows(t *testing.T) {
	e := newEnv(t)
	s := e.store()
	tk := ticket("s", per(2, time.Second), per(3, 10*time.Second))
	for range 2 {
		s.Observe(grant(t, s, tk), answered(t0))
	}
	deny(t, s, tk, time.Second, whyWindow) // the 1 s window is full

	e.clock.Set(t0.Add(time.Second))
	s.Observe(grant(t, s, tk), answered(e.clock.Now()))
	deny(t, s, tk, 9*time.Second, whyWindow) // the 10 s window is full until t0+10s

	e.clock.Set(t0.Add(10 * time.Second))
	grant(t, s, tk)
}

func TestSlotHeldUntilWindowAfterAnswer(t *testing.T) {
	e := newEnv(t)
	s := e.store(WithPollInterval(time.Second))
	tk := ticket("s", per(1, 2*time.Second))
	slot := grant(t, s, tk)

	e.clock.Advance(5 * time.Second)                 // a slow request
	deny(t, s, tk, time.Second, whyInFlight)         // in flight: ask again after min(window, poll)
	s.Observe(slot, answered(t0.Add(5*time.Second))) // answered at t0+5s
	deny(t, s, tk, 2*time.Second, whyWindow)         // held until t0+7s
	e.clock.Advance(2*time.Second - time.Microsecond)
	deny(t, s, tk, time.Microsecond, whyWindow)
	e.clock.Advance(time.Microsecond)
	grant(t, s, tk)
}

func TestUnsentSlotFreesAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.store()
	tk := ticket("s", per(1, time.Minute))
	slot := grant(t, s, tk)
	deny(t, s, tk, time.Minute, whyInFlight)
	s.Observe(slot, unsent)
	grant(t, s, tk)
}

func TestUnsentSlotWakesWaiter(t *testing.T) {
	e := newEnv(t)
	s, tk, slot := e.taken(t)
	c := e.sleeper(t, context.Background(), s, tk)
	pending(t, c)
	s.Observe(slot, unsent) // no clock movement needed
	r := await(t, c)
	require.NoError(t, r.err)
	require.NotEqual(t, slot.ID, r.slot.ID)
}

func TestWaiterWakesWhenSlotFrees(t *testing.T) {
	e := newEnv(t)
	s, tk, slot := e.taken(t)
	s.Observe(slot, answered(t0))
	c := e.sleeper(t, context.Background(), s, tk)
	e.clock.Advance(time.Minute - time.Millisecond)
	pending(t, c)
	e.clock.Advance(time.Millisecond)
	require.NoError(t, await(t, c).err)
}

func TestLearnedLimitsShared(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store() // two processes
	tk := ticket("s", per(100, time.Minute))

	t.Run("429 Retry-After blocks everyone", func(t *testing.T) {
		a.Observe(grant(t, a, tk), tooMany(t0, 30*time.Second))
		deny(t, b, tk, 30*time.Second, whyBlocked)
		slot := grant(t, a, ticket("other", per(100, time.Minute))) // other scopes are not blocked
		a.Observe(slot, unsent)
	})
	t.Run("a block only grows", func(t *testing.T) {
		a.Observe(foreignSlot(tk, "gone"), tooMany(t0, 10*time.Second))
		deny(t, b, tk, 30*time.Second, whyBlocked)
	})
	t.Run("0 remaining blocks until reset", func(t *testing.T) {
		a.Observe(foreignSlot(tk, "gone"), remaining(0, t0.Add(45*time.Second)))
		deny(t, b, tk, 45*time.Second, whyBlocked)
		e.clock.Set(t0.Add(45 * time.Second))
		grant(t, b, tk)
	})
}

func remaining(n int, reset time.Time) pacer.Outcome {
	return pacer.Outcome{Sent: true, At: t0, Status: 200, HasRateLimit: true,
		RateLimit: pacer.RateLimit{Limit: 10, Remaining: n, Reset: reset}}
}

// tooMany is a 429 answered at at, asking to retry after d.
func tooMany(at time.Time, d time.Duration) pacer.Outcome {
	return pacer.Outcome{Sent: true, At: at, Status: 429, RetryAfter: d}
}

// foreignSlot is a slot of tk's scope that member (another process) holds,
// for observing an answer it got.
func foreignSlot(tk pacer.Ticket, member string) pacer.Slot {
	return pacer.Slot{Scope: tk.Scope, ID: redisSlotID(member, windowsOf(tk.Budgets))}
}

func TestLearnedCapCountsRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	tk := ticket("s", per(100, time.Minute))
	x := grant(t, a, tk)
	y := grant(t, b, tk) // in flight when x's answer says "2 remaining"
	a.Observe(x, remaining(2, t0.Add(time.Minute)))
	// y may reach the server after x's answer was made: it counts against
	// the 2, so one more request may go before the reset.
	grant(t, a, tk)
	deny(t, b, tk, time.Minute, whyCapped)
	b.Observe(y, unsent) // y never went out: its place is back
	z := grant(t, b, tk)
	deny(t, a, tk, time.Minute, whyCapped)

	e.clock.Set(t0.Add(time.Minute))                 // the server's window has reset, but
	deny(t, a, tk, DefaultProbeInterval, whyProbing) // one at a time until an answer
	b.Observe(z, remaining(9, t0.Add(2*time.Minute)))
	grant(t, a, tk)
}

func TestKeysExpireAndHoldNoScopeText(t *testing.T) {
	e := newEnv(t)
	s := e.store(WithMaxInFlight(10 * time.Second))
	scope := "api.example.com key:3f2a9c1b7d6e5f40" // what ScopeByBearer makes
	tk := ticket(scope, per(5, time.Minute), per(50, time.Hour))
	tk.Pace, tk.Route = true, 7
	for range 3 {
		slot := grant(t, s, tk)
		o := remaining(4, e.clock.Now().Add(90*time.Second))
		o.At = e.clock.Now()
		s.Observe(slot, o)
		e.clock.Advance(72 * time.Second) // paced: 50 per hour
	}
	grant(t, s, tk) // one left in flight
	s.Observe(foreignSlot(tk, "x"), tooMany(e.clock.Now(), 2*time.Hour))

	ctx := context.Background()
	all := keysOfServer(t, e.rdb)
	require.Len(t, all, 8, "learned, in-flight, routes, pools, pace, epoch, two windows: %v", all)
	limit := 2*time.Hour + keySlack // the longest-lived content: the block
	for _, k := range all {
		assert.NotContains(t, k, "example")
		assert.NotContains(t, k, "3f2a9c1b7d6e5f40")
		ttl := e.rdb.PTTL(ctx, k).Val()
		assert.Greater(t, ttl, time.Duration(0), "key %s expires", k)
		assert.LessOrEqual(t, ttl, limit, "key %s", k)
	}
	window := keysOf(DefaultPrefix, scope).window(ceilMicros(time.Hour))
	ttl := e.rdb.PTTL(ctx, window).Val()
	assert.LessOrEqual(t, ttl, time.Hour+10*time.Second+keySlack)
	assert.Greater(t, ttl, time.Hour)
}

func TestReserveCancelConsumesNoSlot(t *testing.T) {
	e := newEnv(t)
	s, tk, first := e.taken(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := e.sleeper(t, ctx, s, tk)
	cancel()
	require.ErrorIs(t, await(t, c).err, context.Canceled)

	s.Observe(first, unsent)
	k := keysOf(DefaultPrefix, "s").window(ceilMicros(time.Minute))
	require.Zero(t, e.rdb.ZCard(context.Background(), k).Val(), "nothing held")
	grant(t, s, tk)

	_, err := s.Reserve(ctx, tk) // an ended context takes nothing
	require.ErrorIs(t, err, context.Canceled)
}

func TestReserveFailsFastPastDeadline(t *testing.T) {
	e := newEnv(t)
	s, tk, slot := e.taken(t)
	s.Observe(slot, answered(t0))

	// A waiter with no deadline heads the queue...
	head := e.sleeper(t, context.Background(), s, tk)

	// ...and one whose deadline comes before the next free slot gives up at once,
	t.Run("queued behind", func(t *testing.T) { requireFailsFast(t, s, tk) })
	// ...as does one alone, once the head has its slot.
	e.clock.Advance(time.Minute)
	require.NoError(t, await(t, head).err)
	t.Run("alone", func(t *testing.T) { requireFailsFast(t, s, tk) })
}

// requireFailsFast checks that Reserve, with a deadline before the scope's
// next free slot (a minute away on the manual clock, which does not move
// meanwhile), returns a *pacer.RateLimitError at once. "At once" is judged
// against the deadline: a Reserve that waited would end at it, 30 s in, so
// the 10 s bound leaves a loaded machine ample room yet cannot be met by
// waiting.
func requireFailsFast(t *testing.T, s *Store, tk pacer.Ticket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Reserve(ctx, tk)
	assert.Less(t, time.Since(start), 10*time.Second, "fails at once")
	require.NoError(t, ctx.Err(), "returned before the deadline")
	var rle *pacer.RateLimitError
	require.ErrorAs(t, err, &rle)
	require.ErrorIs(t, err, pacer.ErrRateLimited)
	assert.Equal(t, tk.Scope, rle.Scope)
	assert.False(t, rle.RetryAt.IsZero())
}

func TestPriorityServedFirst(t *testing.T) {
	e := newEnv(t)
	s, tk, slot := e.taken(t)
	low := e.sleeper(t, context.Background(), s, tk)
	hiTicket := tk
	hiTicket.Priority = 5
	high := reserveAsync(context.Background(), s, hiTicket)
	require.Eventually(t, func() bool { return s.lookup("s").queued() == 2 && e.clock.Pending() >= 1 },
		5*time.Second, time.Millisecond)

	s.Observe(slot, unsent)
	r := await(t, high)
	require.NoError(t, r.err)
	pending(t, low)
	s.Observe(r.slot, unsent)
	require.NoError(t, await(t, low).err)
}

func TestScriptReloadedAfterFlush(t *testing.T) {
	e := newEnv(t)
	s := e.store()
	tk := ticket("s", per(5, time.Minute))
	grant(t, s, tk)
	require.NoError(t, e.rdb.ScriptFlush(context.Background()).Err())
	grant(t, s, tk)
}

func TestServerTime(t *testing.T) {
	e := newEnv(t)
	s := New(e.rdb, WithJitter(0)) // Redis TIME is the default; the caller's clock is the system clock
	tk := ticket("s", per(1, time.Minute))
	slot := grant(t, s, tk)
	at := time.Now()
	s.Observe(slot, answered(at))
	v := try(t, s, tk)
	took := time.Since(at) // the window runs on while the calls do
	require.False(t, v.granted)
	assert.Equal(t, int64(whyWindow), v.why)
	assert.LessOrEqual(t, v.wait, time.Minute+time.Second)
	assert.GreaterOrEqual(t, v.wait, time.Minute-time.Second-took)
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	tk := ticket("s", per(5, time.Minute))
	x := grant(t, a, tk)
	grant(t, b, tk)
	o := remaining(7, t0.Add(time.Minute))
	a.Observe(x, o)
	reserve(t, a, tk)

	u := a.Usage()
	require.Len(t, u, 1)
	assert.Equal(t, "s", u[0].Scope)
	assert.Equal(t, 3, u[0].InWindow, "both processes' slots")
	assert.Equal(t, 2, u[0].InFlight)
	assert.Equal(t, pacer.RateLimit{Limit: 10, Remaining: 7, Reset: t0.Add(time.Minute)}, u[0].Learned)
}

func TestNoRaceOnUnknownSlot(t *testing.T) {
	e := newEnv(t)
	s := e.store()
	s.Observe(pacer.Slot{Scope: "s", ID: "garbage"}, answered(t0)) // ignored
	s.Observe(pacer.Slot{Scope: "s"}, answered(t0))
	require.Empty(t, keysOfServer(t, e.rdb))
	require.False(t, errors.Is(nil, ErrUnavailable))
}

func TestPaceShared(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	tk := ticket("s", per(2, 10*time.Second))
	tk.Pace = true
	grant(t, a, tk)
	deny(t, b, tk, 5*time.Second, whyPaced) // one every 10s/2, across processes
	e.clock.Advance(5 * time.Second)
	grant(t, b, tk)
}

func TestQueueLimit(t *testing.T) {
	e := newEnv(t)
	s, tk, _ := e.taken(t, WithQueueLimit(1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	head := e.sleeper(t, ctx, s, tk)
	second := reserveAsync(ctx, s, tk) // waits behind the head: the one allowed
	require.Eventually(t, func() bool { return s.lookup("s").queued() == 2 }, 5*time.Second, time.Millisecond)
	_, err := s.Reserve(ctx, tk)
	require.ErrorIs(t, err, pacer.ErrQueueFull)
	cancel()
	require.ErrorIs(t, await(t, head).err, context.Canceled)
	require.ErrorIs(t, await(t, second).err, context.Canceled)
}

func TestWithoutLearning(t *testing.T) {
	e := newEnv(t)
	s := e.store(WithoutLearning())
	tk := ticket("s", per(10, time.Minute))
	s.Observe(grant(t, s, tk), tooMany(t0, time.Hour))
	grant(t, s, tk)
}

func TestIdleScopesForgotten(t *testing.T) {
	e := newEnv(t)
	s := e.store()
	for _, name := range []string{"a", "b"} {
		reserve(t, s, ticket(name, per(10, time.Minute)))
	}
	require.Len(t, s.Usage(), 2)
	e.clock.Advance(idleScopeTTL + time.Second)
	reserve(t, s, ticket("b", per(10, time.Minute)))
	u := s.Usage()
	require.Len(t, u, 1)
	require.Equal(t, "b", u[0].Scope)
}

func TestScopeWithoutBudgetProbesUntilFirstAnswer(t *testing.T) {
	e := newEnv(t)
	a, b := e.store(), e.store()
	tk := ticket("s")
	x := grant(t, a, tk)
	deny(t, b, tk, DefaultProbeInterval, whyProbing)
	a.Observe(x, answered(t0)) // no rate-limit headers: nothing to learn, nothing to wait for
	grant(t, b, tk)
	grant(t, b, tk)
}

func TestNewPanicsOnNilClient(t *testing.T) {
	require.Panics(t, func() { New(nil) })
}
