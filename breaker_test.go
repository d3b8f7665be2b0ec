package pacer

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const scopeA = "api.example"

// testBreakers is a breaker policy with the state of one scope, scopeA.
type testBreakers struct {
	*breakers
	st *scopeState
}

func newTestBreakers(clk Clock, b Breaker) testBreakers {
	return testBreakers{newBreakers(&config{clock: clk, breaker: &b}), &scopeState{name: scopeA}}
}

// breakerRun sends one attempt through b and settles it as failed or not. It
// returns the event, if any, and fails the test if the attempt is refused.
func breakerRun(t *testing.T, b testBreakers, failed bool) *BreakerEvent {
	t.Helper()
	p, ev, err := b.allow(b.st)
	require.NoError(t, err)
	require.Nil(t, ev)
	return b.settle(p, failed)
}

func breakerState(b testBreakers) string {
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	return b.state(b.st, b.clock.Now()).String()
}

func TestBreakerDefaults(t *testing.T) {
	got := Breaker{FailureRate: 1.5}.withDefaults()
	assert.Equal(t, Breaker{FailureRate: 0.5, MinRequests: 20, Window: 10 * time.Second, Buckets: 10,
		CoolDown: 5 * time.Second, Probes: 3}, got)
	kept := Breaker{FailureRate: 0.2, MinRequests: 4, Window: time.Second, Buckets: 2, CoolDown: time.Minute, Probes: 1}
	assert.Equal(t, kept, kept.withDefaults())
}

func TestBreakerFailureClassification(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	cases := []struct {
		name      string
		resp      *http.Response
		err       error
		plain, on bool // failure by default, and with FailOn429
	}{
		{"transport error", nil, errors.New("reset"), true, true},
		{"200", resp(200), nil, false, false},
		{"404", resp(404), nil, false, false},
		{"429", resp(429), nil, false, true},
		{"500", resp(500), nil, true, true},
		{"503", resp(503), nil, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.plain, Breaker{}.failure(tc.resp, tc.err))
			assert.Equal(t, tc.on, Breaker{FailOn429: true}.failure(tc.resp, tc.err))
		})
	}
}

func TestBreakerOpensOnFailureRate(t *testing.T) {
	cases := []struct {
		name      string
		outcomes  string // o: success, x: failure, in order
		wantOpens int    // index of the outcome that opens it, -1 for never
	}{
		{"below min volume", "xxxxxxxxx", -1},
		{"all failures at min volume", "xxxxxxxxxx", 9},
		{"exactly the rate", "oooooxxxxx", 9},
		{"under the rate", "ooooooxxxx", -1},
		{"judged on a failure only", "xxxxxooooo", -1},
		{"then the next failure", "xxxxxooooox", 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktest.NewManual(time.Time{})
			b := newTestBreakers(clk, Breaker{MinRequests: 10, FailureRate: 0.5})
			opened := -1
			for i, o := range tc.outcomes {
				if ev := breakerRun(t, b, o == 'x'); ev != nil {
					require.Equal(t, -1, opened, "opened twice")
					opened = i
					assert.Equal(t, BreakerEvent{Scope: scopeA, From: BreakerClosed, To: BreakerOpen, At: clk.Now(),
						Until: clk.Now().Add(defaultBreakerCoolDown), Requests: i + 1,
						Failures: countX(tc.outcomes[:i+1])}, *ev)
					break
				}
			}
			assert.Equal(t, tc.wantOpens, opened)
		})
	}
}

func countX(s string) (n int) {
	for _, c := range s {
		if c == 'x' {
			n++
		}
	}
	return n
}

func TestBreakerWindowRolls(t *testing.T) {
	clk := clocktest.NewManual(time.Time{})
	b := newTestBreakers(clk, Breaker{MinRequests: 4, Window: 10 * time.Second, Buckets: 10})
	for range 3 {
		require.Nil(t, breakerRun(t, b, true))
	}
	clk.Advance(8 * time.Second) // still inside the window
	require.NotNil(t, breakerRun(t, b, true), "4 failures within 10 s open it")

	clk = clocktest.NewManual(time.Time{})
	b = newTestBreakers(clk, Breaker{MinRequests: 4, Window: 10 * time.Second, Buckets: 10})
	for range 3 {
		require.Nil(t, breakerRun(t, b, true))
	}
	clk.Advance(11 * time.Second) // the three have left the window
	assert.Nil(t, breakerRun(t, b, true))
	assert.Equal(t, "closed", breakerState(b))
}

// tripped returns breakers whose scope opened at the returned time.
func tripped(t *testing.T, cfg Breaker) (*clocktest.Manual, testBreakers, permit) {
	t.Helper()
	clk := clocktest.NewManual(time.Time{})
	cfg.MinRequests = 2
	b := newTestBreakers(clk, cfg)
	before, _, err := b.allow(b.st) // admitted while closed, settled later
	require.NoError(t, err)
	require.Nil(t, breakerRun(t, b, true))
	require.NotNil(t, breakerRun(t, b, true))
	return clk, b, before
}

func TestBreakerOpenRefusesAndReleasesWaiters(t *testing.T) {
	clk, b, waiter := tripped(t, Breaker{CoolDown: time.Minute})
	until := clk.Now().Add(time.Minute)

	require.Error(t, waiter.opened.Err(), "the context handed out while closed is cancelled")
	var cause *CircuitOpenError
	require.ErrorAs(t, context.Cause(waiter.opened), &cause)
	assert.Equal(t, &CircuitOpenError{Scope: scopeA, Until: until}, cause)

	clk.Advance(time.Minute - time.Nanosecond)
	_, ev, err := b.allow(b.st)
	assert.Nil(t, ev)
	require.ErrorIs(t, err, ErrCircuitOpen)
	assert.Equal(t, &CircuitOpenError{Scope: scopeA, Until: until}, err)
	assert.Equal(t, "open", breakerState(b))

	assert.Nil(t, b.settle(waiter, false), "an outcome from before the opening is ignored")
	assert.Equal(t, "open", breakerState(b))
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	clk, b, _ := tripped(t, Breaker{CoolDown: time.Minute, Probes: 2})
	clk.Advance(time.Minute)
	assert.Equal(t, "half-open", breakerState(b), "Stats shows the state the next request will see")

	p1, ev, err := b.allow(b.st)
	require.NoError(t, err)
	require.NotNil(t, ev)
	assert.Equal(t, BreakerEvent{Scope: scopeA, From: BreakerOpen, To: BreakerHalfOpen, At: clk.Now()}, *ev)
	p2, ev, err := b.allow(b.st)
	require.NoError(t, err)
	assert.Nil(t, ev)

	_, _, err = b.allow(b.st)
	assert.Equal(t, &CircuitOpenError{Scope: scopeA, Until: clk.Now().Add(time.Minute)}, err, "probes are all out")

	b.release(p2) // never sent: its place is free again
	p2, _, err = b.allow(b.st)
	require.NoError(t, err)

	assert.Nil(t, b.settle(p1, false))
	ev = b.settle(p2, false)
	require.NotNil(t, ev)
	assert.Equal(t, BreakerEvent{Scope: scopeA, From: BreakerHalfOpen, To: BreakerClosed, At: clk.Now()}, *ev)
	assert.Equal(t, "closed", breakerState(b))
	assert.Nil(t, breakerRun(t, b, true), "the window starts empty after closing")
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	clk, b, _ := tripped(t, Breaker{CoolDown: time.Minute, Probes: 2})
	clk.Advance(90 * time.Second)
	p1, _, err := b.allow(b.st)
	require.NoError(t, err)
	p2, _, err := b.allow(b.st)
	require.NoError(t, err)

	ev := b.settle(p1, true)
	require.NotNil(t, ev)
	until := clk.Now().Add(time.Minute)
	assert.Equal(t, BreakerEvent{Scope: scopeA, From: BreakerHalfOpen, To: BreakerOpen, At: clk.Now(), Until: until}, *ev)
	require.ErrorIs(t, context.Cause(p2.opened), ErrCircuitOpen, "the other probe's wait is released")
	assert.Nil(t, b.settle(p2, false), "the late probe's success does not close it")

	_, _, err = b.allow(b.st)
	assert.Equal(t, &CircuitOpenError{Scope: scopeA, Until: until}, err)
}

func TestBreakerSilentProbesLosePlace(t *testing.T) {
	clk, b, _ := tripped(t, Breaker{CoolDown: time.Minute, Probes: 1})
	clk.Advance(time.Minute)
	hung, _, err := b.allow(b.st)
	require.NoError(t, err)
	_, _, err = b.allow(b.st)
	require.ErrorIs(t, err, ErrCircuitOpen)

	clk.Advance(time.Minute)
	p, _, err := b.allow(b.st)
	require.NoError(t, err, "a probe silent for a cool-down no longer holds its place")
	require.NotNil(t, b.settle(p, false))
	assert.Equal(t, "closed", breakerState(b))
	b.release(hung) // answers at last, unsent: harmless
	assert.Equal(t, "closed", breakerState(b))
}

func TestNilBreakersShowClosed(t *testing.T) {
	var b *breakers
	assert.Equal(t, BreakerClosed, b.state(&scopeState{}, clocktest.Epoch))
}

func BenchmarkBreakerAllowSettle(b *testing.B) {
	br := newTestBreakers(SystemClock(), Breaker{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, _, err := br.allow(br.st)
			if err == nil {
				br.settle(p, false)
			}
		}
	})
}
