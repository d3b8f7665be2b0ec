package pacer

import (
	"container/heap"
	"context"
	"time"
)

// reserve grants t a slot in s at now or later, waiting in the scope's queue
// while a constraint holds it back. A ticket that finds the queue empty and the
// scope free is granted at once, without allocating.
func (s *memScope) reserve(ctx context.Context, t *Ticket, now time.Time, st *MemoryStore, clk Clock) (Slot, error) {
	s.mu.Lock()
	s.configure(t, now)
	s.lastUsed = later(s.lastUsed, now)
	if s.queue.Len() == 0 {
		if g := s.gate(now, st); !g.blocked {
			sl := s.grant(now, st)
			s.mu.Unlock()
			return sl, nil
		}
	}
	if st.QueueLimit > 0 && s.queue.Len() >= st.QueueLimit {
		s.mu.Unlock()
		return Slot{}, ErrQueueFull
	}
	return s.wait(ctx, s.queue.push(t.Priority), now, st, clk)
}

// wait runs waiter w until it is granted a slot, its context ends, or the
// scope's earliest possible grant is past the context's deadline (the wait,
// on the store's clock, against the wall-clock time left; see pastDeadline).
// It is called with s.mu held and returns with it released.
//
// Only the head waiter sleeps on a timer, until the time its scope's gate
// named; the others sleep until woken. Whoever frees a slot or leaves the
// head of the queue wakes the (new) head, which looks again.
func (s *memScope) wait(ctx context.Context, w *queueWaiter, now time.Time, st *MemoryStore, clk Clock) (Slot, error) {
	for {
		g := s.gate(now, st)
		head := s.queue.head() == w
		if head && !g.blocked {
			s.queue.remove(w)
			sl := s.grant(now, st)
			sl.Waited = true
			s.mu.Unlock()
			return sl, nil
		}
		if pastDeadline(ctx, g.at.Sub(now)) {
			s.queue.remove(w)
			err := s.tooLate(g.at, now)
			s.mu.Unlock()
			return Slot{}, err
		}
		var timer <-chan time.Time
		stop := func() bool { return false }
		if head && g.at.After(now) {
			timer, stop = clk.NewTimer(g.at.Sub(now))
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			stop()
			s.mu.Lock()
			s.queue.remove(w)
			s.mu.Unlock()
			return Slot{}, ctx.Err()
		case <-w.wake:
		case <-timer:
		}
		stop()
		now = clk.Now()
		s.mu.Lock()
	}
}

// tooLate is the error of a waiter whose scope cannot grant before at, past
// its context's deadline.
func (s *memScope) tooLate(at, now time.Time) error {
	return &RateLimitError{
		Scope:      s.name,
		RetryAt:    at,
		RetryAfter: at.Sub(now),
		RateLimit:  s.learned.latest,
		Err:        context.DeadlineExceeded,
	}
}

// queueWaiter is one Reserve call waiting for a slot in its scope.
type queueWaiter struct {
	priority int
	seq      uint64        // arrival order within the scope
	index    int           // position in the heap; -1 once removed
	wake     chan struct{} // capacity 1: "the scope changed, look again"
}

// waitQueue orders the waiters of one scope: higher Ticket.Priority first,
// first come first served among equals. Only the head may take a slot, so a
// waiter is never overtaken by a later one of the same or lower priority.
//
// A waitQueue is not safe for concurrent use; its scope's mutex guards it.
type waitQueue struct {
	waiters waiterHeap
	seq     uint64
}

// Len returns the number of waiters.
func (q *waitQueue) Len() int { return len(q.waiters) }

// head returns the waiter served next, nil if none.
func (q *waitQueue) head() *queueWaiter {
	if len(q.waiters) == 0 {
		return nil
	}
	return q.waiters[0]
}

// push adds a waiter of the given priority behind those of the same or a
// higher priority.
func (q *waitQueue) push(priority int) *queueWaiter {
	q.seq++
	w := &queueWaiter{priority: priority, seq: q.seq, wake: make(chan struct{}, 1)}
	heap.Push(&q.waiters, w)
	return w
}

// remove takes w out of the queue. If w was the head, the new head is woken
// to look at the scope again.
func (q *waitQueue) remove(w *queueWaiter) {
	if w.index < 0 {
		return
	}
	wasHead := w.index == 0
	heap.Remove(&q.waiters, w.index)
	if wasHead {
		q.wakeHead()
	}
}

// wakeHead tells the head waiter, if any, that the scope changed. It never
// blocks: a wake-up already pending is enough.
func (q *waitQueue) wakeHead() {
	if h := q.head(); h != nil {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// waiterHeap implements heap.Interface over queueWaiters.
type waiterHeap []*queueWaiter

func (h waiterHeap) Len() int { return len(h) }

func (h waiterHeap) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority > h[j].priority
	}
	return h[i].seq < h[j].seq
}

func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *waiterHeap) Push(x any) {
	w := x.(*queueWaiter)
	w.index = len(*h)
	*h = append(*h, w)
}

func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
