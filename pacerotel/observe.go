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
// collection; scopes past the bound are summed into "_OTHER" (the breaker
// state is then the worst of theirs). Unregister the returned Registration
// when t is retired. Observe one Transport per Instrumentation: two would
// report the same scopes twice.
func (in *Instrumentation) Observe(t *pacer.Transport) (metric.Registration, error) {
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for scope, f := range in.figures(t.Stats()) {
			opt := in.attrs.get(attrKey{family: famScope, scope: scope}).obs
			o.ObserveInt64(in.queued, f.queued, opt...)
			o.ObserveInt64(in.inWindow, f.inWindow, opt...)
			o.ObserveInt64(in.inFlight, f.inFlight, opt...)
			o.ObserveFloat64(in.adaptive, f.adaptive, opt...)
			o.ObserveInt64(in.breaker, int64(f.breaker), opt...)
			if f.server {
				o.ObserveInt64(in.remaining, f.remaining, opt...)
				o.ObserveInt64(in.limit, f.limit, opt...)
			}
		}
		return nil
	}, in.queued, in.inWindow, in.inFlight, in.adaptive, in.breaker, in.remaining, in.limit)
}

// figures are the gauges of one (bounded) scope.
type figures struct {
	queued, inWindow, inFlight, remaining, limit int64
	adaptive                                     float64
	breaker                                      pacer.BreakerState
	server                                       bool // the server reported a limit
}

// figures sums st's scopes by their bounded name.
func (in *Instrumentation) figures(st pacer.Stats) map[string]*figures {
	out := make(map[string]*figures, len(st.Scopes))
	for scope, s := range st.Scopes {
		scope = in.scopes.Admit(scope)
		f := out[scope]
		if f == nil {
			f = &figures{}
			out[scope] = f
		}
		f.queued += int64(s.Queued)
		f.inWindow += int64(s.InWindow)
		f.inFlight += int64(s.InFlight)
		f.adaptive += s.AdaptiveRate
		f.breaker = worse(f.breaker, s.Breaker)
		if !s.ServerAt.IsZero() {
			f.server = true
			f.remaining += int64(s.Server.Remaining)
			f.limit += int64(s.Server.Limit)
		}
	}
	return out
}
