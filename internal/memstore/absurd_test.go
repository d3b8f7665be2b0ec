package memstore

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/internal/clocktest"
)

// farFuture is the latest instant a time.Time holds; Sub and Add saturate
// against it.
var farFuture = time.Unix(math.MaxInt64-62135596801, 999_999_999)

// farSecond is the last whole second a time.Time holds: a reset there is
// read as approximate (see resets.go), and anchored.
var farSecond = time.Unix(math.MaxInt64-62135596801, 0)

// TestAbsurdValuesThroughObserve feeds a scope answers no server should
// send (issue 12): every learned number saturates instead of wrapping, so a
// huge Remaining lets requests through instead of holding the scope back
// forever, and a reset at the end of time holds it without a panic.
func TestAbsurdValuesThroughObserve(t *testing.T) {
	huge := func(remaining int, reset time.Time, window time.Duration) Outcome {
		return Outcome{Status: 200, HasRateLimit: true,
			RateLimit: RateLimit{Limit: math.MaxInt, Remaining: remaining, Reset: reset, Window: window}}
	}
	h := newHarness(t)
	tk := Ticket{Scope: "api"}
	steps := []step{
		{at: t0, grant: "probe"},
		// doneAtGrant + 1 + Remaining: wrapped to a negative cap before.
		{at: t0, answer: "probe", o: huge(math.MaxInt, h.when(time.Hour), 0)},
	}
	for i := range 5 {
		steps = append(steps, step{at: t1, grant: string(rune('a' + i))})
	}
	for i := range 5 {
		steps = append(steps, step{at: t2, answer: string(rune('a' + i)), o: huge(math.MaxInt-1, h.when(time.Hour), 0)})
		if i == 0 { // others in flight: the cap a's answer said holds
			steps = append(steps, step{at: t2, grant: "mid"})
		}
	}
	// The pool falls quiet after mid's answer: sent + the lowest Remaining,
	// the exact cap, wrapped before.
	steps = append(steps, step{at: t2, answer: "mid", o: huge(math.MaxInt-1, h.when(time.Hour), 0)})
	steps = append(steps,
		step{at: t3, grant: "after quiet"},
		// Remaining = Limit-1 with a reset at the end of time: an anchor
		// whose arithmetic saturates.
		step{at: t3, answer: "after quiet", o: huge(math.MaxInt-1, farSecond, 0)},
		step{at: t4, grant: "still free"},
		// A Window of the longest Duration and no Reset.
		step{at: t4, answer: "still free", o: huge(math.MaxInt, time.Time{}, math.MaxInt64)},
		step{at: t5, grant: "from the start of time"},
		// A fresh answer whose whole-second reset is the first instant a
		// time.Time holds: long past, nothing to hold.
		step{at: t5, answer: "from the start of time", o: huge(math.MaxInt-1, time.Time{}.Add(time.Second), 0)},
		step{at: t5, grant: "free again"},
		// Nothing left until the end of time: held, the earliest grant
		// named without wrapping.
		step{at: t5, answer: "free again", o: huge(0, farFuture, 0)},
	)
	h.run(tk, steps)
	_, ok, next := h.try(tk)
	require.False(t, ok)
	assert.Equal(t, farFuture.Sub(clocktest.Epoch), next, "held until the end of time, saturated")
	require.Len(t, h.st.Usage(), 1)
	assert.Equal(t, math.MaxInt, h.st.Usage()[0].Learned.Limit)
}
