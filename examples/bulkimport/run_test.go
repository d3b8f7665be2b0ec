package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// checkComplete asserts what every finished import must show: every
// record created exactly once, as the server saw it, and the limit kept.
func checkComplete(t *testing.T, s Summary) {
	t.Helper()
	assert.True(t, s.Verified, "embedded runs are checked against the server's evidence")
	assert.Zero(t, s.Lost, "lost")
	assert.Zero(t, s.Duplicated, "duplicated")
	assert.Zero(t, s.Failed, "failed: %v", s.FirstError)
	assert.LessOrEqual(t, s.MaxInWindow, s.Limit, "the server saw its limit exceeded")
	assert.GreaterOrEqual(t, s.Virtual, s.Minimum, "faster than the limit allows")
}

func TestRunConfiguredBudgetSendsNo429(t *testing.T) {
	var out bytes.Buffer
	s, err := Run(context.Background(), Config{Records: 300, Scale: 600, Progress: ProgressBar}, &out)
	require.NoError(t, err)
	checkComplete(t, s)
	assert.Equal(t, 300, s.Requests)
	assert.Zero(t, s.RateLimited, "a client told the documented limit never hits it")
	assert.Equal(t, int64(300), s.Sent, "no request needed a retry")
	assert.Equal(t, 2*time.Minute, s.Minimum)
	assert.Contains(t, out.String(), "(300/300)", "the progress bar reached the end")
}

// Output that is not a terminal gets plain lines, never a carriage
// return: a redirected run's log reads line by line.
func TestRunRedirectedPrintsLines(t *testing.T) {
	var out bytes.Buffer
	s, err := Run(context.Background(), Config{Records: 200, Scale: 300}, &out)
	require.NoError(t, err)
	checkComplete(t, s)
	text := out.String()
	assert.NotContains(t, text, "\r", "no progress bar frames")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	last := lines[len(lines)-1]
	assert.Contains(t, last, "200/200 records (100%)", "the last line is the final state")
	assert.Contains(t, last, "429s 0")
	assert.Regexp(t, `budget \d+/100 left`, last)
}

func TestRunRejectsUnknownProgress(t *testing.T) {
	_, err := Run(context.Background(), Config{Records: 1, Progress: "fancy"}, io.Discard)
	assert.Error(t, err)
}

func TestRunBulkEndpoint(t *testing.T) {
	s, err := Run(context.Background(), Config{Records: 1000, Bulk: 40, Scale: 600}, io.Discard)
	require.NoError(t, err)
	checkComplete(t, s)
	assert.Equal(t, 25, s.Requests)
	assert.Equal(t, 1000, s.Limit)
	assert.Equal(t, time.Hour, s.Window)
	assert.Zero(t, s.RateLimited)
}

func TestRunZeroConfigLearnsAndLosesNothing(t *testing.T) {
	s, err := Run(context.Background(), Config{Records: 250, ZeroConfig: true, Scale: 600}, io.Discard)
	require.NoError(t, err)
	checkComplete(t, s)
	assert.Equal(t, s.Sent, int64(s.Requests)+s.Retries, "every extra attempt is a counted retry")
}

// TestRunRealAPIModeUsesClientResults points the real-API mode at a local
// server: lost is then computed from client-side results, which the
// server's own evidence must confirm.
func TestRunRealAPIModeUsesClientResults(t *testing.T) {
	srv := pacertest.NewServer(pacertest.Config{Headers: pacertest.XRateLimitUnix})
	defer srv.Close()
	s, err := Run(context.Background(), Config{
		Records: 40, Real: demo.Real{URL: srv.URL, Path: "/items", Key: "k", Limit: 1000, Window: time.Minute},
	}, io.Discard)
	require.NoError(t, err)
	assert.False(t, s.Verified)
	assert.Zero(t, s.Lost)
	assert.Zero(t, s.Failed)
	ev := srv.Evidence()
	assert.Equal(t, 40, ev.Created)
	assert.Empty(t, ev.CreatedTwice)
}

func TestRunRejectsIncompleteConfig(t *testing.T) {
	for name, c := range map[string]Config{
		"no records":         {},
		"negative bulk":      {Records: 1, Bulk: -1},
		"real API, no path":  {Records: 1, Real: demo.Real{URL: "http://127.0.0.1:1", Limit: 1, Window: time.Second}},
		"real API, no limit": {Records: 1, Real: demo.Real{URL: "http://127.0.0.1:1", Path: "/x"}},
	} {
		_, err := Run(context.Background(), c, io.Discard)
		assert.Error(t, err, name)
	}
}

func TestRunCancelledBeforeStartSendsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Run(ctx, Config{Records: 50, Scale: 600}, io.Discard)
	require.NoError(t, err)
	assert.Zero(t, s.Sent)
	assert.Equal(t, 50, s.Lost)
	assert.Equal(t, 50, s.Failed, "every record not created is reported as failed")
	assert.False(t, s.OK())
}
