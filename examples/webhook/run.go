package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/pacerhq/pacer/pacerprom"
)

// shutdownTimeout bounds how long the webhook server waits for requests in
// progress when asked to stop (they only queue an event, so it is ample).
const shutdownTimeout = 5 * time.Second

// Run serves POST /hook on cfg.Listen, relays each event to the API at a
// controlled pace, and prints the queue depth every cfg.Report. It stops
// when ctx ends (the SIGINT path) or, without cfg.Serve, once the built-in
// load generator's burst is delivered. Stopping closes the listener and
// waits for requests in progress (http.Server.Shutdown), then drains the
// queue: every accepted event is delivered before Run returns. The error is
// non-nil only when the relay could not start.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	cfg.setDefaults()
	out = demo.NewSyncWriter(out)
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return Summary{}, err
	}
	api := cfg.api()
	defer api.Close()
	metrics := pacerprom.New()
	tr := cfg.transport(api, metrics.Options()...)
	metrics.Observe(tr)
	defer tr.CloseIdleConnections()

	q, d := newQueue(cfg.Queue), &deliveries{}
	watch := demo.StartStopwatch(api.Clock)
	mux := http.NewServeMux()
	mux.Handle("/hook", hookHandler(q, cfg.OnReceive))
	mux.Handle("GET /metrics", metricsHandler(metrics, q, d))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "webhook relay listening on %s/hook, delivering to %s\n", base, api)
	fmt.Fprintf(out, "outbound budget: %d per %s at %.0f%% headroom, paced\n", api.Limit, api.Window, 100*cfg.Headroom)
	fmt.Fprintf(out, "metrics (Prometheus) on %s/metrics\n", base)

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		deliverAll(context.WithoutCancel(ctx), &http.Client{Transport: tr}, api, q, cfg.Workers, d)
	}()
	stopReport := demo.Every(cfg.Report, func() { report(out, q, d, tr) })
	defer stopReport()

	if cfg.OnListen != nil {
		cfg.OnListen(base)
	}
	load := startLoad(ctx, cfg, api, base, out)
	select {
	case <-ctx.Done():
	case <-load.done:
	}
	depth := q.stats().Depth
	fmt.Fprintf(out, "stopping: no new webhooks; draining %d queued events\n", depth)
	shutdownErr := shutdown(srv)
	q.close()
	gen := load.stop()
	<-drained
	stopReport()
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		shutdownErr = errors.Join(shutdownErr, err)
	}

	s := summarize(q.stats(), d, tr.Stats(), api, gen)
	s.QueuedAtStop, s.ShutdownErr = depth, shutdownErr
	s.Virtual, s.Real = watch.Elapsed()
	return s, nil
}

// shutdown stops accepting connections and waits for the requests in
// progress; if that takes too long it closes them.
func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return errors.Join(err, srv.Close())
	}
	return nil
}

// load is the running load generator (or none, with cfg.Serve).
type load struct {
	done <-chan struct{} // closed when the burst is sent (never with Serve)
	stop func() loadResult
}

// startLoad starts the load generator: cfg.Events events at twice the
// documented rate. With cfg.Serve it starts nothing and done never closes.
func startLoad(ctx context.Context, cfg Config, api demo.API, base string, out io.Writer) load {
	if cfg.Serve {
		fmt.Fprintf(out, "serving until interrupted; try:\n  curl -X POST -d '{\"id\":\"evt-1\",\"type\":\"lead.created\"}' %s/hook\n", base)
		return load{done: make(chan struct{}), stop: func() loadResult { return loadResult{} }}
	}
	interval := api.Window / time.Duration(2*api.Limit)
	fmt.Fprintf(out, "load generator: %d events, one every %s (twice the limit)\n", cfg.Events, interval)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var res loadResult
	go func() {
		defer close(done)
		res = generate(ctx, api.Clock, base, cfg.Events, interval)
	}()
	return load{done: done, stop: func() loadResult { cancel(); <-done; return res }}
}

// report prints one line of queue depth and progress.
func report(out io.Writer, q *queue, d *deliveries, tr *pacer.Transport) {
	qs := q.stats()
	delivered, failed := d.counts()
	budget := "?"
	if rl, ok := demo.LatestServer(tr.Stats()); ok {
		budget = fmt.Sprintf("%d/%d", rl.Remaining, rl.Limit)
	}
	fmt.Fprintf(out, "queue %3d/%d  received %4d  delivered %4d  failed %d  503s %d  server budget left %s\n",
		qs.Depth, qs.Capacity, len(qs.Received), delivered, len(failed), qs.Refused, budget)
}
