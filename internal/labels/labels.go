// Package labels classifies what pacer's events say into the values of
// metric labels and span attributes that pacerotel and pacerprom share, so
// the two integrations label alike: Bounded sets of methods, status
// classes, retry reasons and error types, and a bound on the distinct
// values of open-ended ones (scopes, routes, hosts).
package labels

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/pacerhq/pacer"
)

// Other stands for every value of a label past its cardinality bound, and
// for HTTP methods that are not standard (as the OTel HTTP semantic
// conventions ask).
const Other = "_OTHER"

// KnownMethod returns m when it is a standard HTTP method, else "_OTHER":
// a client cannot be made to create one series per made-up method.
func KnownMethod(m string) string {
	switch m {
	case "":
		return http.MethodGet // net/http's meaning of an empty method
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return Other
}

// StatusClass is "1xx" to "5xx", or "error" for an attempt that got no
// answer (status 0).
func StatusClass(status int) string {
	switch {
	case status >= 100 && status < 200:
		return "1xx"
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 300 && status < 400:
		return "3xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	}
	return "error"
}

// RetryReason names why an attempt was retried: "rate_limited" (429),
// "unavailable" (503), "server_error" (another 5xx), "transport" (no
// answer) or "other".
func RetryReason(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	case status >= 500:
		return "server_error"
	case status == 0:
		return "transport"
	}
	return "other"
}

// Wait reasons: why a request waited.
const (
	// WaitThrottle: queued for a slot in its scope's budget (pacer's own
	// throttling, before sending).
	WaitThrottle = "throttle"
	// WaitServer: before a retry, for as long as the server said
	// (Retry-After, a body hint, the reset of an exhausted window).
	WaitServer = "retry_after"
	// WaitBackoff: before a retry, exponential backoff (the server gave no
	// hint).
	WaitBackoff = "backoff"
)

// RetryWaitReason names the wait before a retry: WaitServer or WaitBackoff.
func RetryWaitReason(e pacer.RetryEvent) string {
	if e.ServerWait {
		return WaitServer
	}
	return WaitBackoff
}

// ErrorType is the class of a request that failed for good, as the OTel
// error.type attribute: pacer's typed errors by kind, the caller's context,
// "transport" for other errors, and the status code ("503") for a failed
// response returned without an error. Error messages are never exported:
// a transport error can quote the URL, query string included.
func ErrorType(err error, status int) string {
	var (
		rle *pacer.RateLimitError
		oue *pacer.OutcomeUnknownError
		rbe *pacer.RetryBudgetError
		coe *pacer.CircuitOpenError
		se  *pacer.StoreError
	)
	switch {
	case err == nil && status != 0:
		return strconv.Itoa(status)
	case err == nil:
		return ""
	case errors.As(err, &rle):
		return "rate_limited"
	case errors.As(err, &oue):
		return "outcome_unknown"
	case errors.As(err, &rbe):
		return "retry_budget_exhausted"
	case errors.As(err, &coe):
		return "circuit_open"
	case errors.As(err, &se):
		return "store_unavailable"
	case errors.Is(err, pacer.ErrQueueFull):
		return "queue_full"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport"
}

// Bounded admits at most max distinct values of one label; the values
// after those read as "_OTHER". It is what bounds the cardinality of the
// scope, route and host labels. Safe for concurrent use.
type Bounded struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func NewBounded(max int) *Bounded { return &Bounded{max: max, seen: make(map[string]struct{})} }

func (b *Bounded) Admit(v string) string {
	if v == "" {
		return ""
	}
	b.mu.RLock()
	_, ok := b.seen[v]
	full := len(b.seen) >= b.max
	b.mu.RUnlock()
	if ok {
		return v
	}
	if full {
		return Other
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; !ok {
		if len(b.seen) >= b.max {
			return Other
		}
		b.seen[v] = struct{}{}
	}
	return v
}

// Worse returns the worse of two breaker states (open, then half-open,
// then closed): the state shown for scopes summed into "_OTHER".
func Worse(a, b pacer.BreakerState) pacer.BreakerState {
	rank := func(s pacer.BreakerState) int {
		switch s {
		case pacer.BreakerOpen:
			return 2
		case pacer.BreakerHalfOpen:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
