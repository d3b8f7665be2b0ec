package pacer

import (
	"fmt"
)

// RetryBudget caps retries per scope with a token bucket, in the manner of
// gRPC's retry throttling, so that a fleet of callers cannot multiply the
// load on a server that is already failing. Backoff spaces the retries of
// one request; the budget bounds the retries of all of them.
//
// Each scope (see WithScope; per host by default) starts with MaxTokens
// tokens. Every retry pacer is about to schedule costs RetryCost tokens
// (never going below zero), and goes ahead only if more than MaxTokens/2
// tokens remain after paying; otherwise the request ends at once with a
// *RetryBudgetError. Every attempt the server answers with a status below
// 500 other than 429 refunds Refund tokens, up to MaxTokens.
//
// The bound: retries only spend the tokens above MaxTokens/2, of which a
// scope starts with MaxTokens/2 and gains Refund per successful attempt.
// Over any period in which callers make N requests (so at most N attempts
// succeed), the retries number at most MaxTokens/(2·RetryCost) +
// N·Refund/RetryCost. With the defaults that is 5 + 0.1·N: at most 10%
// extra load, plus a burst of 5 when the trouble starts. In a total outage
// no attempt succeeds, so after those 5 retries (milliseconds under load)
// the scope sends no retries at all until the server answers again. A
// healthy scope keeps retrying freely: up to one failed attempt in ten
// successes, the refunds refill the bucket faster than retries drain it.
// After an outage the bucket refills by successes alone, (MaxTokens/2)/Refund
// of them (50 by default) before retries resume: a recovering server is
// not hit by a wave of retries.
//
// A 429 with a server-given wait (Retry-After, a JSON body hint or the reset
// of an exhausted window) neither spends nor refunds: the server is pacing
// the client, not failing, and the retry lands when the server said it
// would have room (the store holds the whole scope to that schedule), so it
// adds no load to a server in trouble. Charging those retries would turn
// routine rate limiting, pacer's everyday work, into budget errors. A bare
// 429 (no wait given) spends like any failure: the client is guessing.
//
// The zero value means the defaults: MaxTokens 10, RetryCost 1, Refund
// 0.1. Non-positive fields mean their default.
type RetryBudget struct {
	// MaxTokens is the size of each scope's bucket; retries stop when it
	// is half empty.
	MaxTokens float64
	// RetryCost is what one retry costs.
	RetryCost float64
	// Refund is what one successful attempt gives back.
	Refund float64
}

// Retry budget defaults.
const (
	defaultRetryTokens = 10
	defaultRetryCost   = 1
	defaultRetryRefund = 0.1
)

// WithRetryBudget caps retries per scope with b (see RetryBudget). Without
// it, retries are limited per request only (WithMaxAttempts, WithMaxWait).
func WithRetryBudget(b RetryBudget) Option {
	return func(c *config) { c.retryBudget = &b }
}

func (b RetryBudget) withDefaults() RetryBudget {
	b.MaxTokens = positiveOr(b.MaxTokens, defaultRetryTokens)
	b.RetryCost = positiveOr(b.RetryCost, defaultRetryCost)
	b.Refund = positiveOr(b.Refund, defaultRetryRefund)
	return b
}

// RetryBudgetError reports a request whose latest attempt failed and that
// pacer did not retry because the scope's retry budget was spent. It
// matches errors.Is(err, ErrRetryBudgetExhausted). The last response, if
// any, was drained and closed.
type RetryBudgetError struct {
	// Scope is the scope whose budget was spent.
	Scope string
	// StatusCode is the status of the last attempt, 0 after a transport
	// error.
	StatusCode int
	// Attempts is how many attempts were sent.
	Attempts int
}

func (e *RetryBudgetError) Error() string {
	return fmt.Sprintf("pacer: retry budget exhausted (scope %s, %d attempts, last status %d)",
		e.Scope, e.Attempts, e.StatusCode)
}

// Is reports whether target is ErrRetryBudgetExhausted.
func (e *RetryBudgetError) Is(target error) bool { return target == ErrRetryBudgetExhausted }

// retryBudgets is the retry budget of every scope: the policy, with each
// scope's bucket kept in its scopeState (under its lock; a state the
// Transport forgets starts full again). A nil *retryBudgets allows every
// retry.
type retryBudgets struct {
	cfg RetryBudget
}

func newRetryBudgets(c *config) *retryBudgets {
	if c.retryBudget == nil {
		return nil
	}
	return &retryBudgets{cfg: c.retryBudget.withDefaults()}
}

// fill gives a new scope's state a full bucket.
func (b *retryBudgets) fill(st *scopeState) {
	if b != nil {
		st.tokens = b.cfg.MaxTokens
	}
}

// spend pays for one retry in st's scope and reports whether it may go
// ahead.
func (b *retryBudgets) spend(st *scopeState) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.tokens = max(0, st.tokens-b.cfg.RetryCost)
	return st.tokens > b.cfg.MaxTokens/2
}

// refund credits one successful attempt in st's scope.
func (b *retryBudgets) refund(st *scopeState) {
	if b == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.tokens = min(b.cfg.MaxTokens, st.tokens+b.cfg.Refund)
}
