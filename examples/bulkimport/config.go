package main

import (
	"errors"
	"fmt"
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

	// Scale is how many times faster than real time the embedded server's
	// clock runs; 0 picks one so that the run takes about targetReal.
	Scale float64

	// URL, when set, is a real API to import into instead of the embedded
	// server; Path is the create (or bulk) endpoint under it, Key the API
	// key sent in KeyHeader, and Limit per Window the documented limit.
	URL, Path, Key, KeyHeader string
	Limit                     int
	Window                    time.Duration
}

// targetReal is how long, in real time, a default embedded run should take.
const targetReal = 12 * time.Second

// target is the API a run talks to, resolved from a Config.
type target struct {
	url, path      string
	key, keyHeader string
	limit          int
	window         time.Duration
	clock          pacer.Clock
	server         *pacertest.Server // nil for a real API
	scale          float64           // 1 for a real API
	bulk           bool              // post JSON arrays to a bulk endpoint
	limitName      string            // the embedded server's name for the limit
}

// The embedded APIs. Without -bulk it is lumail's (100 requests per minute
// per organisation, one subscriber per request); with -bulk it is lupitor's
// (1000 requests per sliding hour per key, up to 1000 leads per bulk POST).
const (
	singlePath = "/api/v1/subscribers"
	bulkPath   = "/api/v1/leads/bulk"
	demoKey    = "demo-key"
)

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.KeyHeader == "" {
		c.KeyHeader = "X-API-Key"
	}
}

func (c *Config) validate() error {
	switch {
	case c.Records <= 0:
		return errors.New("bulkimport: Records must be positive")
	case c.Bulk < 0:
		return errors.New("bulkimport: Bulk must not be negative")
	case c.URL != "" && c.Path == "":
		return errors.New("bulkimport: a real API needs the create endpoint's path (-path)")
	case c.URL != "" && !c.ZeroConfig && (c.Limit <= 0 || c.Window <= 0):
		return errors.New("bulkimport: a real API needs its documented limit (-limit and -window) or -zero-config")
	}
	return nil
}

// requests is how many requests the import sends when nothing is retried.
func (c *Config) requests() int {
	if c.Bulk <= 0 {
		return c.Records
	}
	return (c.Records + c.Bulk - 1) / c.Bulk
}

// resolve starts the embedded server, or describes the real API.
func (c *Config) resolve() target {
	if c.URL != "" {
		return target{url: c.URL, path: c.Path, key: c.Key, keyHeader: c.KeyHeader,
			limit: c.Limit, window: c.Window, clock: pacer.SystemClock(), scale: 1, bulk: c.Bulk > 0}
	}
	api, path := pacertest.OrgMinuteAndIPSecond(), singlePath
	limit, window, name := 100, time.Minute, "org"
	if c.Bulk > 0 {
		api, path = pacertest.SlidingHourPerKey(), bulkPath
		limit, window, name = 1000, time.Hour, "api"
	}
	scale := c.Scale
	if scale <= 0 {
		scale = demo.AutoScale(demo.MinDuration(c.requests(), limit, window), targetReal, 10)
	}
	srv := demo.Embedded(api, scale)
	return target{url: srv.URL, path: path, key: demoKey, keyHeader: c.KeyHeader,
		limit: limit, window: window, clock: srv.Clock(), server: srv, scale: scale, bulk: c.Bulk > 0, limitName: name}
}

// maxWait is how long one retry may wait for the server: a batch job can
// afford to wait out a whole window.
func (t target) maxWait() time.Duration {
	return max(t.window, pacer.DefaultMaxWait)
}

// transport builds the pacer transport for the target: the documented
// limit as a budget (unless zero-config), the shared clock, and
// Idempotency-Keys on creates so that no retry can create a record twice.
func (c *Config) transport(t target) *pacer.Transport {
	opts := []pacer.Option{
		pacer.WithClock(t.clock),
		pacer.WithIdempotencyKeys(),
		pacer.WithMaxAttempts(10),
		pacer.WithMaxWait(t.maxWait()),
	}
	if !c.ZeroConfig {
		opts = append(opts, pacer.WithBudget(t.limit, t.window))
	}
	return pacer.NewTransport(nil, opts...)
}

// describe is one line naming what the run does.
func (c *Config) describe(t target) string {
	shape := "one record per request"
	if c.Bulk > 0 {
		shape = fmt.Sprintf("bulk requests of %d", c.Bulk)
	}
	budget := fmt.Sprintf("budget %d per %s", t.limit, t.window)
	if c.ZeroConfig {
		budget = "zero-config: no budget, limits learned from headers"
	}
	where := fmt.Sprintf("embedded test API, time ×%.4g", t.scale)
	if t.server == nil {
		where = t.url
	}
	return fmt.Sprintf("importing %d records, %s, %d workers, %s (%s)",
		c.Records, shape, c.Workers, budget, where)
}
