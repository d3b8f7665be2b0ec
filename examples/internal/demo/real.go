package demo

import (
	"flag"
	"time"
)

// Real points a journey at a real API instead of the embedded one. Its zero
// value (no URL) means the embedded API. Journeys embed it in their Config
// and let its flags fill it in.
type Real struct {
	// URL, when set, is the real API's base URL; Path is the endpoint the
	// journey posts to under it, Key the API key sent in KeyHeader, and
	// Limit per Window the API's documented limit.
	URL, Path, Key, KeyHeader string
	Limit                     int
	Window                    time.Duration
}

// DefineFlags defines -url, -path, -key, -key-header (default X-API-Key),
// -limit and -window on fs, writing to r's fields. pathUsage says which
// endpoint -path names.
func (r *Real) DefineFlags(fs *flag.FlagSet, pathUsage string) {
	fs.StringVar(&r.URL, "url", "", "base URL of a real API (default: the embedded test API)")
	fs.StringVar(&r.Path, "path", "", "real API: "+pathUsage)
	fs.StringVar(&r.Key, "key", "", "real API: API key")
	fs.StringVar(&r.KeyHeader, "key-header", "X-API-Key", "real API: header that carries the key")
	fs.IntVar(&r.Limit, "limit", 0, "real API: documented number of requests per window")
	fs.DurationVar(&r.Window, "window", 0, "real API: documented window, e.g. 1m or 1h")
}

// API describes the real API (see RealAPI).
func (r Real) API() API {
	return RealAPI(r.URL, r.Path, r.Key, r.KeyHeader, r.Limit, r.Window)
}
