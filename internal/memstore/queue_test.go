package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// settle is how long the queue tests wait, in real time, for goroutines to
// reach a state; the manual clock does not move meanwhile.
const settle = 5 * time.Second

// pending is a Reserve running in its own goroutine.
type pending struct {
	name string
	done chan struct{}
	slot Slot
	err  error
}

// start runs Reserve(ctx, tk) in a goroutine, after the scope's queue holds
// queued waiters (so start calls enter the queue in order).
func (h *harness) start(ctx context.Context, name string, tk Ticket) *pending {
	p := &pending{name: name, done: make(chan struct{})}
	before := h.queued(tk.Scope)
	go func() {
		defer close(p.done)
		p.slot, p.err = h.st.Reserve(ctx, tk)
	}()
	h.waitFor(func() bool { return h.queued(tk.Scope) > before || p.finished() })
	return p
}

func (p *pending) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// result waits (in real time) for the Reserve to return.
func (p *pending) result(t *testing.T) (Slot, error) {
	t.Helper()
	select {
	case <-p.done:
		return p.slot, p.err
	case <-time.After(settle):
		t.Fatalf("%s: Reserve did not return", p.name)
		return Slot{}, nil
	}
}

func (h *harness) queued(scope string) int {
	for _, u := range h.st.Usage() {
		if u.Scope == scope {
			return u.Queued
		}
	}
	return 0
}

func (h *harness) waitFor(cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(settle)
	for !cond() {
		require.True(h.t, time.Now().Before(deadline), "condition not reached")
		time.Sleep(time.Millisecond)
	}
}

// grantOrder advances the clock a window at a time, answering each grant at
// once, and returns the names of ps in the order they were granted. A woken
// waiter may arm its timer just after an advance (from the time it read
// before), so the clock is advanced again until someone is granted.
func (h *harness) grantOrder(w time.Duration, ps ...*pending) []string {
	var order []string
	for tries := 0; len(order) < len(ps); tries++ {
		require.Less(h.t, tries, 100, "no grant after %d windows", tries)
		h.clk.Advance(w)
		deadline := time.Now().Add(100 * time.Millisecond)
		for granted := false; !granted && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			for _, p := range ps {
				if p.finished() && !slices.Contains(order, p.name) {
					sl, err := p.result(h.t)
					require.NoError(h.t, err)
					h.st.Observe(sl, Outcome{Sent: true, Status: 200, At: h.clk.Now()})
					order, granted = append(order, p.name), true
				}
			}
		}
	}
	return order
}

// fill takes the only slot of tk's 1-per-w scope and answers it at once.
func (h *harness) fill(tk Ticket) {
	sl, err := h.st.Reserve(context.Background(), tk)
	require.NoError(h.t, err)
	h.st.Observe(sl, Outcome{Sent: true, Status: 200, At: h.clk.Now()})
}

func oneBy(scope string, w time.Duration) Ticket {
	return Ticket{Scope: scope, Budgets: []Budget{{Limit: 1, Window: w}}}
}

func TestQueueFIFO(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Second)
	h.fill(tk)
	ctx := context.Background()
	a, b, c := h.start(ctx, "a", tk), h.start(ctx, "b", tk), h.start(ctx, "c", tk)
	assert.Equal(t, []string{"a", "b", "c"}, h.grantOrder(time.Second, a, b, c))
}

func TestQueuePriority(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Second)
	h.fill(tk)
	ctx := context.Background()
	high := tk
	high.Priority = 10
	low1, low2 := h.start(ctx, "low1", tk), h.start(ctx, "low2", tk)
	high1, high2 := h.start(ctx, "high1", high), h.start(ctx, "high2", high)
	assert.Equal(t, []string{"high1", "high2", "low1", "low2"},
		h.grantOrder(time.Second, low1, low2, high1, high2))
}

func TestQueueCancelLeavesNoSlot(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Second)
	h.fill(tk)
	ctx, cancel := context.WithCancel(context.Background())
	head := h.start(ctx, "head", tk)
	next := h.start(context.Background(), "next", tk)
	require.Equal(t, 2, h.queued("api"))

	cancel()
	_, err := head.result(t)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, h.queued("api"), "the cancelled waiter left at once")
	assert.False(t, next.finished())

	assert.Equal(t, []string{"next"}, h.grantOrder(time.Second, next), "next moved up")
	u := h.st.Usage()[0]
	assert.Equal(t, 1, u.InWindow, "only next's slot is held")
}

func TestQueueCancelBeforeReserve(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.st.Reserve(ctx, Ticket{Scope: "api"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestQueueLimit(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	h.st.QueueLimit = 2
	tk := oneBy("api", time.Second)
	h.fill(tk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := h.start(ctx, "a", tk), h.start(ctx, "b", tk)

	_, err := h.st.Reserve(ctx, tk) // returns at once: no goroutine needed
	require.ErrorIs(t, err, ErrQueueFull)

	other := oneBy("other", time.Second) // the limit is per scope
	_, err = h.st.Reserve(ctx, other)
	require.NoError(t, err)

	cancel()
	for _, p := range []*pending{a, b} {
		_, err := p.result(t)
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestDeadlineFailFast(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Minute)
	h.fill(tk) // the next slot frees in one minute (store clock)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := h.st.Reserve(ctx, tk) // no goroutine: must return at once
	var late *LateError
	require.ErrorAs(t, err, &late)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, h.when(time.Minute), late.At)
	assert.Equal(t, 0, h.queued("api"))

	// A deadline the wait fits in: the request waits and is granted.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	p := h.start(ctx2, "fits", tk)
	require.True(t, h.clk.WaitForTimers(1, settle))
	h.clk.Advance(time.Minute)
	_, err = p.result(t)
	require.NoError(t, err)
}

func TestDeadlineFailFastBehindHead(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Minute)
	h.fill(tk)
	ctx, cancel := context.WithCancel(context.Background())
	head := h.start(ctx, "head", tk) // no deadline: waits

	short, cancelShort := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShort()
	_, err := h.st.Reserve(short, tk)
	var late *LateError
	require.True(t, errors.As(err, &late) && errors.Is(err, context.DeadlineExceeded), "got %v", err)
	assert.Equal(t, 1, h.queued("api"))
	cancel()
	_, err = head.result(t)
	require.ErrorIs(t, err, context.Canceled)
}

func TestNoHeadOfLineBlockingAcrossScopes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	slow := oneBy("slow", time.Hour)
	h.fill(slow)
	ctx, cancel := context.WithCancel(context.Background())
	var waiting []*pending
	for range 5 {
		waiting = append(waiting, h.start(ctx, "slow", slow))
	}
	// Another scope is served at once, on the same clock instant.
	for range 3 {
		_, err := h.st.Reserve(context.Background(), Ticket{Scope: "fast", Budgets: []Budget{{Limit: 3, Window: time.Hour}}})
		require.NoError(t, err)
	}
	assert.Equal(t, 5, h.queued("slow"))
	cancel()
	for _, p := range waiting {
		_, err := p.result(t)
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestWaiterWokenByAnswer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := Ticket{Scope: "api", Budgets: []Budget{{Limit: 1, Window: time.Second}}}
	sl, err := h.st.Reserve(context.Background(), tk)
	require.NoError(t, err)
	p := h.start(context.Background(), "p", tk)
	h.st.Observe(sl, Outcome{Sent: false, At: h.clk.Now()}) // never sent: frees at once
	_, err = p.result(t)
	require.NoError(t, err, "granted without the clock moving")
}

func TestSlotWaited(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Second)
	sl, err := h.st.Reserve(context.Background(), tk)
	require.NoError(t, err)
	assert.False(t, sl.Waited, "granted on arrival")
	h.st.Observe(sl, Outcome{Sent: true, Status: 200, At: h.clk.Now()})
	p := h.start(context.Background(), "p", tk)
	require.True(t, h.clk.WaitForTimers(1, settle))
	h.clk.Advance(time.Second)
	sl, err = p.result(t)
	require.NoError(t, err)
	assert.True(t, sl.Waited, "granted after waiting")
}

// A waiter behind others fails at once when its turn, counting the
// waiters ahead of it, is past its deadline, with that turn as its time.
func TestDeadlineCountsWaitersAhead(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	tk := oneBy("api", time.Second)
	h.fill(tk) // frees at 1 s (store clock)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var queued []*pending
	for i := range 10 {
		queued = append(queued, h.start(ctx, fmt.Sprint("w", i), tk))
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShort()
	start := time.Now()
	_, err := h.st.Reserve(short, tk) // 10 ahead: its turn is at 11 s
	var late *LateError
	require.ErrorAs(t, err, &late)
	assert.Less(t, time.Since(start), 5*time.Second, "fails at once, not at its deadline")
	assert.Equal(t, h.when(11*time.Second), late.At)

	long, cancelLong := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancelLong()
	p := h.start(long, "fits", tk)
	cancel()
	for _, q := range queued {
		_, err := q.result(t)
		require.ErrorIs(t, err, context.Canceled)
	}
	h.clk.Advance(time.Second)
	_, err = p.result(t)
	require.NoError(t, err, "a deadline its turn fits in waits and is granted")
}

// The turn of a window: free slots now, then release times, then slots in
// flight one window on; each slot serves once more per window after that.
func TestWindowTurn(t *testing.T) {
	now := clocktest.Epoch
	w := newSlidingWindow(Budget{Limit: 3, Window: time.Minute}, now)
	w.release(now.Add(-30 * time.Second)) // frees at +30 s
	// held: 1 released + 1 in flight; 1 free.
	want := []time.Duration{0, 30 * time.Second, time.Minute, time.Minute, 90 * time.Second, 2 * time.Minute}
	for k, d := range want {
		assert.Equal(t, now.Add(d), w.turn(now, 1, k), "k=%d", k)
	}
}
