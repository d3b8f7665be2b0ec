package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/internal/demo"
	"github.com/pacerhq/pacer/pacertest"
)

// Config is what a bulk import run needs. The zero value of every field but
// Records means its documented default.
type Config struct {
	// Records is how many records to import.
	Records int
	// Bulk is how many records go in one request to the API's bulk
	// endpoint; 0 creates one record per request.
	Bulk int
	// Workers is how many requests are in flight at most (default 8).
	Workers int
	// ZeroConfig gives the client no budget: it learns the limit from the
	// server's headers alone.
	ZeroConfig bool

	// Progress is how the run reports its progress: ProgressAuto (the
	// default) draws a bar on a terminal and prints a line per second
	// otherwise; ProgressBar and ProgressLines choose.
	Progress string

	// Scale is how many times faster than real time the embedded server's
	// clock runs; 0 picks one so that the run takes about targetReal.
	Scale float64

	// Real, when its URL is set, is a real API to import into instead of
	// the embedded server; its Path is the create (or bulk) endpoint.
	demo.Real
}

// targetReal is how long, in real time, a default embedded run should take.
const targetReal = 12 * time.Second

// The embedded APIs. Without Bulk it is lumail's (100 requests per fixed
// minute per organisation, one subscriber per request); with Bulk it is
// lupitor's (1000 requests per sliding hour per key, up to 1000 leads per
// bulk POST).
const (
	singlePath = "/api/v1/subscribers"
	bulkPath   = "/api/v1/leads/bulk"
)

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 8
	}
}

func (c *Config) validate() error {
	switch {
	case c.Records <= 0:
		return errors.New("bulkimport: Records must be positive")
	case c.Bulk < 0:
		return errors.New("bulkimport: Bulk must not be negative")
	case c.Progress != ProgressAuto && c.Progress != ProgressBar && c.Progress != ProgressLines:
		return fmt.Errorf("bulkimport: Progress must be %q, %q or empty (auto), not %q", ProgressBar, ProgressLines, c.Progress)
	case c.URL != "" && c.Path == "":
		return errors.New("bulkimport: a real API needs the create endpoint's path (-path)")
	case c.URL != "" && !c.ZeroConfig && (c.Limit <= 0 || c.Window <= 0):
		return errors.New("bulkimport: a real API needs its documented limit (-limit and -window) or -zero-config")
	}
	return nil
}

// progressMode resolves Progress for out: a bar only on a terminal.
func (c *Config) progressMode(out io.Writer) string {
	if c.Progress != ProgressAuto {
		return c.Progress
	}
	if isTerminal(out) {
		return ProgressBar
	}
	return ProgressLines
}

// requests is how many requests the import sends when nothing is retried.
func (c *Config) requests() int {
	if c.Bulk <= 0 {
		return c.Records
	}
	return (c.Records + c.Bulk - 1) / c.Bulk
}

// api starts the embedded server, or describes the real API.
func (c *Config) api() demo.API {
	if c.URL != "" {
		return c.Real.API()
	}
	cfg, path, name := pacertest.OrgMinuteAndIPSecond(), singlePath, "org"
	limit, window := 100, time.Minute
	if c.Bulk > 0 {
		cfg, path, name = pacertest.SlidingHourPerKey(), bulkPath, "api"
		limit, window = 1000, time.Hour
	}
	scale := c.Scale
	if scale <= 0 {
		scale = demo.AutoScale(demo.MinDuration(c.requests(), limit, window), targetReal, 10)
	}
	return demo.EmbeddedAPI(cfg, scale, path, name, limit, window)
}

// transport builds the pacer transport for the API: the documented limit
// as a budget (unless zero-config), the API's clock, and Idempotency-Keys
// on creates so that no retry can create a record twice. A batch job can
// afford to wait out a whole window for the server.
func (c *Config) transport(a demo.API) *pacer.Transport {
	opts := []pacer.Option{
		pacer.WithClock(a.Clock),
		pacer.WithIdempotencyKeys(),
		pacer.WithMaxAttempts(10),
		pacer.WithMaxWait(max(a.Window, pacer.DefaultMaxWait)),
	}
	if !c.ZeroConfig {
		opts = append(opts, pacer.WithBudget(a.Limit, a.Window))
	}
	return pacer.NewTransport(nil, opts...)
}

// describe is one line naming what the run does.
func (c *Config) describe(a demo.API) string {
	shape := "one record per request"
	if c.Bulk > 0 {
		shape = fmt.Sprintf("bulk requests of %d", c.Bulk)
	}
	client := "client budget = documented limit"
	if c.ZeroConfig {
		client = "zero-config client: no budget, limits learned from headers"
	}
	return fmt.Sprintf("importing %d records, %s, %d workers, %s\ninto %s",
		c.Records, shape, c.Workers, client, a)
}
