package memstore

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/internal/clocktest"
)

const ms = time.Millisecond

// sendEvery records sends on a every step from from (inclusive) to to
// (exclusive), as offsets from the clock's start.
func sendEvery(a *aimd, step, from, to time.Duration) {
	for d := from; d < to; d += step {
		a.sent(clocktest.Epoch.Add(d))
	}
}

func bare429() Outcome { return Outcome{Sent: true, Status: 429} }
func ok200() Outcome   { return Outcome{Sent: true, Status: 200} }

func TestSendMeter(t *testing.T) {
	var m sendMeter
	for d := time.Duration(0); d < time.Second; d += 100 * ms {
		m.add(clocktest.Epoch.Add(d))
	}
	// Two half-second buckets of 5 sends: 0.8*10 + 0.2*(0.8*10) = 9.6/s.
	assert.InDelta(t, 9.6, m.at(clocktest.Epoch.Add(time.Second)), 1e-9)
	// Within a bucket, a burst shows at once: 20 sends in 100ms.
	var b sendMeter
	for range 20 {
		b.add(clocktest.Epoch.Add(100 * ms))
	}
	assert.InDelta(t, 40, b.at(clocktest.Epoch.Add(200*ms)), 1e-9, "20 sends per half second")
	// Idle time lowers the rate.
	assert.InDelta(t, 0.8*20/0.5+0.2*0, b.at(clocktest.Epoch.Add(600*ms)), 1e-9)
	assert.Less(t, b.at(clocktest.Epoch.Add(10*time.Second)), 1.0)
}

func TestAdaptiveActivation(t *testing.T) {
	at := clocktest.Epoch.Add(time.Second)
	withHeaders := Outcome{Sent: true, Status: 429, HasRateLimit: true, RateLimit: RateLimit{Remaining: 0}}
	for _, c := range []struct {
		name   string
		mode   AdaptiveMode
		o      Outcome
		active bool
	}{
		{"auto, bare 429", AdaptiveAuto, bare429(), true},
		{"auto, 429 with headers", AdaptiveAuto, withHeaders, false},
		{"auto, 503", AdaptiveAuto, Outcome{Sent: true, Status: 503}, false},
		{"auto, unsent", AdaptiveAuto, Outcome{Sent: false, Status: 429}, false},
		{"always, 429 with headers", AdaptiveAlways, withHeaders, true},
		{"off, bare 429", AdaptiveOff, bare429(), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a aimd
			sendEvery(&a, 100*ms, 0, time.Second)
			a.observe(c.mode, at, c.o, at, 0)
			require.Equal(t, c.active, a.active)
			if c.active {
				assert.InDelta(t, adaptiveBeta*9.6, a.rate(), 1e-9, "cut to 0.7 x the measured 9.6/s")
			} else {
				assert.Zero(t, a.rate())
			}
		})
	}
}

func TestAdaptiveCutOncePerBurst(t *testing.T) {
	var a aimd
	sendEvery(&a, 100*ms, 0, time.Second)
	cut := clocktest.Epoch.Add(time.Second)
	a.observe(AdaptiveAuto, cut.Add(-50*ms), bare429(), cut, 0)
	r := a.rate()
	// The other requests in flight at the cut answer 429 too: no new cut.
	for i := range 5 {
		a.observe(AdaptiveAuto, cut.Add(-time.Duration(i)*ms), bare429(), cut.Add(time.Duration(i+1)*20*ms), 0)
	}
	assert.Equal(t, r, a.rate(), "429s of requests sent before the cut count once")
	// A request sent after the cut, but within the cool-down: no cut either.
	a.observe(AdaptiveAuto, cut.Add(10*ms), bare429(), cut.Add(adaptiveCooldown-ms), 0)
	assert.Equal(t, r, a.rate())
	// Sent after the cut and answered after the cool-down: cut again, from
	// the allowed rate (the measured one is higher).
	a.observe(AdaptiveAuto, cut.Add(10*ms), bare429(), cut.Add(adaptiveCooldown), 0)
	assert.InDelta(t, adaptiveBeta*r, a.rate(), 1e-9)
}

func TestAdaptiveFloor(t *testing.T) {
	var a aimd
	a.sent(clocktest.Epoch)
	at := clocktest.Epoch
	for range 50 {
		at = at.Add(time.Second)
		a.observe(AdaptiveAuto, at, bare429(), at, 0)
	}
	assert.Equal(t, adaptiveFloor, a.rate())
}

func TestAdaptiveRaise(t *testing.T) {
	var a aimd
	sendEvery(&a, 100*ms, 0, time.Second)
	at := clocktest.Epoch.Add(time.Second)
	a.observe(AdaptiveAuto, at, bare429(), at, 0)
	step := (1 - adaptiveBeta) * 9.6 / adaptiveRun
	r0 := a.rate()
	success := func() { // one a second: the growth bound does not bind
		at = at.Add(time.Second)
		a.observe(AdaptiveAuto, at, ok200(), at, 1)
	}
	success()
	assert.InDelta(t, r0+step, a.rate(), 1e-9, "one step per success")
	for range adaptiveRun - 1 {
		success()
	}
	assert.InDelta(t, 9.6, a.rate(), 1e-9, "back to the rate cut from after adaptiveRun successes")
	success()
	assert.InDelta(t, 9.6+2*step, a.rate(), 1e-9, "then the step doubles")

	// However large the step grows, the rate grows by at most
	// adaptiveGrowth per second: successes all at one instant add nothing.
	a.step = 1000
	r := a.rate()
	for range 10 {
		a.observe(AdaptiveAuto, at, ok200(), at, 1)
	}
	assert.InDelta(t, r, a.rate(), 1e-9)
	at = at.Add(time.Second)
	a.observe(AdaptiveAuto, at, ok200(), at, 1)
	assert.InDelta(t, r+max(adaptiveMinSlope, adaptiveGrowth*r), a.rate(), 1e-9)

	// Other statuses leave the rate alone.
	r = a.rate()
	a.observe(AdaptiveAuto, at, Outcome{Sent: true, Status: 503}, at, 0)
	a.observe(AdaptiveAuto, at, Outcome{Sent: true, Status: 0}, at, 0)
	a.observe(AdaptiveAuto, at, Outcome{Sent: false}, at, 0)
	assert.Equal(t, r, a.rate())
}

func TestAdaptiveRelease(t *testing.T) {
	for _, mode := range []AdaptiveMode{AdaptiveAuto, AdaptiveAlways} {
		var a aimd
		sendEvery(&a, 100*ms, 0, time.Second)
		at := clocktest.Epoch.Add(time.Second)
		a.observe(mode, at, bare429(), at, 0)
		// The client now sends rarely, so the rate grows far above use.
		n := 0
		for ; a.active && n < 2000; n++ {
			at = at.Add(time.Second)
			a.sent(at)
			a.observe(mode, at, ok200(), at, 0)
		}
		if mode == AdaptiveAlways {
			assert.True(t, a.active, "AdaptiveAlways never releases")
			continue
		}
		require.False(t, a.active, "released")
		a2 := aimd{}
		sendEvery(&a2, 100*ms, 0, time.Second)
		at2 := clocktest.Epoch.Add(time.Second)
		a2.observe(mode, at2, bare429(), at2, 0)
		for range 2 * n {
			at2 = at2.Add(time.Second)
			a2.sent(at2)
			a2.observe(mode, at2, ok200(), at2, 50)
		}
		assert.True(t, a2.active, "never released while requests wait: the backlog would flood the window")
		// 4 x 9.6/s is reached after 3 doublings of the step.
		assert.Greater(t, n, 3*adaptiveRun)
		assert.Less(t, n, 4*adaptiveRun)
		assert.Zero(t, a.rate())
	}
}

func TestAdaptiveGatesStore(t *testing.T) {
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	h.st.IgnoreServerLimits = true // no first probe: isolate adaptive mode
	var steps []step
	for i := range 10 { // 10 sends in the first second
		d := time.Duration(i) * 100 * ms
		name := string(rune('a' + i))
		steps = append(steps, step{at: d, grant: name}, step{at: d, answer: name})
	}
	h.run(tk, steps)
	cut := adaptiveBeta * 9.6
	h.run(tk, []step{
		{at: t1, grant: "k"},
		{at: t1, answer: "k", o: Outcome{Status: 429}}, // measured 9.6/s: cut to 6.72/s
		{at: t1, grant: "l"},                           // the limiter's burst of 1
		{at: t1, deny: true, next: t1 + time.Duration(math.Ceil(1/cut*1e9))},
	})
	u := h.st.Usage()
	require.Len(t, u, 1)
	assert.InDelta(t, cut, u[0].AdaptiveRate, 1e-9)
}

// TestSimAdaptiveSettles runs an unconfigured client against servers of
// unknown limit that answer only a bare 429: after the first burst (every
// request in flight when the first 429 comes back is refused too), the
// scope settles under the limit with at most 2% of 429s.
//
// When the first burst spends a whole window (a limit per minute), the
// scope is refused until the window slides: the probes refused in between
// must not drag the rate to its floor, and the rate measured over the
// burst and the lockout resumes (see bareHold.taken). The rate then climbs
// between such lockouts, which bound what is sent: most is higher there.
func TestSimAdaptiveSettles(t *testing.T) {
	for _, c := range []struct {
		limit   int
		window  time.Duration
		workers int
		run     time.Duration
		least   float64 // the least accepted rate, as a fraction of the limit
		most    float64 // the highest final adaptive rate, as a fraction of the limit
	}{
		{10, time.Second, 8, 10 * time.Minute, 0.6, 1.5},
		{50, time.Second, 16, 3 * time.Minute, 0.6, 1.5},
		{2, time.Second, 4, 20 * time.Minute, 0.6, 1.5},
		{100, time.Minute, 8, 20 * time.Minute, 0.8, 1.5},
		// A backlog far beyond the limit: the first burst costs one 429 per
		// request in flight, but the backlog is never let out all at once
		// again.
		{100, 10 * time.Second, 300, 10 * time.Minute, 0.75, 1.5},
		// Whole-window lockouts (the 6000-per-5-minutes API, scaled).
		{600, time.Minute, 8, 10 * time.Minute, 0.8, 3},
		{600, time.Minute, 64, 10 * time.Minute, 0.8, 3},
	} {
		h := newHarness(t)
		srv := &simServer{limit: c.limit, window: c.window}
		sim := &simulation{h: h, srv: srv, ticket: Ticket{Scope: "api"}, workers: c.workers,
			minLatency: 5 * ms, maxLatency: 80 * ms, rng: rand.New(rand.NewPCG(7, 8))}
		d := c.run
		sim.run(d)
		limit := float64(c.limit) / c.window.Seconds()
		accepted := float64(sim.sent-sim.refused) / d.Seconds()
		settled := clocktest.Epoch.Add(2 * c.window) // after the first burst
		sent, refused := countFrom(sim.sends, settled), countFrom(sim.refusals, settled)
		t.Logf("limit %d/%v: sent %d, 429s %d (%.2f%%; %.2f%% after %v), %.2f/s accepted, adaptive rate %.2f/s",
			c.limit, c.window, sim.sent, sim.refused, 100*float64(sim.refused)/float64(sim.sent),
			100*float64(refused)/float64(sent), 2*c.window, accepted, h.st.Usage()[0].AdaptiveRate)
		assert.LessOrEqual(t, float64(refused), 0.02*float64(sent), "429s within 2%% of sends once settled")
		assert.Greater(t, accepted, c.least*limit, "settles not far under the limit")
		assert.Less(t, h.st.Usage()[0].AdaptiveRate, c.most*limit, "and not far above it")
	}
}

func TestAdaptiveResumesAfterLockout(t *testing.T) {
	// Five successes from t0, then a bare 429 at t1: the scope is cut and
	// held. The probe at t2 is refused too (the window is still full): the
	// hold doubles, and the rate stays where the burst's 429 cut it. The
	// probe at t4 is taken: five successes over the 4 s since the run began
	// is what the server's window sustained, and the scope resumes at it.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	bare := Outcome{Status: 429}
	rate := func() float64 { return h.st.Usage()[0].AdaptiveRate }
	h.run(tk, []step{
		{at: t0, grant: "a"}, {at: t0, answer: "a"}, // the first answer: no headers
		{at: t0, grant: "b"}, {at: t0, grant: "c"}, {at: t0, grant: "d"}, {at: t0, grant: "e"},
		{at: t1, answer: "b"}, {at: t1, answer: "c"}, {at: t1, answer: "d"}, {at: t1, answer: "e"},
		{at: t1, grant: "f"},
		{at: t1, answer: "f", o: bare},
		{at: t1, deny: true, next: t2},
	})
	cut := rate()
	require.Positive(t, cut)
	h.run(tk, []step{
		{at: t2, grant: "probe1"},
		{at: t2, answer: "probe1", o: bare},
		{at: t2, deny: true, next: t4},
	})
	assert.InDelta(t, cut, rate(), 1e-9, "a refused probe does not cut")
	h.run(tk, []step{
		{at: t4, grant: "probe2"},
		{at: t4, answer: "probe2"},
	})
	assert.InDelta(t, 5.0/4, rate(), 1e-9, "five successes in the 4 s of the run and its lockout")
}
