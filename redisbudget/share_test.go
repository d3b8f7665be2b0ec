package redisbudget

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFailOpenShare kills Redis under load from eight processes on 50 per
// second that fail open. With FailOpen each keeps the whole budget in
// memory, and the fleet sends eight times the limit (the test checks that it
// does, so that it can tell the cases apart). With FailOpenShare(8), or
// FailOpenShare(0) after the heartbeats have counted the processes, each
// keeps 50/8 = 6 per second: 48 in any second, within the limit.
func TestFailOpenShare(t *testing.T) {
	const (
		limit  = 50
		window = time.Second
		skew   = 30 * time.Millisecond // see TestStallLeaksNoGrant
	)
	for _, tc := range []struct {
		name  string
		opt   Option
		share bool
		warm  time.Duration // load before the kill
	}{
		{"FailOpen", FailOpen(), false, 500 * time.Millisecond},
		{"FailOpenShare(8)", FailOpenShare(8), true, 500 * time.Millisecond},
		// Two heartbeat intervals: every process has sent one and read
		// the count after the others had, with room for a loaded machine.
		{"FailOpenShare learned", FailOpenShare(0), true, 2 * heartbeatEvery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRedis(t)
			f := newFleet(t, r, 8, limit, window, tc.opt, WithTimeout(testTimeout), WithRetryInterval(50*time.Millisecond))
			f.run(2)
			time.Sleep(tc.warm)
			r.kill()
			down := time.Now()
			time.Sleep(1500 * time.Millisecond)
			f.halt()
			most := f.maxInRange(window-skew, down, time.Now())
			t.Logf("%s: at most %d in %v while Redis was down (limit %d, %.1fx)", tc.name, most, window-skew, limit, float64(most)/limit)
			if !tc.share {
				assert.Greater(t, most, 4*limit, "each process kept the whole budget")
				return
			}
			for i, s := range f.stores {
				assert.Equal(t, 8, s.fleetSize(), "store %d's fleet size", i)
			}
			assert.LessOrEqual(t, most, limit, "the fleet kept within the limit")
			assert.GreaterOrEqual(t, most, 8*(limit/8)*9/10, "each process used its share")
		})
	}
}
