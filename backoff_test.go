package pacer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Every jitter kind, with the randomness passed in: exact waits.
func TestBackoffDelay(t *testing.T) {
	const s = time.Second
	b := func(j Jitter) backoff { return backoff{Base: s, Cap: 10 * s, Jitter: j} }
	cases := []struct {
		name  string
		b     backoff
		retry int
		prev  time.Duration
		rnd   float64
		want  time.Duration
	}{
		{"full: uniform in [0, d]", b(FullJitter), 3, 0, 0.5, 2 * s},
		{"full: zero draw", b(FullJitter), 3, 0, 0, 0},
		{"full: capped before jitter", b(FullJitter), 10, 0, 0.5, 5 * s},
		{"equal: d/2 plus up to d/2", b(EqualJitter), 3, 0, 0.5, 3 * s},
		{"equal: never below half", b(EqualJitter), 3, 0, 0, 2 * s},
		{"decorrelated: from base up to 3×prev", b(DecorrelatedJitter), 5, 2 * s, 0.5, 3500 * time.Millisecond},
		{"decorrelated: first wait is base", b(DecorrelatedJitter), 1, 0, 0.9, s},
		{"decorrelated: capped", b(DecorrelatedJitter), 5, 20 * s, 0.9, 10 * s},
		{"none: exactly base·2^(n-1)", b(NoJitter), 4, 0, 0.9, 8 * s},
		{"none: capped", b(NoJitter), 60, 0, 0, 10 * s},
		{"zero value: 250 ms base", backoff{}, 1, 0, 1, 250 * time.Millisecond},
		{"zero value: 30 s cap, no overflow", backoff{Jitter: NoJitter}, 1000, 0, 0, 30 * s},
		{"cap below base: base wins", backoff{Base: 2 * s, Cap: s, Jitter: NoJitter}, 3, 0, 0, 2 * s},
		{"retry 0 reads as 1", b(NoJitter), 0, 0, 0, s},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.b.delay(c.retry, c.prev, c.rnd), c.name)
	}
}

// Quantiles read from the histogram are upper bounds within 12.5 % of the
// true value, never above the largest duration recorded.
func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	assert.Zero(t, h.quantile(0.5), "empty")
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	h.record(-time.Second) // read as 0
	assert.Equal(t, int64(1001), h.n)
	assert.Equal(t, 500500*time.Millisecond, h.total)
	assert.Equal(t, time.Second, h.max)
	for _, q := range []struct {
		q    float64
		true time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.1, 100 * time.Millisecond}} {
		got := h.quantile(q.q)
		assert.GreaterOrEqual(t, got, q.true-time.Millisecond, "q=%v", q.q)
		assert.LessOrEqual(t, float64(got), 1.125*float64(q.true), "q=%v", q.q)
	}
	assert.Equal(t, time.Second, h.quantile(1))
	var one histogram
	one.record(7 * time.Nanosecond)
	assert.Equal(t, 7*time.Nanosecond, one.quantile(0.99), "small values are exact")
}
