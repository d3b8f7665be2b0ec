package main

import (
	"time"

	"github.com/pacerhq/pacer/pacertest"
)

// minimumTime is the theoretical minimum time for n requests that all count
// against limits, sent from offset (time since the server started; fixed
// windows are aligned to that start), with zero latency: the time from the
// first request to the last under the greedy schedule, which sends each
// request at the earliest moment every limit admits it. No schedule can
// finish sooner: the k-th request can never be accepted earlier than the
// greedy schedule accepts it.
//
// For one sliding window of L per W starting fresh this is
// (ceil(n/L)-1)·W; for one fixed window, (ceil(n/L)-1)·W minus how far into
// its window the run starts; with several limits the binding one dominates.
func minimumTime(limits []pacertest.Limit, n int, offset time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	ws := make([]*simWindow, len(limits))
	for i, l := range limits {
		ws[i] = &simWindow{limit: l}
	}
	t := offset
	for range n {
		t = earliest(ws, t)
		for _, w := range ws {
			w.add(t)
		}
	}
	return t - offset
}

// earliest returns the first moment at or after t that every window admits
// one more request.
func earliest(ws []*simWindow, t time.Duration) time.Duration {
	for moved := true; moved; {
		moved = false
		for _, w := range ws {
			if at := w.admits(t); at > t {
				t, moved = at, true
			}
		}
	}
	return t
}

// simWindow replays one pacertest limit for a single scope key.
type simWindow struct {
	limit pacertest.Limit
	times []time.Duration // sliding: accepted times, in order
	index int64           // fixed: the current window
	count int             // fixed: accepted in it
}

// admits returns the earliest moment >= t at which the window has room.
func (w *simWindow) admits(t time.Duration) time.Duration {
	L, W := w.limit.Requests, w.limit.Window
	if w.limit.Kind == pacertest.Fixed {
		if int64(t/W) == w.index && w.count >= L {
			return time.Duration(w.index+1) * W
		}
		return t
	}
	if len(w.times) >= L {
		return max(t, w.times[len(w.times)-L]+W)
	}
	return t
}

func (w *simWindow) add(t time.Duration) {
	if w.limit.Kind == pacertest.Fixed {
		if k := int64(t / w.limit.Window); k != w.index {
			w.index, w.count = k, 0
		}
		w.count++
		return
	}
	w.times = append(w.times, t)
}
