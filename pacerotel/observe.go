package pacerotel

import (
	"context"

	"github.com/pacerhq/pacer"
	"go.opentelemetry.io/otel/metric"
)

// Observe registers the observable gauges read from t.Stats(), per scope:
// pacer.requests.queued, .in_window and .in_flight, pacer.adaptive.rate,
// pacer.server.remaining and .limit (scopes whose server never reported a
// limit are left out) and pacer.breaker.state. Stats is taken once per
// collection. Unregister the returned Registration when t is retired.
// Observe one Transport per Instrumentation: two would report the same
// scopes twice.
func (in *Instrumentation) Observe(t *pacer.Transport) (metric.Registration, error) {
	m := in.meter
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for scope, s := range t.Stats().Scopes {
			opt := in.attrs.get(attrKey{family: famScope, scope: in.scopes.admit(scope)}).obs
			o.ObserveInt64(in.queued, int64(s.Queued), opt...)
			o.ObserveInt64(in.inWindow, int64(s.InWindow), opt...)
			o.ObserveInt64(in.inFlight, int64(s.InFlight), opt...)
			o.ObserveFloat64(in.adaptive, s.AdaptiveRate, opt...)
			o.ObserveInt64(in.breaker, int64(s.Breaker), opt...)
			if !s.ServerAt.IsZero() {
				o.ObserveInt64(in.remaining, int64(s.Server.Remaining), opt...)
				o.ObserveInt64(in.limit, int64(s.Server.Limit), opt...)
			}
		}
		return nil
	}, in.queued, in.inWindow, in.inFlight, in.adaptive, in.breaker, in.remaining, in.limit)
}
