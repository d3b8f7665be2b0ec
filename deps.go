package pacer

// Temporary: pins the design card's dependencies in go.mod while the files
// that use them are written. Removed once transport.go and budget.go import them.
import (
	_ "github.com/hashicorp/go-retryablehttp"
	_ "golang.org/x/time/rate"
)
