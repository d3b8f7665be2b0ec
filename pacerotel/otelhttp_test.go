package pacerotel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerotel"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// tracing returns a TracerProvider recording into a SpanRecorder.
func tracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

func run(t *testing.T, rt http.RoundTripper, url string) {
	t.Helper()
	resp, err := (&http.Client{Transport: rt}).Get(url)
	require.NoError(t, err)
	resp.Body.Close()
}

// otelhttp inside pacer (as its base): one client span per attempt, each a
// child of pacer's span for the logical call.
func TestOtelhttpInsidePacer(t *testing.T) {
	srv := script(t, status(http.StatusTooManyRequests, "Retry-After", "1"), status(http.StatusOK))
	tp, rec := tracing(t)
	in := pacerotel.New(pacerotel.WithTracerProvider(tp))
	base := otelhttp.NewTransport(http.DefaultTransport.(*http.Transport).Clone(), otelhttp.WithTracerProvider(tp))
	tr := pacer.NewTransport(base, append(in.Options(), pacer.WithClock(pacertest.NewScaledClock(1000)))...)
	defer tr.CloseIdleConnections()
	run(t, in.Wrap(tr), srv.URL+"/v1/campaigns/7")

	spans := rec.Ended()
	require.Len(t, spans, 3)
	var call sdktrace.ReadOnlySpan
	var attempts []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.InstrumentationScope().Name == pacerotel.ScopeName {
			call = s
		} else {
			attempts = append(attempts, s)
		}
	}
	require.NotNil(t, call)
	assert.Equal(t, trace.SpanKindInternal, call.SpanKind())
	require.Len(t, attempts, 2)
	for _, a := range attempts {
		assert.Equal(t, trace.SpanKindClient, a.SpanKind())
		assert.Equal(t, call.SpanContext().SpanID(), a.Parent().SpanID(), "each attempt is a child of the logical call")
	}
}

// otelhttp around pacer, without Wrap: otelhttp's span is the logical
// call's, and pacer's hooks add their attempt and wait events to it.
func TestOtelhttpAroundPacerGetsEvents(t *testing.T) {
	srv := script(t, status(http.StatusTooManyRequests, "Retry-After", "1"), status(http.StatusOK))
	tp, rec := tracing(t)
	in := pacerotel.New(pacerotel.WithTracerProvider(tp))
	tr := pacer.NewTransport(nil, append(in.Options(), pacer.WithClock(pacertest.NewScaledClock(1000)))...)
	defer tr.CloseIdleConnections()
	run(t, otelhttp.NewTransport(tr, otelhttp.WithTracerProvider(tp)), srv.URL)

	spans := rec.Ended()
	require.Len(t, spans, 1)
	names := map[string]int{}
	for _, e := range spans[0].Events() {
		names[e.Name]++
	}
	assert.Equal(t, map[string]int{"pacer.attempt": 2, "pacer.wait": 1}, names)
}
