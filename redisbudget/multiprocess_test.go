package redisbudget

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessesShareOneBudget runs four OS processes (this test binary in
// child mode) against one pacertest server with a sliding limit of 40 per
// second. Each process has its own pacer client with the same budget, kept
// in one Redis. The server must never see more than the limit in any window
// nor answer 429.
//
// With a server that sends no rate-limit headers only the shared budget
// applies, and together the processes must use at least 95% of what the
// limit allows over the run. With headers, the limits the processes learn
// are shared too; they are conservative under concurrency (a response's
// "R remaining" is counted against every request in flight when it was
// sent), so the share is reported, not held to 95%.
func TestProcessesShareOneBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes for several seconds each; not in -short")
	}
	for _, tc := range []struct {
		name     string
		headers  pacertest.HeaderStyle
		minShare float64
	}{
		{"budget only", pacertest.NoHeaders, 0.95},
		{"with learned limits", pacertest.XRateLimitUnixMs, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			share := runProcesses(t, tc.headers)
			assert.GreaterOrEqual(t, share, tc.minShare, "the processes used the budget")
		})
	}
}

// runProcesses runs the children against a fresh server and Redis, checks
// that the limit held, and returns the share of the allowed requests the
// server accepted.
func runProcesses(t *testing.T, headers pacertest.HeaderStyle) float64 {
	const (
		limit     = 40
		window    = time.Second
		run       = 4800 * time.Millisecond // bursts at 0, W, 2W, 3W and 4W fit, with 800 ms for latency and a loaded machine
		processes = 4
	)
	r := startRedis(t)
	srv := pacertest.NewServer(pacertest.Config{
		Limits:     []pacertest.Limit{{Requests: limit, Window: window, Scope: pacertest.Global, Name: "shared"}},
		Headers:    headers,
		RetryAfter: pacertest.RetryAfterSeconds,
	})
	defer srv.Close()

	cfg := childConfig{
		Redis: r.addr(), URL: srv.URL + "/items", Start: time.Now().Add(time.Second),
		Run: run, Limit: limit, Window: window, Workers: 4,
	}
	sent := 0
	for i, rep := range runChildren(t, cfg, processes) {
		assert.Empty(t, rep.Errors, "child %d", i)
		assert.Positive(t, rep.Status[200], "child %d sent nothing", i)
		t.Logf("child %d: %v, %d workers out of time", i, rep.Status, rep.Late)
		sent += rep.Status[200]
	}

	ev := srv.Evidence()
	ideal := limit * int(math.Ceil(float64(run)/float64(window)))
	share := float64(ev.Accepted) / float64(ideal)
	t.Logf("server: accepted %d of %d allowed (%.3f), max %d in one window (limit %d), %d rejected",
		ev.Accepted, ideal, share, ev.MaxInWindow("shared"), limit, ev.Rejected)
	assert.Equal(t, sent, ev.Accepted)
	assert.LessOrEqual(t, ev.MaxInWindow("shared"), limit, "the limit held")
	assert.Zero(t, ev.Rejected, "no 429")
	return share
}

// runChildren starts n copies of this test binary in child mode with cfg
// and returns their reports.
func runChildren(t *testing.T, cfg childConfig, n int) []childReport {
	spec, err := json.Marshal(cfg)
	require.NoError(t, err)
	cmds := make([]*exec.Cmd, n)
	outs := make([]bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), childEnv+"="+string(spec))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], os.Stderr
		require.NoError(t, cmds[i].Start())
	}
	reps := make([]childReport, n)
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "child %d", i)
		require.NoError(t, json.Unmarshal(outs[i].Bytes(), &reps[i]), "child %d said %q", i, outs[i].String())
	}
	return reps
}
