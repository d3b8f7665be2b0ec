package pacer_test

import (
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sequential sends n GETs one after another and returns the clock's waits.
func sequential(t *testing.T, n int, opts ...pacer.Option) []time.Duration {
	t.Helper()
	srv := newScript(t, status(200, ""))
	clk := clocktest.NewInstant(time.Time{})
	client := pacer.NewClient(append([]pacer.Option{pacer.WithClock(clk)}, opts...)...)
	for range n {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		readBody(t, resp)
	}
	assert.Equal(t, int64(n), srv.hits.Load())
	return clk.Waits()
}

func TestPacingSpreadsTheBudget(t *testing.T) {
	waits := sequential(t, 5, pacer.WithBudget(10, time.Minute), pacer.WithPacing())
	require.Len(t, waits, 4, "the first request goes at once")
	for _, w := range waits {
		assert.InDelta(t, float64(6*time.Second), float64(w), float64(time.Millisecond), "one request every 6 s")
	}
	assert.Empty(t, sequential(t, 5, pacer.WithBudget(10, time.Minute)), "without pacing, a burst")
}

func TestHeadroomRunsBelowTheLimit(t *testing.T) {
	waits := sequential(t, 6, pacer.WithBudget(10, time.Minute), pacer.WithHeadroom(0.5))
	require.Len(t, waits, 1, "5 of 10 go at once; the 6th waits")
	assert.InDelta(t, float64(time.Minute), float64(waits[0]), float64(time.Millisecond),
		"until a minute after the first answer")
}

func TestNoBudgetNoWait(t *testing.T) {
	assert.Empty(t, sequential(t, 20))
}
