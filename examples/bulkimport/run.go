package main

import (
	"bytes"
	"context"
	"encoding/json"
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
// progress bar and a description of the run to out. Records are sent by
// cfg.Workers goroutines through one pacer Transport; Run returns when every
// batch has been answered (or ctx ends, which stops sending new batches).
// The error is non-nil only when the run could not start.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	t := cfg.resolve()
	if t.server != nil {
		defer t.server.Close()
	}
	tr := cfg.transport(t)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	fmt.Fprintln(out, cfg.describe(t))
	batches := makeBatches(cfg.Records, cfg.Bulk, t.server == nil)
	watch := demo.StartStopwatch(t.clock)
	bar := newProgress(out, cfg.Records, tr, watch, t.scale != 1)
	results := importAll(ctx, client, t, cfg.Workers, batches, bar.add)
	bar.finish()

	s := summarize(cfg, t, tr.Stats(), results, batches)
	s.Virtual, s.Real = watch.Elapsed()
	return s, nil
}

// makeBatches splits the records into the batches sent, one request each.
// Against a real API the ids carry the run's start time, so two runs never
// collide.
func makeBatches(n, bulk int, real bool) [][]record {
	prefix := "rec"
	if real {
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
// answered batch. When ctx ends no new batch is started.
func importAll(ctx context.Context, c *http.Client, t target, workers int, batches [][]record, done func(int)) []outcome {
	jobs := make(chan []record)
	results := make(chan outcome)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range jobs {
				results <- outcome{ids: ids(b), err: send(ctx, c, t, b)}
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

// send creates one batch: a JSON object for a single record, a JSON array
// for the bulk endpoint. Any status but 2xx is an error.
func send(ctx context.Context, c *http.Client, t target, b []record) error {
	var body any = b
	if !t.bulk {
		body = b[0]
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url+t.path, bytes.NewReader(buf))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.key != "" {
		req.Header.Set(t.keyHeader, t.key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", t.path, resp.Status)
	}
	return nil
}
