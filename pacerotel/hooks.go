package pacerotel

import (
	"context"

	"github.com/pacerhq/pacer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Hooks returns pacer hooks that record this Instrumentation's metrics and
// span events, then call next's hook of the same event when it is set: a
// transport takes one Hooks value, so this is how pacerotel and your own
// hooks share it. Pass the result to pacer.WithHooks.
//
// Per event the hooks do a few map lookups under read locks and, with a
// metrics SDK, the SDK's own work; span events are built only for a span
// that records.
func (in *Instrumentation) Hooks(next pacer.Hooks) pacer.Hooks {
	return pacer.Hooks{
		OnAttempt: func(e pacer.AttemptEvent) {
			in.attempt(e)
			if next.OnAttempt != nil {
				next.OnAttempt(e)
			}
		},
		OnWait: func(e pacer.WaitEvent) {
			in.wait(e.RequestInfo, WaitThrottle, e.Wait.Seconds(), 0)
			if next.OnWait != nil {
				next.OnWait(e)
			}
		},
		OnRetry: func(e pacer.RetryEvent) {
			in.retries.Add(ctxOf(e.RequestInfo), 1, in.option(famRetry, e.RequestInfo, retryReason(e.Status)).add...)
			in.wait(e.RequestInfo, retryWaitReason(e), e.Wait.Seconds(), e.Attempt)
			if next.OnRetry != nil {
				next.OnRetry(e)
			}
		},
		OnGiveUp: func(e pacer.GiveUpEvent) {
			in.giveUp(e)
			if next.OnGiveUp != nil {
				next.OnGiveUp(e)
			}
		},
		OnBreaker: func(e pacer.BreakerEvent) {
			o := in.attrs.get(attrKey{family: famBreaker, scope: in.scopes.Admit(e.Scope), extra: e.To.String()})
			in.breakerTx.Add(context.Background(), 1, o.add...)
			if next.OnBreaker != nil {
				next.OnBreaker(e)
			}
		},
	}
}

// ctxOf is the request's context, for exemplars; Background if unset.
func ctxOf(r pacer.RequestInfo) context.Context {
	if r.Context == nil {
		return context.Background()
	}
	return r.Context
}

func (in *Instrumentation) attempt(e pacer.AttemptEvent) {
	ctx := ctxOf(e.RequestInfo)
	in.sent.Add(ctx, 1, in.option(famSent, e.RequestInfo, statusClass(e.Status)).add...)
	if e.Status == 429 {
		in.rateLimited.Add(ctx, 1, in.option(famRequest, e.RequestInfo, "").add...)
	}
	st := stateOf(ctx)
	if st != nil {
		st.note(e.RequestInfo)
		st.attempts = e.Attempt
	}
	span := spanOf(ctx, st)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.Int("pacer.attempt", e.Attempt),
		attribute.Float64("pacer.attempt.duration", e.Duration.Seconds()),
	}
	if e.Status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, attribute.String("error.type", errorType(e.Err, 0)))
	}
	if e.HasRateLimit {
		attrs = append(attrs, attribute.Int("pacer.server.remaining", e.RateLimit.Remaining))
		if e.RateLimit.Limit > 0 {
			attrs = append(attrs, attribute.Int("pacer.server.limit", e.RateLimit.Limit))
		}
	}
	span.AddEvent("pacer.attempt", trace.WithAttributes(attrs...))
}

// wait records a wait of secs seconds for reason; attempt is the failed
// attempt a retry wait follows (0 for a throttle wait).
func (in *Instrumentation) wait(r pacer.RequestInfo, reason string, secs float64, attempt int) {
	ctx := ctxOf(r)
	in.waits.Record(ctx, secs, in.option(famWait, r, reason).rec...)
	st := stateOf(ctx)
	if st != nil {
		st.note(r)
	}
	span := spanOf(ctx, st)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("pacer.wait.reason", reason),
		attribute.Float64("pacer.wait.duration", secs),
	}
	if attempt > 0 {
		attrs = append(attrs, attribute.Int("pacer.attempt", attempt))
	}
	span.AddEvent("pacer.wait", trace.WithAttributes(attrs...))
}

func (in *Instrumentation) giveUp(e pacer.GiveUpEvent) {
	ctx := ctxOf(e.RequestInfo)
	class := errorType(e.Err, e.Status)
	in.giveUps.Add(ctx, 1, in.option(famGiveUp, e.RequestInfo, class).add...)
	st := stateOf(ctx)
	if st != nil {
		st.note(e.RequestInfo)
		st.gaveUp = class
	}
	if span := spanOf(ctx, st); span.IsRecording() {
		span.AddEvent("pacer.give_up", trace.WithAttributes(
			attribute.String("error.type", class), attribute.Int("pacer.attempts", e.Attempts)))
	}
}

// spanOf is the logical call's span started by Wrap, else the span in ctx.
func spanOf(ctx context.Context, st *callState) trace.Span {
	if st != nil {
		return st.span
	}
	return trace.SpanFromContext(ctx)
}
