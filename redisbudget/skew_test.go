package redisbudget

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// behind is the system clock running d behind the wall.
type behind time.Duration

func (b behind) Now() time.Time { return time.Now().Add(-time.Duration(b)) }

func (behind) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// TestClockSkew runs two processes on one budget of 20 per second, one
// with its clock 500 ms behind. With Redis TIME (the default) the limit
// holds. With WithLocalTime the lagging process's slots free 500 ms early
// for the other, and a window sees more than the limit: the test checks it
// does, so that it can tell the two apart.
func TestClockSkew(t *testing.T) {
	const (
		limit  = 20
		window = time.Second
		run    = 2500 * time.Millisecond
		skew   = 30 * time.Millisecond // see TestStallLeaksNoGrant
	)
	for _, tc := range []struct {
		name   string
		opts   []Option
		exceed bool
	}{
		{"server time", nil, false},
		{"local time", []Option{WithLocalTime()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRedis(t)
			f := newFleet(t, r, 1, limit, window, tc.opts...)
			f.add(t, r, append([]Option{WithClock(behind(500 * time.Millisecond))}, tc.opts...)...)
			f.run(2)
			time.Sleep(run)
			f.halt()
			most := f.maxIn(window - skew)
			t.Logf("%s: at most %d requests in %v (limit %d, %+.0f%%), %d in %v",
				tc.name, most, window-skew, limit, 100*float64(most-limit)/limit, len(f.grants), run)
			if tc.exceed {
				assert.Greater(t, most, limit, "local clocks 500 ms apart let a window see more than the limit")
			} else {
				assert.LessOrEqual(t, most, limit, "the limit held")
				assert.GreaterOrEqual(t, len(f.grants), limit*2, "the budget was used")
			}
		})
	}
}
