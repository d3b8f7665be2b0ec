package pacer_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretsNeverLeak(t *testing.T) {
	const key, token, query = "sk_live_KEY_0123456789", "tok_SECRET_abcdef", "qs_SECRET_999"
	srv := newScript(t,
		status(429, "", "Retry-After", "1", "X-RateLimit-Remaining", "0", "X-RateLimit-Limit", "5"),
		status(503, ""),
		status(200, "", "X-RateLimit-Remaining", "3", "X-RateLimit-Limit", "5"))

	var logs bytes.Buffer
	var events []string
	record := func(e any) { events = append(events, fmt.Sprintf("%+v", e)) }
	tr := pacer.NewTransport(nil,
		pacer.WithClock(clocktest.NewInstant(time.Time{})),
		pacer.WithScope(pacer.ScopeByHeader("X-API-Key")),
		pacer.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		pacer.WithHooks(pacer.Hooks{
			OnWait:    func(e pacer.WaitEvent) { record(e) },
			OnRetry:   func(e pacer.RetryEvent) { record(e) },
			OnAttempt: func(e pacer.AttemptEvent) { record(e) },
			OnGiveUp:  func(e pacer.GiveUpEvent) { record(e) },
		}))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/items?api_key="+query, nil)
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Authorization", "Bearer "+token)
	req.URL.User = nil
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	readBody(t, resp)

	// A request that fails for good, so errors and give-up events are seen.
	req2, _ := http.NewRequest(http.MethodGet, "http://user:"+token+"@127.0.0.1:1/x?api_key="+query, nil)
	req2.Header.Set("X-API-Key", key)
	_, err = (&http.Client{Transport: pacer.NewTransport(nil, pacer.WithMaxAttempts(1),
		pacer.WithScope(pacer.ScopeByHeader("X-API-Key")),
		pacer.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))}).Do(req2)
	require.Error(t, err)

	stats := fmt.Sprintf("%+v", tr.Stats())
	require.NotEmpty(t, events)
	require.NotZero(t, logs.Len())
	for _, secret := range []string{key, token, query} {
		assert.NotContains(t, logs.String(), secret, "logs")
		assert.NotContains(t, stats, secret, "stats")
		for _, e := range events {
			assert.NotContains(t, e, secret, "events")
		}
	}
	assert.Contains(t, stats, pacer.HashSecret(key), "the scope names the key by its hash")
}
