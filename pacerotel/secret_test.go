package pacerotel_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerotel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Requests carry an API key in a header (the budget scope) and another in
// the query string, through retries, a give-up and a transport error;
// neither key may appear anywhere in the exported metrics or spans.
func TestNoSecretExported(t *testing.T) {
	const headerKey, queryKey = "sk_live_HEADER0123456789", "sk_live_QUERY0123456789"
	limited := status(http.StatusTooManyRequests, "Retry-After", "1")
	srv := script(t, limited, status(http.StatusOK), status(http.StatusServiceUnavailable))
	r := newRig(t, nil, pacer.WithScope(pacer.ScopeByHeader("X-API-Key")), pacer.WithMaxAttempts(2))
	for _, target := range []string{srv.URL, "http://127.0.0.1:1"} { // the second refuses connections
		for range 2 {
			req, err := http.NewRequest(http.MethodGet, target+"/v1/leads/"+queryKey[:4]+"?api_key="+queryKey, nil)
			require.NoError(t, err)
			req.Header.Set("X-API-Key", headerKey)
			resp, err := r.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}
	}
	rm := r.collect(t)
	metrics, err := json.Marshal(rm)
	require.NoError(t, err)
	spans, err := json.Marshal(tracetest.SpanStubsFromReadOnlySpans(r.spans.Ended()))
	require.NoError(t, err)
	require.Len(t, r.spans.Ended(), 4)
	for _, exported := range []string{string(metrics), string(spans)} {
		assert.NotContains(t, exported, headerKey)
		assert.NotContains(t, exported, queryKey)
		assert.NotContains(t, exported, "api_key")
	}
	assert.Contains(t, string(metrics), "pacer.give_ups", "the scenario gave up at least once")
	assert.Contains(t, string(metrics), `"transport"`, "the scenario had a transport error")
	assert.Equal(t, int64(1), sum(t, find(t, rm, "pacer.rate_limited"), nil))
}

// The scope, route and host attributes are bounded too.
func TestScopeCardinalityBound(t *testing.T) {
	srv := script(t, status(http.StatusOK))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	in := pacerotel.New(pacerotel.WithMeterProvider(mp), pacerotel.WithMaxScopes(3),
		pacerotel.WithTracerProvider(sdktrace.NewTracerProvider()))
	tr := pacer.NewTransport(nil, pacer.WithScope(pacer.ScopeByHeader("X-API-Key")), pacer.WithHooks(in.Hooks(pacer.Hooks{})))
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: in.Wrap(tr)}
	for i := range 10 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("X-API-Key", strings.Repeat("k", i+1))
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	sent := find(t, rm, "pacer.requests.sent")
	assert.Len(t, sent.Data.(metricdata.Sum[int64]).DataPoints, 4, "three scopes and _OTHER")
	assert.Equal(t, int64(7), sum(t, sent, map[string]string{"pacer.scope": "_OTHER"}))
}
