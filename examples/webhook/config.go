package main

import (
	"errors"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/pacerhq/pacer/pacertest"
)

// Config is what the webhook relay needs. The zero value of every field
// means its documented default.
type Config struct {
	// Listen is the address of the webhook server (default 127.0.0.1:0,
	// a free port).
	Listen string
	// Queue is how many received events may wait for delivery (default
	// 64); beyond it POST /hook answers 503.
	Queue int
	// Workers is how many outbound calls are in flight at most (default 4).
	Workers int
	// Headroom is the fraction of the documented limit the relay uses
	// (default 0.9, as API providers advise).
	Headroom float64
	// Report is how often, in real time, the queue depth is printed
	// (default 1 s).
	Report time.Duration

	// Serve keeps the relay running until ctx ends. Without it the built-in
	// load generator sends Events events (default 300) at twice the
	// documented limit, and the relay stops once they are delivered.
	Serve  bool
	Events int

	// Scale is how many times faster than real time the embedded API's
	// clock runs; 0 picks one so that the default run takes about
	// targetReal.
	Scale float64

	// Real, when its URL is set, is a real API to deliver to instead of
	// the embedded one; its Path is the endpoint each event is posted to.
	demo.Real

	// OnReceive, when set, is called with the number of events accepted so
	// far after each accepted event, before the sender gets its answer.
	// Tests use it to stop the relay mid-stream.
	OnReceive func(received int)
	// OnListen, when set, is called with the relay's base URL
	// (http://127.0.0.1:port) once it accepts webhooks.
	OnListen func(baseURL string)
}

// targetReal is how long, in real time, a default embedded run should take.
const targetReal = 10 * time.Second

// The embedded API is lumail's: 100 requests per fixed minute per
// organisation, one subscriber per POST.
const embeddedPath = "/api/v1/subscribers"

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.Queue <= 0 {
		c.Queue = 64
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Headroom <= 0 || c.Headroom > 1 {
		c.Headroom = 0.9
	}
	if c.Report <= 0 {
		c.Report = time.Second
	}
	if c.Events <= 0 {
		c.Events = 300
	}
}

func (c *Config) validate() error {
	if c.URL != "" && (c.Path == "" || c.Limit <= 0 || c.Window <= 0) {
		return errors.New("webhook: a real API needs -path and its documented -limit and -window")
	}
	return nil
}

// api starts the embedded API, or describes the real one.
func (c *Config) api() demo.API {
	if c.URL != "" {
		return c.Real.API()
	}
	limit, window := 100, time.Minute
	scale := c.Scale
	if scale <= 0 {
		paced := time.Duration(float64(c.Events) / (float64(limit) * c.Headroom) * float64(window))
		scale = demo.AutoScale(paced, targetReal, 1)
	}
	return demo.EmbeddedAPI(pacertest.OrgMinuteAndIPSecond(), scale, embeddedPath, "org", limit, window)
}

// transport is the outbound client's transport: the documented limit run at
// Headroom and paced evenly over the window, so bursts of webhooks turn into
// a steady stream of calls that leaves room for retries and other clients.
// extra adds options (the metrics' hooks).
func (c *Config) transport(a demo.API, extra ...pacer.Option) *pacer.Transport {
	return pacer.NewTransport(nil, append(extra,
		pacer.WithClock(a.Clock),
		pacer.WithBudget(a.Limit, a.Window),
		pacer.WithHeadroom(c.Headroom),
		pacer.WithPacing(),
		pacer.WithMaxAttempts(10),
		pacer.WithMaxWait(a.Window),
	)...)
}
