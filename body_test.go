package pacer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
)

// digests records the SHA-256 of every request body a server receives.
type digests struct {
	mu   sync.Mutex
	sums [][32]byte
}

func (d *digests) record(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sha256.New()
		_, _ = io.Copy(s, r.Body)
		d.mu.Lock()
		d.sums = append(d.sums, [32]byte(s.Sum(nil)))
		d.mu.Unlock()
		h(w, r)
	}
}

func (d *digests) all() [][32]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([][32]byte(nil), d.sums...)
}

// A body longer than the buffer bound is streamed through once: a 503 is
// handed back rather than retried with a body pacer no longer has.
func TestLongBodyStreamedOnce(t *testing.T) {
	t.Parallel()
	var got digests
	srv := newScript(t, got.record(status(503, "")), got.record(status(200, "")))
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	c := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithBodyBuffer(64<<10))
	req, _ := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(bytes.NewReader(payload))) // no GetBody
	resp, err := c.Do(req)
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, 503, resp.StatusCode, "not sent again")
	require.Len(t, got.all(), 1)
	assert.Equal(t, sha256.Sum256(payload), got.all()[0], "the whole body went through")
}

// A file is read afresh for each attempt, not held in memory.
func TestFileBodyReplayedWithoutBuffering(t *testing.T) {
	payload := bytes.Repeat([]byte("pacer "), 16<<20/6) // ~16 MiB
	path := filepath.Join(t.TempDir(), "upload")
	require.NoError(t, os.WriteFile(path, payload, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	var got digests
	srv := newScript(t, got.record(status(503, "")), got.record(status(200, "")))
	c := newTestClient(clocktest.NewInstant(time.Time{}))
	req, _ := http.NewRequest(http.MethodPut, srv.URL, f) // *os.File: no GetBody
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := c.Do(req)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, 200, resp.StatusCode)
	require.Len(t, got.all(), 2)
	assert.Equal(t, sha256.Sum256(payload), got.all()[0])
	assert.Equal(t, got.all()[0], got.all()[1], "the retry sent the same bytes")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(len(payload)/2),
		"two 16 MiB uploads allocated less than half the file (client and server together)")
	_, err = f.Read(make([]byte, 1))
	assert.ErrorIs(t, err, os.ErrClosed, "the caller's file is closed, as RoundTrip must")
}

// endless is a body that yields a byte now and then, forever.
type endless struct{ closed chan struct{} }

func (e *endless) Read(p []byte) (int, error) {
	select {
	case <-e.closed:
		return 0, os.ErrClosed
	case <-time.After(50 * time.Millisecond):
		p[0] = 'x'
		return 1, nil
	}
}

func (e *endless) Close() error {
	select {
	case <-e.closed:
	default:
		close(e.closed)
	}
	return nil
}

// A body that never ends cannot hold the caller past its deadline.
func TestEndlessBodyHonoursDeadline(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(200, ""))
	c := newTestClient(clocktest.NewInstant(time.Time{}))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	body := &endless{closed: make(chan struct{})}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
	start := time.Now()
	_, err := c.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	select {
	case <-body.closed:
	default:
		t.Error("the body was not closed")
	}
}

// A 429 whose JSON body stalls reaches the caller as fast as it would
// through a plain transport: the hint read gives up, the body is handed
// back with every byte, as it arrives.
func TestStalledRateLimitBody(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"retryAfter":`)
		w.(http.Flusher).Flush()
		select { // the rest only when the test says so
		case <-release:
			_, _ = io.WriteString(w, `1}`)
		case <-r.Context().Done():
		}
	})
	c := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithMaxAttempts(1), pacer.WithRateLimitResponses())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	resp, err := c.Do(req)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second, "the stalled body does not hold the caller")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	close(release)
	assert.Equal(t, `{"retryAfter":1}`, readBody(t, resp), "every byte, in order")
}

// A body that never ends and ignores Close cannot hold the caller past its
// deadline either: pacer stops waiting for it (its reader stops at the
// buffer bound).
func TestEndlessBodyIgnoringClose(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(200, ""))
	c := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithBodyBuffer(4<<10))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	inner := &endless{closed: make(chan struct{})}
	defer inner.Close()         // the test's own cleanup: ends pacer's reader early
	body := io.NopCloser(inner) // Close does nothing
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
	start := time.Now()
	_, err := c.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
}

// A stalled 429 body before a retry costs a bounded drain, not the
// request: the retry goes ahead and its answer comes back.
func TestStalledRateLimitBodyThenRetry(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	stall := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"retryAfter":`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	srv := newScript(t, stall, stall, status(200, "ok"))
	start := time.Now()
	resp, err := newTestClient(clocktest.NewInstant(time.Time{})).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "ok", readBody(t, resp))
	assert.Less(t, time.Since(start), 2*time.Second, "two stalled bodies, each dropped within its bound")
}
