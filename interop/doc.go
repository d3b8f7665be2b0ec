// Package interop holds the real-limiter test suite: pacer against real
// rate-limiting middleware on 127.0.0.1 (see interop_test.go).
package interop
