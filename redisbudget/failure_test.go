package redisbudget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testTimeout = 100 * time.Millisecond
	// callBound is how long any call may take while Redis is down or stuck:
	// the timeout plus a generous margin for a loaded machine.
	callBound = testTimeout + 400*time.Millisecond
)

// fragileStore returns a store of the env that gives each Redis call
// testTimeout and, after a failure, skips Redis for an hour, with opts.
func (e *env) fragileStore(opts ...Option) *Store {
	return e.store(append([]Option{WithTimeout(testTimeout), WithRetryInterval(time.Hour)}, opts...)...)
}

func TestFailClosed(t *testing.T) {
	e := newEnv(t)
	s := e.fragileStore()
	tk := ticket("s", per(10, time.Minute))
	slot := reserve(t, s, tk)
	e.redis.kill()

	for _, name := range []string{"first call finds Redis gone", "later calls skip Redis"} {
		start := time.Now()
		_, err := s.Reserve(context.Background(), tk)
		assert.Less(t, time.Since(start), callBound, name)
		require.ErrorIs(t, err, ErrUnavailable, name)
		var ue *UnavailableError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "s", ue.Scope)
		assert.Error(t, ue.Err, "%s: the cause is kept", name)
	}
	start := time.Now()
	s.Observe(slot, answered(t0))
	assert.Less(t, time.Since(start), callBound)
}

func TestFailOpenServesFromMemory(t *testing.T) {
	e := newEnv(t)
	s := e.fragileStore(FailOpen())
	tk := ticket("s", per(1, time.Minute))
	e.redis.kill()

	slot := reserve(t, s, tk)
	assert.True(t, strings.HasPrefix(slot.ID, fallbackTag), "granted by the fallback: %q", slot.ID)

	// The fallback keeps the same budget: the next slot frees a minute after
	// the answer.
	s.Observe(slot, answered(t0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Reserve(ctx, tk)
	require.ErrorIs(t, err, pacer.ErrRateLimited)

	e.clock.Advance(time.Minute)
	_, err = s.Reserve(ctx, tk)
	require.NoError(t, err)
}

func TestFallbackSlotObservedByFallback(t *testing.T) {
	e := newEnv(t)
	mem := &pacer.MemoryStore{Clock: e.clock}
	s := e.fragileStore(WithFallback(mem))
	tk := ticket("s", per(1, time.Minute))
	e.redis.kill()
	slot := reserve(t, s, tk)
	require.Equal(t, 1, mem.Usage()[0].InFlight)
	require.Equal(t, mem.Usage(), s.Usage(), "while Redis is down, Usage is the fallback's")
	s.Observe(slot, unsent)
	require.Equal(t, 0, mem.Usage()[0].InFlight, "the fallback got its slot back")
}

// A Redis that accepts connections and never answers (a stuck server, here
// a stopped process) costs each call the timeout at most, even with a
// client whose own timeouts are long and ignore the context.
func TestStuckRedisNeverHangs(t *testing.T) {
	r := startRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.addr(), ReadTimeout: 2 * time.Second, MaxRetries: -1})
	s := New(rdb, WithTimeout(testTimeout), WithRetryInterval(time.Millisecond))
	tk := ticket("s", per(10, time.Minute))
	reserve(t, s, tk)

	require.NoError(t, r.cmd.Process.Signal(syscall.SIGSTOP))
	for range 3 {
		start := time.Now()
		_, err := s.Reserve(context.Background(), tk)
		assert.Less(t, time.Since(start), callBound)
		require.ErrorIs(t, err, ErrUnavailable)
		// A store that cannot answer is its own failure class: not the
		// caller's deadline, although the cause (the store's own bound
		// running out) stays in the message.
		require.NotErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "no answer within")
		time.Sleep(2 * time.Millisecond) // past the retry interval: ask Redis again
	}
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGCONT))
	require.NoError(t, rdb.Close()) // ends the calls left running
}

// TestRedisRestart kills Redis under load and restarts it on the same port,
// in each failure mode: every call returns within the bound, the chosen mode
// is observed meanwhile, and the workers go back to Redis once it is up.
func TestRedisRestart(t *testing.T) {
	for _, mode := range []string{"fail-open", "fail-closed"} {
		t.Run(mode, func(t *testing.T) {
			r := startRedis(t)
			opts := []Option{WithTimeout(testTimeout), WithRetryInterval(20 * time.Millisecond)}
			if mode == "fail-open" {
				opts = append(opts, FailOpen())
			}
			s := New(r.client(t), opts...)
			l := startLoad(t, s, 4)
			defer l.stop()

			l.waitFor(t, "redis grants before the kill", func(c counts) bool { return c.redis >= 50 })
			r.kill()
			before := l.snapshot()
			if mode == "fail-open" {
				l.waitFor(t, "fallback grants", func(c counts) bool { return c.fallback >= before.fallback+50 })
			} else {
				l.waitFor(t, "unavailable errors", func(c counts) bool { return c.unavailable >= before.unavailable+20 })
			}
			r.restart(t)
			back := l.snapshot()
			l.waitFor(t, "redis grants after the restart", func(c counts) bool { return c.redis >= back.redis+50 })
			l.stop()

			c := l.snapshot()
			t.Logf("%s: %+v", mode, c)
			assert.Less(t, c.slowest, callBound, "slowest call")
			assert.Zero(t, c.other, "unexpected errors")
			if mode == "fail-open" {
				assert.Zero(t, c.unavailable)
			} else {
				assert.Zero(t, c.fallback)
			}
		})
	}
}

type counts struct {
	redis, fallback, unavailable, other int
	slowest                             time.Duration
}

// load runs workers that reserve and observe in a loop until stopped.
type load struct {
	mu   sync.Mutex
	c    counts
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startLoad(t *testing.T, s *Store, workers int) *load {
	l := &load{done: make(chan struct{})}
	// A short window: after a restart the store holds the scope for one
	// window (Redis lost its slots), which must stay within callBound.
	tk := ticket("load", per(100000, 100*time.Millisecond))
	for range workers {
		l.wg.Go(func() {
			for i := 0; i < 100000; i++ {
				select {
				case <-l.done:
					return
				case <-time.After(time.Millisecond):
				}
				l.once1(s, tk)
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) once1(s *Store, tk pacer.Ticket) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	slot, err := s.Reserve(ctx, tk)
	if err == nil {
		s.Observe(slot, pacer.Outcome{Sent: true, At: time.Now(), Status: 200})
	}
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c.slowest = max(l.c.slowest, took)
	switch {
	case err == nil && strings.HasPrefix(slot.ID, fallbackTag):
		l.c.fallback++
	case err == nil:
		l.c.redis++
	case isUnavailable(err):
		l.c.unavailable++
	default:
		l.c.other++
	}
}

func isUnavailable(err error) bool {
	var ue *UnavailableError
	return errors.As(err, &ue)
}

func (l *load) snapshot() counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c
}

func (l *load) waitFor(t *testing.T, what string, ok func(counts) bool) {
	t.Helper()
	require.Eventually(t, func() bool { return ok(l.snapshot()) }, 20*time.Second, 5*time.Millisecond,
		"waiting for %s: %+v", what, l.snapshot())
}

func (l *load) stop() {
	l.once.Do(func() { close(l.done) })
	l.wg.Wait()
}

// An UnavailableError unwraps to a Redis or network cause, never to a
// context error, which stays in its message only.
func TestUnavailableErrorUnwrap(t *testing.T) {
	timeout := &UnavailableError{Scope: "s", Err: fmt.Errorf("no answer within 200ms: %w", context.DeadlineExceeded)}
	require.ErrorIs(t, timeout, ErrUnavailable)
	require.NotErrorIs(t, timeout, context.DeadlineExceeded)
	require.NotErrorIs(t, &UnavailableError{Err: context.Canceled}, context.Canceled)
	assert.Contains(t, timeout.Error(), context.DeadlineExceeded.Error())

	var ue *UnavailableError
	require.ErrorAs(t, fmt.Errorf("wrapped: %w", timeout), &ue)
	assert.Equal(t, "s", ue.Scope)

	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	refused := &UnavailableError{Scope: "s", Err: netErr}
	require.ErrorIs(t, refused, syscall.ECONNREFUSED, "a network cause stays reachable")
	var op *net.OpError
	require.ErrorAs(t, refused, &op)
}

// A call refused at dial time ran nothing and leaves nothing to release;
// any other failure may have run. (go-redis may retry a refused dial until
// the bound passes: then the store cannot tell, and releases the slot later
// to be safe.)
func TestMayHaveRun(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	assert.False(t, mayHaveRun(fmt.Errorf("wrapped: %w", refused)))
	assert.True(t, mayHaveRun(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}))
	assert.True(t, mayHaveRun(fmt.Errorf("no answer within 1s: %w", context.DeadlineExceeded)))
	assert.True(t, mayHaveRun(io.ErrUnexpectedEOF))
}

// redisErr is a Redis error reply, as go-redis returns them.
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}

// A call a cluster refuses without running it is sent again within the
// bound; other errors, and refusals that last past the bound, are returned.
func TestBoundedRetriesRefusals(t *testing.T) {
	ctx := context.Background()
	for _, refusal := range []string{"TRYAGAIN Multiple keys request during rehashing of slot",
		"MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381", "CLUSTERDOWN The cluster is down",
		"LOADING Redis is loading the dataset in memory"} {
		calls := 0
		v, err := bounded(ctx, time.Second, func(context.Context) (int, error) {
			if calls++; calls < 3 {
				return 0, redisErr(refusal)
			}
			return 42, nil
		})
		require.NoError(t, err, refusal)
		assert.Equal(t, 42, v)
		assert.Equal(t, 3, calls, refusal)
	}

	calls := 0
	_, err := bounded(ctx, time.Second, func(context.Context) (int, error) {
		calls++
		return 0, redisErr("ERR unknown command")
	})
	require.Error(t, err)
	assert.Equal(t, 1, calls, "an error that may have run is not sent again")

	start := time.Now()
	_, err = bounded(ctx, testTimeout, func(context.Context) (int, error) { return 0, redisErr("TRYAGAIN") })
	require.Error(t, err)
	assert.Less(t, time.Since(start), callBound, "refusals stop at the bound")
	require.NotErrorIs(t, &UnavailableError{Err: err}, context.DeadlineExceeded)
}
