package demo

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is the body of a journey's main once its flags are parsed: it calls
// run with cfg and standard output under a context that ends on the first
// SIGINT or SIGTERM, then ends the program as Finish does. Signals that come
// after the first are ignored until run returns, so that a cancelled run
// still prints its summary.
func Main[C any, S Summary](run func(context.Context, C, io.Writer) (S, error), cfg C) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	Finish(run(ctx, cfg, os.Stdout))
}
