package main

import (
	"encoding/json"
	"io"
	"net/http"
)

// maxEvent bounds the size of one webhook body, in bytes.
const maxEvent = 1 << 20

// hookHandler accepts POST /hook with a JSON event and queues it: 202 when
// queued, 503 with Retry-After when the queue is full or shutting down (the
// sender keeps the event and retries), 400 for a body that is not an event.
// onReceive, when set, is called with the number of events accepted so far.
func hookHandler(q *queue, onReceive func(int)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		var ev event
		body := io.LimitReader(r.Body, maxEvent)
		if err := json.NewDecoder(body).Decode(&ev); err != nil || ev.ID == "" {
			http.Error(w, `body must be a JSON event with an "id"`, http.StatusBadRequest)
			return
		}
		ok, n := q.offer(ev)
		if !ok {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "queue full, retry later", http.StatusServiceUnavailable)
			return
		}
		if onReceive != nil {
			onReceive(n)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return mux
}
