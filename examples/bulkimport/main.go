// Command bulkimport imports thousands of records into a rate-limited API
// through pacer, with a live progress bar (a line per second when its output
// is not a terminal) and a final summary that proves nothing was lost or
// created twice.
//
// By default it runs against an embedded pacertest server that behaves like
// the documented API (100 requests per minute; with -bulk, 1000 per hour and
// a bulk endpoint) on a clock that runs fast, so the run takes seconds:
//
//	go run ./bulkimport
//	go run ./bulkimport -bulk 100 -records 5000
//	go run ./bulkimport -zero-config
//
// Against a real API, give its URL, endpoint, key and documented limit:
//
//	go run ./bulkimport -url https://api.example.com -path /v1/leads \
//	    -key "$API_KEY" -limit 100 -window 1m
package main

import (
	"flag"

	"github.com/pacerhq/pacer/examples/internal/demo"
)

func main() { demo.Main(Run, parseFlags()) }

func parseFlags() Config {
	var c Config
	flag.IntVar(&c.Records, "records", 2000, "number of records to import")
	flag.IntVar(&c.Bulk, "bulk", 0, "records per request to the bulk endpoint (0: one create per record)")
	flag.IntVar(&c.Workers, "workers", 8, "concurrent requests")
	flag.BoolVar(&c.ZeroConfig, "zero-config", false, "give the client no budget: learn the limit from response headers")
	flag.StringVar(&c.Progress, "progress", "", `"bar" or "lines" (default: a bar on a terminal, a line per second otherwise)`)
	flag.Float64Var(&c.Scale, "scale", 0, "embedded server: times faster than real time the clock runs (0: finish in about 12 s)")
	c.Real.DefineFlags(flag.CommandLine, "path of the create (or, with -bulk, bulk create) endpoint")
	flag.Parse()
	return c
}
