package pacerotel

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pacerhq/pacer"
)

// Wrap returns a RoundTripper that runs each request through rt (a pacer
// Transport, or anything around one) as one logical call: it starts the
// call's span, lets the hooks find it (they add an event per attempt and
// per wait), and when rt returns records http.client.request.duration and
// ends the span with the outcome. The span is named after the request's
// route ("GET /v1/campaigns/:id") once pacer has reported it, else after
// the method.
//
// The returned RoundTripper is safe for concurrent use when rt is. It
// forwards CloseIdleConnections to rt.
func (in *Instrumentation) Wrap(rt http.RoundTripper) http.RoundTripper {
	return &wrapped{in: in, next: rt}
}

// internalSpan is the logical call's span option, built once.
var internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

type wrapped struct {
	in   *Instrumentation
	next http.RoundTripper
}

func (w *wrapped) RoundTrip(req *http.Request) (*http.Response, error) {
	in := w.in
	start := in.now()
	host, port := in.host(req)
	method := knownMethod(req.Method)
	ctx, span := in.tracer.Start(req.Context(), method, internalSpan...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.request.method", method),
			attribute.String("server.address", host), attribute.Int("server.port", port))
	}
	st := &callState{Context: ctx, span: span}
	resp, err := w.next.RoundTrip(req.WithContext(st))

	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	class := st.gaveUp
	if err != nil {
		class = errorType(err, 0)
	} else if class == "" && status >= 400 {
		class = errorType(nil, status)
	}
	k := attrKey{family: famDuration, scope: in.scopes.Admit(st.scope), route: in.routes.Admit(st.route),
		method: method, host: host, port: port, status: status, extra: class}
	in.duration.Record(ctx, in.now().Sub(start).Seconds(), in.attrs.get(k).rec...)
	if span.IsRecording() {
		st.finish(status, class)
	}
	span.End()
	return resp, err
}

// CloseIdleConnections forwards to the wrapped RoundTripper.
func (w *wrapped) CloseIdleConnections() {
	if ci, ok := w.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// callState is one logical call as the hooks see it: it is the context
// Wrap hands to pacer (so that a call costs one allocation for both), and
// the hooks, finding it through RequestInfo.Context, fill it in. pacer
// calls a request's hooks on the goroutine running its RoundTrip, one
// after another, before RoundTrip returns: the fields need no lock.
type callState struct {
	context.Context
	span         trace.Span
	scope, route string
	attempts     int
	gaveUp       string // error.type of a give-up
}

type stateKey struct{}

// Value returns the callState itself for stateKey, else the parent's value.
func (s *callState) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	return s.Context.Value(key)
}

// stateOf returns the callState of a context derived from Wrap's, or nil.
func stateOf(ctx context.Context) *callState {
	if s, ok := ctx.(*callState); ok {
		return s
	}
	s, _ := ctx.Value(stateKey{}).(*callState)
	return s
}

// note takes the route and scope from an event.
func (s *callState) note(r pacer.RequestInfo) {
	if s.route == "" {
		s.route, s.scope = r.Route, r.Scope
	}
}

// finish sets the span's name, attributes and status from the outcome.
func (s *callState) finish(status int, class string) {
	if s.route != "" {
		s.span.SetName(s.route)
		s.span.SetAttributes(attribute.String("pacer.route", s.route), attribute.String("pacer.scope", s.scope))
	}
	if status != 0 {
		s.span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	if s.attempts > 1 {
		s.span.SetAttributes(attribute.Int("http.request.resend_count", s.attempts-1))
	}
	if class != "" {
		s.span.SetAttributes(attribute.String("error.type", class))
		s.span.SetStatus(codes.Error, class)
	}
}
