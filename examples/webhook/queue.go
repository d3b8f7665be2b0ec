package main

import "sync"

// event is a webhook event as received on POST /hook.
type event struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Data map[string]any `json:"data,omitempty"`
}

// queue is a bounded FIFO of received events between the HTTP handler and
// the delivery workers. Offer never blocks: a full or closed queue refuses
// the event, and the handler answers 503 so the sender retries later.
// After close, Offer refuses everything and the channel drains to its end.
// A queue is safe for concurrent use by multiple goroutines.
type queue struct {
	ch chan event

	mu       sync.Mutex // guards the fields below and sends on ch
	closed   bool
	received []string // ids accepted, in order
	refused  int      // offers refused because the queue was full
	peak     int      // the most events ever queued at once
}

func newQueue(capacity int) *queue {
	return &queue{ch: make(chan event, capacity)}
}

// offer queues ev and reports whether it was accepted, and how many events
// were accepted so far.
func (q *queue) offer(ev event) (ok bool, received int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false, len(q.received)
	}
	select {
	case q.ch <- ev:
		q.received = append(q.received, ev.ID)
		q.peak = max(q.peak, len(q.ch))
		return true, len(q.received)
	default:
		q.refused++
		return false, len(q.received)
	}
}

// close stops accepting; the events already queued stay to be drained.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

// queueStats is a snapshot of a queue.
type queueStats struct {
	Depth, Capacity, Peak, Refused int
	Received                       []string
}

func (q *queue) stats() queueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return queueStats{Depth: len(q.ch), Capacity: cap(q.ch), Peak: q.peak, Refused: q.refused,
		Received: append([]string(nil), q.received...)}
}
