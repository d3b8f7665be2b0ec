package memstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// admit returns the steps of n requests granted and answered 200 at at,
// named prefix0, prefix1, ….
func admit(at time.Duration, n int, prefix string) []step {
	var steps []step
	for i := range n {
		name := fmt.Sprint(prefix, i)
		steps = append(steps, step{at: at, grant: name}, step{at: at, answer: name})
	}
	return steps
}

// inferOf returns the inference of the harness's scope "api".
func inferOf(h *harness) *inference {
	s := h.st.acquire("api", h.clk.Now())
	defer s.refs.Add(-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.learned.infer
}

// bareUntil returns the end of the bare hold of the harness's scope "api".
func bareUntil(h *harness) time.Time {
	s := h.st.acquire("api", h.clk.Now())
	defer s.refs.Add(-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.learned.bare.until
}

// lockout runs the first cycle against a server that admits 10 (at t0)
// per sliding 4 s: the refusal at t1, a probe refused at t2, one admitted
// at t4, when the admissions of t0 age out. It checks the bare hold's
// gaps (the grant gate also has the adaptive rate cut at t1 in it).
func lockout(h *harness, tk Ticket) {
	bare := Outcome{Status: 429}
	h.run(tk, admit(t0, inferMinLimit, "run"))
	h.run(tk, []step{
		{at: t1, grant: "x"},
		{at: t1, answer: "x", o: bare}, // the first refusal: a lockout, measured
	})
	// probes 1/32 of the time since the run began apart
	assert.Equal(h.t, h.when(t1+t1/inferResolution), bareUntil(h))
	h.run(tk, []step{
		{at: t2, grant: "probe1"},
		{at: t2, answer: "probe1", o: bare},
	})
	assert.Equal(h.t, h.when(t2+t2/inferResolution), bareUntil(h))
	h.run(tk, []step{
		{at: t4, grant: "probe2"},
		{at: t4, answer: "probe2"}, // admitted: 10 per the 4 s since t0
	})
}

func TestInferConsistentLimit(t *testing.T) {
	// The budget inferred, 10 per 4 s, holds the probe's slot until t8 and
	// frees the run's at t4: 9 more now, none after. The cycle from t4 to
	// t8 (10 admitted over 4 s, no 429) confirms it.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	lockout(h, tk)
	f := inferOf(h)
	require.NotNil(t, f)
	assert.Equal(t, inferRunning, f.state)
	assert.Equal(t, Budget{Limit: inferMinLimit, Window: t4}, f.budget.budget)
	h.run(tk, admit(t4, inferMinLimit-1, "second"))
	h.run(tk, []step{
		{at: t4, deny: true, next: t8}, // no 429: the probe's slot frees at t8
		{at: t8, grant: "y"},
		{at: t8, answer: "y"},
	})
	assert.Equal(t, inferConfirmed, f.state)
	h.run(tk, admit(t8, inferMinLimit-1, "third"))
	h.run(tk, []step{{at: t8, deny: true, next: t8 + t4}})
}

func TestInferStandsAdaptiveDown(t *testing.T) {
	// Zero config: the burst's 429 cut the adaptive rate; the inferred
	// budget replaces it.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	lockout(h, tk)
	assert.Zero(t, h.st.Usage()[0].AdaptiveRate, "the inferred budget paces the scope")
	h.run(tk, admit(t4, inferMinLimit-1, "second"))
	h.run(tk, []step{{at: t4, deny: true, next: t8}})
}

func TestInferInconsistentFallsBack(t *testing.T) {
	// A 429 within the inferred budget (a fixed window measured short, a
	// second limit): the budget goes, the bare hold doubles from 1 s and
	// adaptive mode paces the scope, for good.
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	lockout(h, tk)
	h.run(tk, []step{
		{at: t5, grant: "a"},
		{at: t5, answer: "a", o: Outcome{Status: 429}},
		{at: t5, deny: true, next: t6},
	})
	assert.Nil(t, inferOf(h), "the inference is dropped")
	assert.Positive(t, h.st.Usage()[0].AdaptiveRate, "adaptive mode paces the scope")
	// The next lockout is not measured: the default doubling.
	h.run(tk, []step{
		{at: t6, grant: "probe"},
		{at: t6, answer: "probe", o: Outcome{Status: 429}},
		{at: t6, deny: true, next: t8},
	})
}

func TestInferNeedsEvidence(t *testing.T) {
	bare := Outcome{Status: 429}
	cases := []struct {
		name  string
		steps []step
		mode  AdaptiveMode
	}{
		{"adaptive mode off", admit(t0, 1, "a"), AdaptiveOff},
		{"a run too short to infer from", append(admit(t0, inferMinLimit-1, "run"),
			step{at: t1, grant: "x"}, step{at: t1, answer: "x", o: bare}), AdaptiveAuto},
		{"a server that sends headers", []step{
			{at: t0, grant: "a"}, {at: t0, answer: "a", o: said(5, t9)},
		}, AdaptiveAuto},
		{"a 429 that says when", append(admit(t0, inferMinLimit, "run"),
			step{at: t1, grant: "x"}, step{at: t1, answer: "x", o: Outcome{Status: 429, RetryAfter: time.Second}}), AdaptiveAuto},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.st.Adaptive = c.mode
			h.run(Ticket{Scope: "api"}, c.steps)
			assert.Nil(t, inferOf(h))
		})
	}
}

func TestInferBounds(t *testing.T) {
	// Past maxInferLimit admissions in one run, or a lockout longer than
	// maxInferWindow, infer nothing.
	f := &inference{}
	at := time.Unix(0, 0)
	for range maxInferLimit + 1 {
		f.observe(Outcome{Sent: true, Status: 200}, at, at, false)
	}
	assert.Equal(t, inferFailed, f.state)

	f = &inference{}
	for range inferMinLimit {
		f.observe(Outcome{Sent: true, Status: 200}, at, at, false)
	}
	f.observe(Outcome{Sent: true, Status: 429}, at, at, false)
	require.Equal(t, inferLockout, f.state)
	assert.Equal(t, bareHoldMax, f.gap(at.Add(time.Hour)), "probes at most bareHoldMax apart")
	assert.Equal(t, inferGapMin, f.gap(at), "and at least inferGapMin")
	late := at.Add(maxInferWindow + time.Second)
	f.observe(Outcome{Sent: true, Status: 200}, late, late, true)
	assert.Equal(t, inferFailed, f.state)
}
