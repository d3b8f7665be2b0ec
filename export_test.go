package pacer

// Test-only API, visible to the package's external tests (as net/http's
// export_test.go does): it is not part of pacer's public surface.

// WithRandom replaces the source of jitter, a function returning numbers
// in [0, 1), so that tests can assert exact waits.
func WithRandom(f func() float64) Option {
	return func(c *config) { c.rand = f }
}
