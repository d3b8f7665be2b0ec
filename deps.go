package pacer

// Temporary: pins golang.org/x/time in go.mod while budget.go, which uses
// it, is being written.
import _ "golang.org/x/time/rate"
