// Command integration walks through a typed API client built on pacer: the
// campaigns API of campaigns-api.txt, with a budget per documented route,
// scoped by API key, slog logging and hooks, the transport's Stats, and the
// typed *pacer.RateLimitError that says when to retry.
//
// By default it runs against an embedded pacertest server with the API's
// per-endpoint limits, on a clock that runs fast:
//
//	go run ./integration
//	go run ./integration -leads 100 -v
package main

import (
	"flag"

	"github.com/pacerhq/pacer/examples/internal/demo"
)

func main() { demo.Main(Run, parseFlags()) }

func parseFlags() Config {
	var cfg Config
	flag.IntVar(&cfg.Campaigns, "campaigns", 5, "campaigns in the embedded API")
	flag.IntVar(&cfg.Leads, "leads", 50, "leads to add")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "dashboard rounds reading every campaign and its statistics")
	flag.IntVar(&cfg.Workers, "workers", 4, "leads added at once")
	flag.DurationVar(&cfg.Patience, "patience", 0, "how long the impatient call waits for a slot (default 5s)")
	flag.BoolVar(&cfg.Verbose, "v", false, "log every wait for a slot")
	flag.Float64Var(&cfg.Scale, "scale", 0, "embedded API: times faster than real time its clock runs (0: about 8 s)")
	flag.StringVar(&cfg.URL, "url", "", "base URL of a real API of the same shape (default: the embedded one)")
	flag.StringVar(&cfg.Key, "key", "", "real API: API key")
	flag.Parse()
	return cfg
}
