package pacerotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerotel"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script is a server on 127.0.0.1 answering its n-th request (0-based)
// with steps[min(n, len-1)].
func script(t *testing.T, steps ...http.HandlerFunc) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		steps[min(i, len(steps)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// status answers code with header pairs kv.
func status(code int, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "{}")
	}
}

// rig is an Instrumentation on real SDKs (a ManualReader, a span
// recorder) and the pacer Transport it observes, on a fast clock.
type rig struct {
	reader   *sdkmetric.ManualReader
	spans    *tracetest.SpanRecorder
	tr       *pacer.Transport
	client   *http.Client
	shutdown func()
}

func newRig(t *testing.T, base http.RoundTripper, opts ...pacer.Option) *rig {
	t.Helper()
	r := &rig{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	in := pacerotel.New(pacerotel.WithMeterProvider(mp), pacerotel.WithTracerProvider(tp))
	clk := pacertest.NewScaledClock(1000) // a 1 s Retry-After takes 1 ms
	opts = append([]pacer.Option{pacer.WithClock(clk), pacer.WithHooks(in.Hooks(pacer.Hooks{}))}, opts...)
	r.tr = pacer.NewTransport(base, opts...)
	reg, err := in.Observe(r.tr)
	require.NoError(t, err)
	r.client = &http.Client{Transport: in.Wrap(r.tr)}
	t.Cleanup(func() {
		require.NoError(t, reg.Unregister())
		r.tr.CloseIdleConnections()
		require.NoError(t, tp.Shutdown(context.Background()))
		require.NoError(t, mp.Shutdown(context.Background()))
	})
	return r
}

func (r *rig) get(t *testing.T, url string) (int, error) {
	t.Helper()
	resp, err := r.client.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (r *rig) collect(t *testing.T) metricdata.ResourceMetrics { return collect(t, r.reader) }

func collect(t *testing.T, reader *sdkmetric.ManualReader) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	return rm
}

// newBoundedInstrumentation is an Instrumentation exporting at most
// maxRoutes routes to a ManualReader, with no tracing.
func newBoundedInstrumentation(t *testing.T, maxRoutes int) (*sdkmetric.ManualReader, *pacerotel.Instrumentation) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, pacerotel.New(pacerotel.WithMeterProvider(mp), pacerotel.WithMaxRoutes(maxRoutes),
		pacerotel.WithTracerProvider(noop.NewTracerProvider()))
}

// find returns the metric named name.
func find(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// has reports whether set holds every key=value pair of kv.
func has(set attribute.Set, kv map[string]string) bool {
	for k, v := range kv {
		got, ok := set.Value(attribute.Key(k))
		if !ok || got.Emit() != v {
			return false
		}
	}
	return true
}

// sum adds the int64 sum points of m whose attributes hold kv.
func sum(t *testing.T, m metricdata.Metrics, kv map[string]string) int64 {
	t.Helper()
	var n int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, kv) {
				n += p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, kv) {
				n += p.Value
			}
		}
	default:
		t.Fatalf("%s is a %T", m.Name, m.Data)
	}
	return n
}

// hist returns the count and sum of the histogram points of m whose
// attributes hold kv.
func hist(t *testing.T, m metricdata.Metrics, kv map[string]string) (uint64, float64) {
	t.Helper()
	d, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T", m.Name, m.Data)
	var n uint64
	var s float64
	for _, p := range d.DataPoints {
		if has(p.Attributes, kv) {
			n += p.Count
			s += p.Sum
		}
	}
	return n, s
}
