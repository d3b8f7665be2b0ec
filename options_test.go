package pacer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
)

// WithRetryStatuses replaces the statuses retried for repeatable requests;
// 429 and 503 stay retried whatever the method.
func TestWithRetryStatuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		method string
		first  int
		hits   int64
		final  int
	}{
		{"listed status retried", http.MethodGet, 409, 2, 200},
		{"default 500 no longer retried", http.MethodGet, 500, 1, 500},
		{"listed status, POST: not repeatable", http.MethodPost, 409, 1, 409},
		{"503 always retried", http.MethodPost, 503, 2, 200},
		{"429 always retried", http.MethodPost, 429, 2, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newScript(t, status(c.first, ""), status(200, "ok"))
			client := newTestClient(clocktest.NewInstant(time.Time{}), pacer.WithRetryStatuses(409))
			req, _ := http.NewRequest(c.method, srv.URL, strings.NewReader("x"))
			resp, err := client.Do(req)
			require.NoError(t, err)
			readBody(t, resp)
			assert.Equal(t, c.final, resp.StatusCode)
			assert.Equal(t, c.hits, srv.hits.Load())
		})
	}
}

// WithoutLearning: "nothing remaining until the reset" no longer holds the
// scope back; only the configured budgets do.
func TestWithoutLearning(t *testing.T) {
	t.Parallel()
	exhausted := status(200, "", "X-RateLimit-Limit", "10", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "3600")
	for _, learn := range []bool{true, false} {
		srv := newScript(t, exhausted)
		opts := []pacer.Option{}
		if !learn {
			opts = append(opts, pacer.WithoutLearning())
		}
		client := pacer.NewClient(opts...)
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		readBody(t, resp)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = sendGET(ctx, client, srv.URL)
		cancel()
		if learn {
			var rle *pacer.RateLimitError
			require.ErrorAs(t, err, &rle, "held until the reset: past the deadline, at once")
			assert.Equal(t, int64(1), srv.hits.Load())
		} else {
			require.NoError(t, err, "not held")
			assert.Equal(t, int64(2), srv.hits.Load())
		}
		client.CloseIdleConnections()
	}
}

// WithHooks adds to earlier hooks: an integration's and the caller's share
// a transport, called in the order given.
func TestWithHooksAdds(t *testing.T) {
	t.Parallel()
	srv := newScript(t, status(200, "ok"))
	var order []string
	record := func(who string) pacer.Option {
		return pacer.WithHooks(pacer.Hooks{OnAttempt: func(pacer.AttemptEvent) { order = append(order, who) }})
	}
	client := pacer.NewClient(record("integration"), pacer.WithHooks(pacer.Hooks{}), record("caller"))
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, []string{"integration", "caller"}, order)
	client.CloseIdleConnections()
}
