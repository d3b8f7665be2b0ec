package main

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/integration/campaigns"
	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/pacerhq/pacer/pacertest"
)

// Config is what the integration journey needs. The zero value of every
// field means its documented default.
type Config struct {
	// Campaigns is how many campaigns the embedded API holds (default 5).
	Campaigns int
	// Leads is how many leads the journey adds (default 50), spread over
	// the campaigns.
	Leads int
	// Rounds is how many times a dashboard reads every campaign and its
	// statistics while the leads are added (default 3).
	Rounds int
	// Workers is how many leads are added at once (default 4).
	Workers int
	// Patience is how long the impatient call is willing to wait for a
	// slot, on the API's clock (default 5 s).
	Patience time.Duration
	// Verbose logs every wait for a slot too (slog Debug).
	Verbose bool

	// Scale is how many times faster than real time the embedded API's
	// clock runs; 0 picks one so that the run takes about targetReal.
	Scale float64

	// URL and Key, when set, point the journey at a real API of the same
	// shape instead of the embedded one. It adds Leads leads to the
	// campaigns it lists.
	URL, Key string
}

// targetReal is how long, in real time, a default embedded run should take.
const targetReal = 8 * time.Second

func (c *Config) setDefaults() {
	c.Campaigns = cmp.Or(c.Campaigns, 5)
	c.Leads = cmp.Or(c.Leads, 50)
	c.Rounds = cmp.Or(c.Rounds, 3)
	c.Workers = cmp.Or(c.Workers, 4)
	if c.Patience <= 0 {
		c.Patience = 5 * time.Second
	}
}

func (c *Config) validate() error {
	if c.URL != "" && c.Key == "" {
		return errors.New("integration: a real API needs -key")
	}
	return nil
}

// createLimit is the documented limit of the create route, the one the
// journey's time is bound by.
func createLimit() campaigns.RouteLimit {
	for _, l := range campaigns.Limits {
		if l.Route == "POST /v1/leads/add_to_campaign" {
			return l
		}
	}
	panic("integration: the create route has no documented limit")
}

// env is where the journey runs: the API, its clock and, when embedded,
// the fake application behind the limiter.
type env struct {
	api  demo.API
	fake *fakeAPI // nil for a real API
}

func (c *Config) env() env {
	if c.URL != "" {
		return env{api: demo.RealAPI(c.URL, "", c.Key, campaigns.KeyHeader, 0, 0)}
	}
	fake := newFakeAPI(c.Campaigns)
	cfg := pacertest.PerEndpointWindows()
	cfg.Handler = fake
	scale := c.Scale
	if scale <= 0 {
		l := createLimit()
		scale = demo.AutoScale(demo.MinDuration(c.Leads+1, l.Limit, l.Window), targetReal, 5)
	}
	api := demo.EmbeddedAPI(cfg, scale, "", "", 0, 0)
	return env{api: api, fake: fake}
}

// logger logs pacer's events to out without timestamps (the wall-clock
// time of a scaled run would only confuse): retries and give-ups, and
// with Verbose every wait for a slot.
func (c *Config) logger(out io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if c.Verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// client builds the typed client: the API's own options (campaigns.Options)
// plus the shared clock, the logger and hooks that count waits.
func (c *Config) client(e env, out io.Writer, j *journal) *campaigns.Client {
	return campaigns.New(e.api.URL, cmp.Or(e.api.Key, "demo-key"),
		pacer.WithClock(e.api.Clock),
		pacer.WithLogger(c.logger(out)),
		pacer.WithHooks(pacer.Hooks{OnWait: j.waited}),
	)
}
