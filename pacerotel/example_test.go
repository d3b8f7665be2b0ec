package pacerotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacerotel"
	"github.com/pacerhq/pacer/pacertest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A call whose first attempt gets a 429: its metrics and its span.
func Example() {
	var n atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer api.Close()
	port := api.URL[strings.LastIndexByte(api.URL, ':')+1:]

	// In a program: your SDK's providers, or none for the global ones.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer mp.Shutdown(context.Background())
	defer tp.Shutdown(context.Background())

	in := pacerotel.New(pacerotel.WithMeterProvider(mp), pacerotel.WithTracerProvider(tp))
	tr := pacer.NewTransport(nil, append(in.Options(),
		pacer.WithClock(pacertest.NewScaledClock(1000)), // a 1 s Retry-After takes 1 ms
	)...)
	defer tr.CloseIdleConnections()
	reg, err := in.Observe(tr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Unregister()
	client := &http.Client{Transport: in.Wrap(tr)}

	resp, err := client.Get(api.URL + "/v1/campaigns/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	values := map[string]string{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			var total int64
			for _, p := range d.DataPoints {
				total += p.Value
			}
			values[m.Name] = fmt.Sprint(total)
		case metricdata.Histogram[float64]:
			values[m.Name] = fmt.Sprint(d.DataPoints[0].Count, " ", d.DataPoints[0].Attributes.Encoded(attribute.DefaultEncoder()))
		}
	}
	for _, name := range []string{"http.client.request.duration", "pacer.requests.sent", "pacer.rate_limited",
		"pacer.retries", "pacer.wait.duration"} {
		fmt.Println(name, strings.ReplaceAll(values[name], port, "PORT"))
	}
	s := spans.Ended()[0]
	fmt.Println("span", s.Name())
	for _, e := range s.Events() {
		for _, kv := range e.Attributes {
			if kv.Key == "pacer.attempt" && e.Name == "pacer.attempt" || kv.Key == "pacer.wait.reason" {
				fmt.Println("  event", e.Name, kv.Value.Emit())
			}
		}
	}
	// Output:
	// http.client.request.duration 1 http.request.method=GET,http.response.status_code=200,pacer.route=GET /v1/campaigns/:id,pacer.scope=127.0.0.1:PORT,server.address=127.0.0.1,server.port=PORT
	// pacer.requests.sent 2
	// pacer.rate_limited 1
	// pacer.retries 1
	// pacer.wait.duration 1 http.request.method=GET,pacer.route=GET /v1/campaigns/:id,pacer.scope=127.0.0.1:PORT,pacer.wait.reason=retry_after
	// span GET /v1/campaigns/:id
	//   event pacer.attempt 1
	//   event pacer.wait retry_after
	//   event pacer.attempt 2
}
