package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/pacerhq/pacer/examples/internal/demo"
)

// record is one item to import.
type record struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// outcome is what happened to one batch.
type outcome struct {
	ids []string
	err error
}

// Run imports cfg.Records records and returns the summary. It writes a
// description of the run and its progress to out: a live bar when out is a
// terminal, else one line per second (see Config.Progress). Records are sent by
// cfg.Workers goroutines through one pacer Transport; Run returns when every
// batch has been answered (or ctx ends, which stops sending new batches).
// The error is non-nil only when the run could not start.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	cfg.setDefaults()
	mode := cfg.progressMode(out)
	out = demo.NewSyncWriter(out)
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	api := cfg.api()
	defer api.Close()
	tr := cfg.transport(api)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	fmt.Fprintln(out, cfg.describe(api))
	batches := makeBatches(cfg.Records, cfg.Bulk, api.Server == nil)
	watch := demo.StartStopwatch(api.Clock)
	prog := newProgress(mode, out, cfg.Records, tr, watch, api.Scale != 1)
	results := importAll(ctx, client, api, cfg.Workers, batches, cfg.Bulk > 0, prog.add)
	prog.finish()

	s := summarize(cfg, api, tr.Stats(), results, batches)
	s.Virtual, s.Real = watch.Elapsed()
	return s, nil
}

// makeBatches splits the records into the batches sent, one request each.
// With unique (for a real API) the ids carry the run's start time, so two
// runs never collide.
func makeBatches(n, bulk int, unique bool) [][]record {
	prefix := "rec"
	if unique {
		prefix = fmt.Sprintf("rec-%d", time.Now().Unix())
	}
	size := max(bulk, 1)
	var out [][]record
	for i := 0; i < n; i += size {
		var b []record
		for j := i; j < min(i+size, n); j++ {
			id := fmt.Sprintf("%s-%06d", prefix, j+1)
			b = append(b, record{ID: id, Email: id + "@example.com", Name: fmt.Sprintf("Lead %d", j+1)})
		}
		out = append(out, b)
	}
	return out
}

// importAll sends every batch with workers goroutines and returns the
// outcome of each batch it sent; done is called with the size of each
// answered batch. A batch is a JSON array for a bulk endpoint, else the one
// record as a JSON object. When ctx ends no new batch is started.
func importAll(ctx context.Context, c *http.Client, api demo.API, workers int, batches [][]record, bulk bool, done func(int)) []outcome {
	jobs := make(chan []record)
	results := make(chan outcome)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range jobs {
				var body any = b
				if !bulk {
					body = b[0]
				}
				results <- outcome{ids: ids(b), err: api.PostJSON(ctx, c, body, nil)}
				done(len(b))
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, b := range batches {
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var outs []outcome
	for o := range results {
		outs = append(outs, o)
	}
	return outs
}

func ids(b []record) []string {
	out := make([]string, len(b))
	for i, r := range b {
		out[i] = r.ID
	}
	return out
}
