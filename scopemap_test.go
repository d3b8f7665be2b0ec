package pacer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pacerhq/pacer/internal/clocktest"
)

func TestScopeMapForgetsIdleScopes(t *testing.T) {
	var m scopeMap[*int]
	m.busy = func(v *int, _ time.Time) bool { return *v < 0 }
	t0 := clocktest.Epoch
	mk := func() *int { return new(int) }

	*m.get("busy", t0, mk) = -1 // holds something live: kept however idle
	*m.get("used", t0, mk) = 1
	for i := range 100_000 { // a stream of one-off scopes
		m.get(fmt.Sprint("key-", i), t0.Add(time.Duration(i)*time.Millisecond), mk)
	}
	assert.LessOrEqual(t, m.size(), 100_002)

	later := t0.Add(2 * scopeIdle)
	assert.Equal(t, 1, *m.get("used", later, mk), "a used scope keeps its state across a sweep it survives")
	m.get("new", later.Add(scopeIdle+time.Minute), mk) // adding a scope sweeps
	_, busyKept := m.lookup("busy")
	assert.True(t, busyKept)
	_, oneOff := m.lookup("key-5")
	assert.False(t, oneOff, "idle scopes are forgotten")
	assert.Equal(t, 2, m.size(), "only the busy scope and the new one remain")
}

func TestTrackerForgetsIdleScopes(t *testing.T) {
	clk := clocktest.NewManual(time.Time{})
	tr := newTracker(&config{clock: clk})
	for i := range 1000 {
		tr.sent(fmt.Sprint("key-", i))
	}
	clk.Advance(scopeIdle + time.Second)
	tr.sent("fresh")
	assert.Len(t, tr.snapshot(), 1)
}
