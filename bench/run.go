package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/pacerhq/pacer/pacertest"
)

// workers is how many goroutines send concurrently in the closed-loop
// workloads (bulk, mixed, overhead, faults).
const workers = 8

// session is one contender against one fresh server on 127.0.0.1 whose
// clock runs scale times faster than real time.
type session struct {
	env
	srv    *pacertest.Server
	caller caller
}

// startSession starts a server for cfg on a new scaled clock and builds the
// contender against it.
func startSession(a *api, cfg pacertest.Config, scale float64, ct contender) *session {
	clock := pacertest.NewScaledClock(scale)
	cfg.Clock = clock
	srv := pacertest.NewServer(cfg)
	e := env{api: a, cfg: cfg, url: srv.URL, clock: clock, scale: scale}
	return &session{env: e, srv: srv, caller: ct.build(e)}
}

// close shuts the server down (which ends its connections and waits for
// the requests in flight), then drops the client's idle connections.
func (s *session) close() {
	s.srv.Close()
	s.caller.close()
}

// virtualContext returns a context that is cancelled once d of server time
// has passed. It deliberately has no deadline: pacer compares the waits it
// would make with the time left before a deadline on the wall clock, and a
// scaled run must not turn that into early give-ups.
func (s *session) virtualContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t := time.AfterFunc(s.real(d), cancel)
	return ctx, func() { t.Stop(); cancel() }
}

// origin returns the server's start (virtual time), where its fixed windows
// begin, or zero if it saw no request.
func origin(ev pacertest.Evidence) time.Time {
	if len(ev.Series) == 0 {
		return time.Time{}
	}
	return ev.Series[0].Start
}

// newRequest builds an authenticated request to the server. A body is a
// *bytes.Reader, so the request can be replayed.
func (e env) newRequest(method, path string, body []byte) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		panic(err) // the URL is the server's own, always valid
	}
	if e.api != nil {
		e.api.auth(req.Header)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// createRequest is a POST to the API's create endpoint of the item id.
func (e env) createRequest(id string) *http.Request {
	return e.newRequest(http.MethodPost, e.api.create, fmt.Appendf(nil, `{"id":%q}`, id))
}

// lookupRequest is a GET asking the server whether the item id exists
// (pacertest's items API answers 200 or 404).
func (e env) lookupRequest(id string) *http.Request {
	return e.newRequest(http.MethodGet, e.api.create+"?id="+url.QueryEscape(id), nil)
}

// itemIDs returns n unique item ids with the given prefix.
func itemIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%06d", prefix, i)
	}
	return ids
}

// ok reports whether a logical call succeeded: no error and a 2xx status.
func ok(status int, err error) bool {
	return err == nil && status >= 200 && status < 300
}

// sent is every request the server received.
func sent(ev pacertest.Evidence) int { return ev.Accepted + ev.Rejected + ev.Failed }
