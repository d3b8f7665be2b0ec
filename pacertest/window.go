package pacertest

import "time"

// window counts the requests of one limit for one scope key. It keeps only
// what is inside the current window: the timestamps of a sliding window, or
// the index and count of the current fixed window. It is not safe for
// concurrent use; the limiter's mutex guards it.
type window struct {
	kind   WindowKind
	size   time.Duration
	origin time.Time // start of fixed window 0

	times []time.Time // sliding: accepted times, oldest at times[head]
	head  int

	index int64 // fixed: index of the current window
	count int   // fixed: requests counted in it
}

func newWindow(kind WindowKind, size time.Duration, origin time.Time) *window {
	return &window{kind: kind, size: size, origin: origin}
}

// n returns how many requests count at now.
func (w *window) n(now time.Time) int {
	w.expire(now)
	if w.kind == Fixed {
		return w.count
	}
	return len(w.times) - w.head
}

// add counts one request at now.
func (w *window) add(now time.Time) {
	w.expire(now)
	if w.kind == Fixed {
		w.count++
		return
	}
	w.times = append(w.times, now)
}

// freeAt returns when the next slot frees as seen at now: for a sliding
// window when the oldest counted request leaves it (now if none counts), for
// a fixed window the end of the current window.
func (w *window) freeAt(now time.Time) time.Time {
	w.expire(now)
	if w.kind == Fixed {
		return w.origin.Add(time.Duration(w.index+1) * w.size)
	}
	if w.head == len(w.times) {
		return now
	}
	return w.times[w.head].Add(w.size)
}

// expire forgets what left the window by now.
func (w *window) expire(now time.Time) {
	if w.kind == Fixed {
		if k := fixedIndex(now.Sub(w.origin), w.size); k != w.index {
			w.index, w.count = k, 0
		}
		return
	}
	for w.head < len(w.times) && !now.Before(w.times[w.head].Add(w.size)) {
		w.head++
	}
	if w.head == len(w.times) {
		w.times, w.head = w.times[:0], 0
	} else if w.head > 32 && w.head > len(w.times)/2 {
		n := copy(w.times, w.times[w.head:])
		w.times, w.head = w.times[:n], 0
	}
}

// fixedIndex is floor(elapsed / size), also for negative elapsed.
func fixedIndex(elapsed, size time.Duration) int64 {
	k := int64(elapsed / size)
	if elapsed < 0 && elapsed%size != 0 {
		k--
	}
	return k
}
