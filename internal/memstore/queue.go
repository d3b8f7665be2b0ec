package memstore

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// reserve grants t a slot in s at now or later, waiting in the scope's queue
// while a constraint holds it back. A ticket that finds the queue empty and the
// scope free is granted at once, without allocating.
func (s *memScope) reserve(ctx context.Context, t *Ticket, now time.Time, st *Store, clk Clock) (Slot, error) {
	s.mu.Lock()
	s.configure(t, now)
	s.lastUsed = later(s.lastUsed, now)
	class := s.learned.class(t.Route)
	if s.queue.classLen(class) == 0 && !s.yields(class, t.Priority, math.MaxUint64, now, st) {
		if g := s.gate(now, st, t.Route); !g.blocked {
			sl := s.grant(now, st, t.Route)
			s.mu.Unlock()
			return sl, nil
		}
	}
	if st.QueueLimit > 0 && s.queue.Len() >= st.QueueLimit {
		s.mu.Unlock()
		return Slot{}, ErrQueueFull
	}
	return s.wait(ctx, s.queue.push(class, t.Priority, t.Route), now, st, clk)
}

// wait runs waiter w until it is granted a slot, its context ends, or the
// scope's earliest possible grant is past the context's deadline (the wait,
// on the store's clock, against the wall-clock time left; see pastDeadline).
// It is called with s.mu held and returns with it released.
//
// Only the head waiter of each class (see classQueues) sleeps on a timer,
// until the time its gate named; the others sleep until woken. Whoever
// frees a slot wakes every head; whoever leaves the head of a queue wakes
// the new head, which looks again.
func (s *memScope) wait(ctx context.Context, w *queueWaiter, now time.Time, st *Store, clk Clock) (Slot, error) {
	for {
		g := s.gate(now, st, w.route)
		head := s.queue.isHead(w)
		if head && !g.blocked && !s.yields(w.class, w.priority, w.seq, now, st) {
			s.queue.remove(w)
			sl := s.grant(now, st, w.route)
			sl.Waited = true
			s.mu.Unlock()
			return sl, nil
		}
		if _, ok := ctx.Deadline(); ok {
			if turn := s.turn(w, g, now); pastDeadline(ctx, turn.Sub(now)) {
				s.queue.remove(w)
				err := s.tooLate(turn)
				s.mu.Unlock()
				return Slot{}, err
			}
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
			now = clk.Now()
			s.mu.Lock()
			err := ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) { // the estimate was short
				err = s.tooLate(s.turn(w, s.gate(now, st, w.route), now))
			}
			s.queue.remove(w)
			s.mu.Unlock()
			return Slot{}, err
		case <-w.wake:
		case <-timer:
		}
		stop()
		now = clk.Now()
		s.mu.Lock()
	}
}

// yields reports whether a request of class, priority and arrival seq
// must let the head of another class go first: one that came before it (a
// higher priority, or the same and earlier) and may be granted now. Classes
// wait for their own pools, but what the scope shares (its configured
// windows, pacing, adaptive rate) is served in queue order.
func (s *memScope) yields(class, priority int, seq uint64, now time.Time, st *Store) bool {
	for c := range s.queue.q {
		h := s.queue.q[c].head()
		if c == class || h == nil || h.priority < priority || h.priority == priority && h.seq > seq {
			continue
		}
		if !s.gate(now, st, h.route).blocked {
			return true
		}
	}
	return false
}

// turn estimates when waiter w will be granted, at now, g being its gate:
// the earliest time every shared constraint can serve the waiters ahead of
// it and then it, assuming each grant is answered at once. It is a lower
// bound: latency, learned limits beyond g and adaptive mode only make the
// turn later. s.mu is held.
func (s *memScope) turn(w *queueWaiter, g grantGate, now time.Time) time.Time {
	ahead := s.queue.ahead(w)
	at := g.at
	for i := range s.windows {
		at = later(at, s.windows[i].turn(now, s.inFlight, ahead))
	}
	if s.pace != nil && ahead > 0 {
		if iv := paceInterval(s.pace); iv < rate.InfDuration/time.Duration(ahead+1) { // else no turn to name
			at = later(at, now.Add(limiterDelay(s.pace, now)+time.Duration(ahead)*iv))
		}
	}
	return at
}

// tooLate is the error of a waiter whose turn, at, is past its context's
// deadline.
func (s *memScope) tooLate(at time.Time) error {
	return &LateError{At: at, Latest: s.learned.latest}
}

// classQueues are a scope's wait queues, one per class of request: the
// requests of a route known to draw from pool i of the scope's learned
// limits wait in queue i, all others (unseen and mixed routes) in the last
// one. A waiter waits behind the earlier ones of its class only, so a
// server-side pool that holds its requests back holds back no other pool;
// with one pool (the usual case) all requests share one queue.
//
// classQueues are not safe for concurrent use; their scope's mutex guards
// them.
type classQueues struct {
	q   [maxPools + 1]waitQueue
	seq uint64 // arrivals so far: the order of waiters across classes
}

// classOther is the class of the requests on unseen and mixed routes.
const classOther = maxPools

// Len returns the number of waiters in all classes.
func (q *classQueues) Len() int {
	n := 0
	for i := range q.q {
		n += q.q[i].Len()
	}
	return n
}

// ahead returns the number of waiters, of all classes, served before w:
// a higher priority, or the same and an earlier arrival.
func (q *classQueues) ahead(w *queueWaiter) int {
	n := 0
	for i := range q.q {
		for _, o := range q.q[i].waiters {
			if o.priority > w.priority || o.priority == w.priority && o.seq < w.seq {
				n++
			}
		}
	}
	return n
}

// classLen returns the number of waiters of one class.
func (q *classQueues) classLen(class int) int { return q.q[class].Len() }

// push adds a waiter of the given class, priority and route.
func (q *classQueues) push(class, priority int, route uint64) *queueWaiter {
	q.seq++
	w := &queueWaiter{class: class, priority: priority, route: route, seq: q.seq, wake: make(chan struct{}, 1)}
	heap.Push(&q.q[class].waiters, w)
	return w
}

// isHead reports whether w is the head of its class.
func (q *classQueues) isHead(w *queueWaiter) bool { return q.q[w.class].head() == w }

// remove takes w out of its class. If w was a head, every head is woken:
// its class has a new one, and the heads of other classes that yielded to
// w (see memScope.yields) look again.
func (q *classQueues) remove(w *queueWaiter) {
	if q.isHead(w) {
		q.q[w.class].remove(w)
		q.wakeHeads()
		return
	}
	q.q[w.class].remove(w)
}

// wakeHeads tells the head of every class that the scope changed.
func (q *classQueues) wakeHeads() {
	for i := range q.q {
		q.q[i].wakeHead()
	}
}

// reclass moves the waiters of route from classOther to class, in their
// order: the route was just learned to draw from that pool, and they must
// not wait behind requests of other pools.
func (q *classQueues) reclass(route uint64, class int) {
	other := &q.q[classOther]
	var moved []*queueWaiter
	for _, w := range other.waiters {
		if w.route == route {
			moved = append(moved, w)
		}
	}
	for _, w := range moved {
		heap.Remove(&other.waiters, w.index)
		w.class = class
		heap.Push(&q.q[class].waiters, w)
	}
	if len(moved) > 0 {
		q.wakeHeads()
	}
}

// queueWaiter is one Reserve call waiting for a slot in its scope.
type queueWaiter struct {
	class    int    // its classQueues index
	route    uint64 // its Ticket's route
	priority int
	seq      uint64        // arrival order within the scope, all classes
	index    int           // position in the heap; -1 once removed
	wake     chan struct{} // capacity 1: "the scope changed, look again"
}

// waitQueue orders the waiters of one class of a scope: higher
// Ticket.Priority first, first come first served among equals. Only the
// head may take a slot, so a waiter is never overtaken by a later one of the
// same or lower priority.
//
// A waitQueue is not safe for concurrent use; its scope's mutex guards it.
type waitQueue struct {
	waiters waiterHeap
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
