package pacer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testRetryBudgets is a retry budget with the states of the scopes it
// has seen.
type testRetryBudgets struct {
	*retryBudgets
	states map[string]*scopeState
}

func newTestRetryBudgets(b RetryBudget) testRetryBudgets {
	return testRetryBudgets{newRetryBudgets(&config{retryBudget: &b}), map[string]*scopeState{}}
}

// of returns the state of scope, made with a full bucket if new.
func (b testRetryBudgets) of(scope string) *scopeState {
	st := b.states[scope]
	if st == nil {
		st = &scopeState{name: scope}
		b.fill(st)
		b.states[scope] = st
	}
	return st
}

func (b testRetryBudgets) tokens(scope string) float64 { return b.of(scope).tokens }

func TestRetryBudgetDefaults(t *testing.T) {
	assert.Equal(t, RetryBudget{MaxTokens: 10, RetryCost: 1, Refund: 0.1}, RetryBudget{RetryCost: -1}.withDefaults())
	kept := RetryBudget{MaxTokens: 100, RetryCost: 5, Refund: 1}
	assert.Equal(t, kept, kept.withDefaults())
	assert.Nil(t, newRetryBudgets(&config{}), "off unless configured")
}

func TestRetryBudgetTokenArithmetic(t *testing.T) {
	b := newTestRetryBudgets(RetryBudget{})
	assert.InDelta(t, 10, b.tokens(scopeA), 1e-9, "a new scope is full")
	for want := 9.0; want > 5; want-- {
		require.True(t, b.spend(b.of(scopeA)), "retry allowed while more than half remains")
		assert.InDelta(t, want, b.tokens(scopeA), 1e-9)
	}
	assert.False(t, b.spend(b.of(scopeA)), "5 of 10 left: refused")
	for range 10 {
		b.spend(b.of(scopeA))
	}
	assert.InDelta(t, 0, b.tokens(scopeA), 1e-9, "never below zero")

	for range 50 {
		b.refund(b.of(scopeA))
	}
	assert.InDelta(t, 5, b.tokens(scopeA), 1e-9)
	assert.False(t, b.spend(b.of(scopeA)), "50 successes bring it back to half only")
	for range 21 {
		b.refund(b.of(scopeA))
	}
	assert.True(t, b.spend(b.of(scopeA)), "6.1 - 1 > 5")
	for range 1000 {
		b.refund(b.of(scopeA))
	}
	assert.InDelta(t, 10, b.tokens(scopeA), 1e-9, "refunds stop at MaxTokens")
	assert.InDelta(t, 10, b.tokens("other"), 1e-9, "scopes are independent")
}

// simulate sends n requests of up to 5 attempts each through a default
// budget; attempt k (counting all attempts, 0-based) fails when fail(k).
// It returns the attempts sent and the retries the budget refused.
func simulate(n int, fail func(k int) bool) (attempts, refused int) {
	b := newTestRetryBudgets(RetryBudget{})
	for range n {
		for try := 1; ; try++ {
			attempts++
			if !fail(attempts - 1) {
				b.refund(b.of(scopeA))
				break
			}
			if try == defaultMaxAttempts {
				break
			}
			if !b.spend(b.of(scopeA)) {
				refused++
				break
			}
		}
	}
	return attempts, refused
}

func TestRetryBudgetBound(t *testing.T) {
	const n = 10000
	cases := []struct {
		name string
		fail func(k int) bool
	}{
		{"total outage", func(int) bool { return true }},
		{"half the attempts fail", func(k int) bool { return k%2 == 0 }},
		{"9 in 10 fail", func(k int) bool { return k%10 != 0 }},
		{"1 in 5 fails", func(k int) bool { return k%5 == 0 }},
		{"1 in 8 fails", func(k int) bool { return k%8 == 0 }},
		{"1 in 11 fails: at the bound", func(k int) bool { return k%11 == 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attempts, _ := simulate(n, tc.fail)
			// retries <= MaxTokens/2 + Refund·n (see RetryBudget)
			assert.LessOrEqual(t, attempts-n, 5+n/10)
			t.Logf("%d requests, %d attempts: %.3fx", n, attempts, float64(attempts)/n)
		})
	}
	attempts, _ := simulate(n, func(int) bool { return true })
	assert.LessOrEqual(t, attempts, n+5, "a total outage gets the initial burst and nothing more")
}

func TestRetryBudgetHealthyRetriesFreely(t *testing.T) {
	for _, every := range []int{11, 20, 100} { // one failed attempt in every
		attempts, refused := simulate(10000, func(k int) bool { return k%every == 0 })
		assert.Zero(t, refused, "1 in %d failing", every)
		assert.Greater(t, attempts, 10000)
	}
}

func BenchmarkRetryBudgetSpendRefund(b *testing.B) {
	rb := newTestRetryBudgets(RetryBudget{})
	st := rb.of(scopeA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rb.refund(st)
			rb.spend(st)
		}
	})
}
