package memstore

import (
	"net/http"
	"time"
)

// Bounds of the limit a scope infers from a header-less server's lockout.
const (
	// inferMinLimit is the fewest admissions before the first refusal that
	// infer a limit: below it a run is too short to tell a window from a
	// burst refused for its speed, and adaptive mode paces the scope.
	inferMinLimit = 10
	// maxInferLimit bounds the limit inferred, and so the answer times a
	// scope records while it measures: 8 bytes each, at most 80 KB, kept
	// only until the first lockout ends.
	maxInferLimit = 10000
	// maxInferWindow bounds the window inferred.
	maxInferWindow = time.Hour
	// inferResolution: while a lockout is measured, probes are at most
	// 1/inferResolution of the time since the run began apart (and at
	// least inferGapMin). The probe admitted first comes at most one gap
	// after the window freed, so the window inferred is at most
	// 1 + 1/32 (about 3 %) longer than the server's, and the budget run on
	// it at least 97 % of the server's. A lockout measured from e to W
	// costs about 32·ln(W/e) refused probes: 57 for a burst of 1 s and a
	// window of 6 s, 410 at most (10 ms to an hour).
	inferResolution = 32
	inferGapMin     = 10 * time.Millisecond
)

// inferState is where a scope stands in learning a header-less limit.
type inferState uint8

const (
	inferRecording inferState = iota // counting the run's admissions
	inferLockout                     // refused since the run's first refusal
	inferRunning                     // running the inferred budget, not confirmed yet
	inferConfirmed                   // a whole window ran on it without a 429
	inferFailed                      // the evidence was inconsistent: adaptive mode only
)

// inference learns the limit of a server that sends no rate-limit headers
// and refuses everything, with bare 429s, once its window is spent. Such a
// server shows its limit L as the requests it admitted from the run's
// first until the first refusal, and its window W as the time from the
// run's first admission until a probe is admitted again: a sliding window
// frees its slots as the first admissions age out, a fixed one at its
// boundary. Taking the first grant (not its answer) and the admitted
// probe's answer makes the W inferred an upper bound of the server's (for
// a sliding window), within one probe gap.
//
// The scope then runs a sliding budget of L per W, seeded with the run's
// answer times, as if it were configured. A 429 under that budget is
// inconsistent evidence (a fixed window measured short, a limit changed, a
// second limit): the budget goes and adaptive mode paces the scope, for
// good. Once L requests have been admitted under it over at least W, the
// budget is confirmed (it is run the same way; Usage can tell).
//
// Inferring is part of adaptive mode: a Store with AdaptiveOff infers
// nothing, and its scopes keep the bare hold alone.
//
// An inference is not safe for concurrent use; its scope's mutex guards it.
type inference struct {
	state    inferState
	first    time.Time       // grant of the run's first admitted request
	answers  []time.Duration // answer times of the run's admissions - first
	refused  time.Time       // grant of the first refused request
	budget   slidingWindow   // running or confirmed: L per W
	since    time.Time       // running: when the budget began
	admitted int             // running: admissions under the budget
	learned  bool            // a budget began; see takeLearned
}

// gap returns the hold after a bare 429 answered at at while a lockout is
// measured, 0 when the default doubling applies (see inferResolution).
func (f *inference) gap(at time.Time) time.Duration {
	if f.state != inferLockout {
		return 0
	}
	return min(max(at.Sub(f.first)/inferResolution, inferGapMin), bareHoldMax)
}

// fail gives up inferring: adaptive mode paces the scope from now on.
func (f *inference) fail() {
	*f = inference{state: inferFailed}
}

// observe learns from the answer o, at at, to a request granted at granted;
// probe is whether it was sent once a bare hold was over (bareHold.probe).
func (f *inference) observe(o Outcome, granted, at time.Time, probe bool) {
	if f.state == inferFailed || !o.Sent || o.Status == 0 || o.Status >= 500 {
		return
	}
	if o.HasRateLimit || o.RetryAfter > 0 {
		f.fail() // the server speaks: the learned limits apply
		return
	}
	if o.Status == http.StatusTooManyRequests {
		f.refusal(granted)
		return
	}
	f.admission(granted, at, probe)
}

// refusal handles a bare 429 to a request granted at granted.
func (f *inference) refusal(granted time.Time) {
	switch f.state {
	case inferRecording:
		if len(f.answers) < inferMinLimit {
			f.fail()
			return
		}
		f.state, f.refused = inferLockout, granted
	case inferRunning, inferConfirmed:
		f.fail() // refused within the budget: inconsistent
	}
}

// admission handles an answer other than 429, at at, to a request granted
// at granted (a probe if probe).
func (f *inference) admission(granted, at time.Time, probe bool) {
	switch f.state {
	case inferRecording:
		f.record(granted, at)
	case inferLockout:
		if !probe { // sent before the hold: in the limit
			f.record(granted, at)
			return
		}
		f.infer(at)
	case inferRunning, inferConfirmed:
		f.budget.release(at)
		f.admitted++
		if f.admitted >= f.budget.budget.Limit && at.Sub(f.since) >= f.budget.budget.Window {
			f.state = inferConfirmed
		}
	}
}

// record counts an admission of the run.
func (f *inference) record(granted, at time.Time) {
	if len(f.answers) == 0 {
		f.first = granted
	}
	if len(f.answers) == maxInferLimit {
		f.fail() // more than the limits a scope infers
		return
	}
	f.answers = append(f.answers, at.Sub(f.first))
}

// infer ends a lockout with a probe admitted at at: the budget is the run's
// admissions per the time since its first grant.
func (f *inference) infer(at time.Time) {
	limit, window := len(f.answers), at.Sub(f.first)
	if window <= 0 || window > maxInferWindow {
		f.fail()
		return
	}
	w := newSlidingWindow(Budget{Limit: limit, Window: window}, f.first)
	for _, a := range f.answers {
		w.release(f.first.Add(a))
	}
	w.release(at) // the probe took a slot
	*f = inference{state: inferRunning, first: f.first, budget: w, since: at, learned: true}
}

// takeLearned reports, once, that a budget began.
func (f *inference) takeLearned() bool {
	l := f.learned
	f.learned = false
	return l
}

// running reports whether the inferred budget applies.
func (f *inference) running() bool {
	return f.state == inferRunning || f.state == inferConfirmed
}

// gate adds the inferred budget to g.
func (f *inference) gate(g *grantGate, inFlight int) {
	if !f.running() {
		return
	}
	at, afterAnswer := f.budget.nextFree(g.now, inFlight)
	g.until(at)
	if afterAnswer {
		g.untilAnswer()
	}
}

// holds reports whether the inferred budget still counts slots at now.
func (f *inference) holds(now time.Time) bool {
	return f.running() && f.budget.held(now, 0) > 0
}
