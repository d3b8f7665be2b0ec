package redisbudget

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
)

// scope is the in-process side of one budget scope: the queue of this
// process's waiters. Only the head of the queue asks Redis; the others wait
// for their turn, so a process sends one request to Redis per scope at a
// time, and its waiters are served by priority, then first-in first-out.
// Processes compete with each other at Redis.
type scope struct {
	// refs and lastUsed are guarded by the Store's mutex.
	refs     int
	lastUsed time.Time

	mu      sync.Mutex
	wins    []window  // the latest ticket's windows, for Usage
	waiters []*waiter // priority descending, then arrival
	seq     uint64
	retryAt time.Time // when the head may next be granted; zero if unknown
	polling bool      // the head sleeps on a slot in flight elsewhere

	epoch     string    // the scope's epoch in Redis, as last seen
	lastGrant time.Time // this process's latest grant in the scope (store's clock)
}

type waiter struct {
	prio int
	seq  uint64
	sig  chan struct{} // nudged when the waiter should look at the queue again
}

func nudge(w *waiter) {
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// enqueue adds a waiter and returns it; a waiter that jumps ahead of the
// current head nudges it so that it stops asking Redis. It returns
// pacer.ErrQueueFull when limit (if positive) waiters already wait behind
// the head.
func (sc *scope) enqueue(prio int, ws []window, limit int) (*waiter, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.wins = ws
	if limit > 0 && len(sc.waiters) > limit {
		return nil, pacer.ErrQueueFull
	}
	sc.seq++
	w := &waiter{prio: prio, seq: sc.seq, sig: make(chan struct{}, 1)}
	i, _ := slices.BinarySearchFunc(sc.waiters, w, func(a, b *waiter) int {
		if c := cmp.Compare(b.prio, a.prio); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	sc.waiters = slices.Insert(sc.waiters, i, w)
	if i == 0 && len(sc.waiters) > 1 {
		nudge(sc.waiters[1])
	}
	return w, nil
}

// leave removes w; when w was the head, the next waiter takes its turn.
func (sc *scope) leave(w *waiter) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	i := slices.Index(sc.waiters, w)
	if i < 0 {
		return
	}
	sc.waiters = slices.Delete(sc.waiters, i, i+1)
	if i == 0 {
		sc.polling = false
		if len(sc.waiters) > 0 {
			nudge(sc.waiters[0])
		}
	}
}

// turn reports whether w heads the queue, and the scope's known retry time.
func (sc *scope) turn(w *waiter) (head bool, retryAt time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.waiters) > 0 && sc.waiters[0] == w, sc.retryAt
}

// denied records the head's verdict: the scope frees no earlier than
// retryAt. Every waiter is nudged so that those whose deadline comes first
// give up at once.
func (sc *scope) denied(retryAt time.Time, polling bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.retryAt, sc.polling = retryAt, polling
	for i, w := range sc.waiters {
		if i > 0 {
			nudge(w)
		}
	}
}

func (sc *scope) granted() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.retryAt, sc.polling = time.Time{}, false
}

// released is called when this process frees a slot of the scope; a head
// sleeping on a slot in flight asks Redis again now.
func (sc *scope) released() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.polling && len(sc.waiters) > 0 {
		sc.polling = false
		nudge(sc.waiters[0])
	}
}

func (sc *scope) queued() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.waiters)
}

// awaitTurn blocks until w heads the queue. It fails early with ctx's error,
// or with fail's error when the scope's retry time passes ctx's deadline.
func (sc *scope) awaitTurn(ctx context.Context, w *waiter, fail func(retryAt time.Time) error) error {
	for {
		head, retryAt := sc.turn(w)
		if head {
			return nil
		}
		if err := fail(retryAt); err != nil {
			return err
		}
		select {
		case <-w.sig:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (sc *scope) windows() []window {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.wins
}

// seen records the epoch a reserve call found, and when it granted. sc may
// be nil (a call made outside Reserve).
func (sc *scope) seen(epoch string, granted bool, now time.Time) {
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.epoch = epoch
	if granted {
		sc.lastGrant = now
	}
}

// expected is the epoch the scope must still have in Redis at now, "" if
// this process has not granted in it within life (after which Redis may have
// let the epoch expire).
func (sc *scope) expected(now time.Time, life time.Duration) string {
	if sc == nil {
		return ""
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.lastGrant.IsZero() || now.Sub(sc.lastGrant) >= life {
		return ""
	}
	return sc.epoch
}
