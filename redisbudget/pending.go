package redisbudget

import (
	"sync"
	"sync/atomic"

	"github.com/pacerhq/pacer"
)

// maxPending bounds the outcomes a Store keeps while Redis cannot take them.
// An item is 240 bytes plus the text of its scope and slot id (some 350
// bytes in all), so 4096 of them cost about 1.4 MB; they cover the answers
// of a stall of 4096 requests of this process, 80 s at 50 requests per
// second. Beyond it the oldest is dropped and its slot counts until its
// safety expiry.
const maxPending = 4096

// flushBatch is how many kept outcomes one flush sends, one call each, so
// that the call that finds Redis back pays at most flushBatch round trips.
const flushBatch = 64

// pendingQueue holds what a Store must still tell Redis: outcomes that
// Observe could not send, and grants a reserve call may have made after its
// caller gave up (released as never sent). They are sent after the next call
// Redis answers. A pendingQueue is safe for concurrent use.
type pendingQueue struct {
	mu       sync.Mutex
	items    []pendingItem
	flushing atomic.Bool
}

type pendingItem struct {
	slot  pacer.Slot
	o     pacer.Outcome
	after int64 // local µs (localMicros) before which it must not be sent
}

// defer1 keeps slot's outcome o for a later flush, not before local time
// after. A reservation the caller gave up on is kept with the zero Outcome
// (not sent: its slot frees at once) and after set to its script's latest
// possible run: sent before that, the release could overtake the script.
func (s *Store) defer1(slot pacer.Slot, o pacer.Outcome, after int64) {
	q := &s.later
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= maxPending {
		q.items = q.items[1:]
	}
	q.items = append(q.items, pendingItem{slot: slot, o: o, after: after})
}

// pendingLen is how many outcomes wait to be sent.
func (s *Store) pendingLen() int {
	s.later.mu.Lock()
	defer s.later.mu.Unlock()
	return len(s.later.items)
}

// flushPending sends up to flushBatch kept outcomes that are due, one
// observe call each, stopping at the first failure (the rest stay kept). One
// goroutine flushes at a time; the others go on at once.
func (s *Store) flushPending() {
	q := &s.later
	if !q.flushing.CompareAndSwap(false, true) {
		return
	}
	defer q.flushing.Store(false)
	now := localMicros()
	q.mu.Lock()
	var due []pendingItem
	kept := q.items[:0]
	for _, it := range q.items {
		if it.after <= now && len(due) < flushBatch {
			due = append(due, it)
		} else {
			kept = append(kept, it)
		}
	}
	q.items = kept
	q.mu.Unlock()
	for i, it := range due {
		member, ws, _ := parseRedisSlotID(it.slot.ID)
		if err := s.observe(it.slot, member, ws, it.o); err != nil {
			s.nodes.of(keysOf(s.cfg.prefix, it.slot.Scope)).health.fail(err, s.cfg.retry)
			q.mu.Lock()
			q.items = append(due[i:len(due):len(due)], q.items...)
			q.mu.Unlock()
			return
		}
	}
}
