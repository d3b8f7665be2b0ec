package main

import (
	"net/http"

	"github.com/pacerhq/pacer/pacerprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves GET /metrics in the Prometheus text format: the
// outbound transport's pacer metrics (c, fed by its hooks and its Stats)
// and the relay's own queue and deliveries.
func metricsHandler(c *pacerprom.Collector, q *queue, d *deliveries) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "webhook_queued_events",
			Help: "Events received and waiting for delivery."},
			func() float64 { return float64(len(q.ch)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "webhook_delivered_events_total",
			Help: "Events posted to the API with a 2xx answer."},
			func() float64 { n, _ := d.counts(); return float64(n) }),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
