// Command webhook is a webhook relay: it accepts events on POST /hook,
// queues them (bounded; 503 when full), and makes the outbound API calls at
// a controlled pace with headroom, and serves its metrics (pacer's and its
// queue's) on GET /metrics for Prometheus. On SIGINT or SIGTERM it stops accepting,
// drains the queue and exits with nothing lost.
//
// By default it delivers to an embedded pacertest API (100 requests per
// minute, on a clock that runs fast) and fires a burst of events at twice
// that limit at itself, then exits once the burst is delivered:
//
//	go run ./webhook
//	go run ./webhook -serve -listen 127.0.0.1:8080   # until Ctrl-C
//
// Against a real API:
//
//	go run ./webhook -serve -url https://api.example.com -path /v1/contacts \
//	    -key "$API_KEY" -limit 100 -window 1m
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/pacerhq/pacer/examples/internal/demo"
)

func main() {
	cfg := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the drain at once
	}()
	demo.Finish(Run(ctx, cfg, os.Stdout))
}

func parseFlags() Config {
	var c Config
	flag.StringVar(&c.Listen, "listen", "127.0.0.1:0", "address of the webhook server (port 0: a free port)")
	flag.IntVar(&c.Queue, "queue", 64, "events that may wait for delivery; beyond it POST /hook answers 503")
	flag.IntVar(&c.Workers, "workers", 4, "concurrent outbound calls")
	flag.Float64Var(&c.Headroom, "headroom", 0.9, "fraction of the documented limit to use")
	flag.DurationVar(&c.Report, "report", 0, "how often to print the queue depth (default 1s)")
	flag.BoolVar(&c.Serve, "serve", false, "keep serving until interrupted instead of running the built-in load generator")
	flag.IntVar(&c.Events, "events", 300, "events the load generator sends, at twice the limit")
	flag.Float64Var(&c.Scale, "scale", 0, "embedded API: times faster than real time its clock runs (0: about 10 s for the burst)")
	c.Real.DefineFlags(flag.CommandLine, "endpoint each event is posted to")
	flag.Parse()
	return c
}
