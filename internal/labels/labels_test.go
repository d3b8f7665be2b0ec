package labels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pacerhq/pacer"
)

func TestErrorType(t *testing.T) {
	cases := []struct {
		err    error
		status int
		want   string
	}{
		{nil, 503, "503"},
		{nil, 0, ""},
		{&pacer.RateLimitError{}, 429, "rate_limited"},
		{fmt.Errorf("wrapped: %w", &pacer.OutcomeUnknownError{}), 0, "outcome_unknown"},
		{&pacer.RetryBudgetError{}, 503, "retry_budget_exhausted"},
		{&pacer.CircuitOpenError{}, 0, "circuit_open"},
		{&pacer.StoreError{Err: errors.New("down")}, 0, "store_unavailable"},
		{pacer.ErrQueueFull, 0, "queue_full"},
		{context.DeadlineExceeded, 0, "deadline_exceeded"},
		{context.Canceled, 0, "canceled"},
		{io.EOF, 0, "transport"}, // never the message: it may quote the URL
	}
	for _, c := range cases {
		assert.Equal(t, c.want, ErrorType(c.err, c.status), "%v", c.err)
	}
}

func TestBoundedAdmitsAtMostMax(t *testing.T) {
	b := NewBounded(2)
	assert.Equal(t, "a", b.Admit("a"))
	assert.Equal(t, "b", b.Admit("b"))
	assert.Equal(t, Other, b.Admit("c"), "past the bound")
	assert.Equal(t, "a", b.Admit("a"), "admitted values stay")
	assert.Equal(t, "", b.Admit(""))
	assert.Equal(t, Other, KnownMethod("BREW"))
	assert.Equal(t, "GET", KnownMethod(""))
	assert.Equal(t, "error", StatusClass(0))
	assert.Equal(t, "4xx", StatusClass(429))
	assert.Equal(t, pacer.BreakerOpen, Worse(pacer.BreakerHalfOpen, pacer.BreakerOpen))
}
