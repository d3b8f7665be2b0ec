package pacer

import "net/http"

// NewClient returns an *http.Client whose transport is NewTransport(nil,
// opts...): requests share budgets per scope, follow the server's rate-limit
// headers, and are retried safely. The client has no timeout of its own: set
// deadlines per request with context.WithTimeout, which pacer honours (it
// never sleeps past a deadline).
func NewClient(opts ...Option) *http.Client {
	return &http.Client{Transport: NewTransport(nil, opts...)}
}
