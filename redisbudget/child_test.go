package redisbudget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/redis/go-redis/v9"
)

// childEnv, when set, makes the test binary a child process of
// TestProcessesShareOneBudget: TestMain runs runChild with its value (a JSON
// childConfig) instead of the tests.
const childEnv = "PACER_REDISBUDGET_CHILD"

type childConfig struct {
	Redis   string        // Redis address
	URL     string        // the rate-limited server
	Start   time.Time     // when to send the first request
	Run     time.Duration // how long to send for
	Limit   int           // the shared budget: Limit per Window
	Window  time.Duration //
	Workers int           // goroutines sending requests
}

// childReport is what a child prints on stdout when done.
type childReport struct {
	Status map[int]int // responses by status code
	Late   int         // requests given up because no slot freed before the end
	Errors []string    // anything else, at most a few
}

// runChild sends requests through a pacer client whose budget lives in
// Redis, from Start until Start+Run, and prints a childReport.
func runChild(spec string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child: bad config:", err)
		return 2
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis, ContextTimeoutEnabled: true})
	defer rdb.Close()
	client := pacer.NewClient(pacer.WithStore(New(rdb)), pacer.WithBudget(cfg.Limit, cfg.Window))
	defer client.CloseIdleConnections()

	time.Sleep(time.Until(cfg.Start))
	end := cfg.Start.Add(cfg.Run)
	rep := childReport{Status: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for late := false; !late && time.Now().Before(end); {
				code, err := get(client, cfg.URL, end)
				late = errors.Is(err, pacer.ErrRateLimited) || errors.Is(err, context.DeadlineExceeded)
				mu.Lock()
				switch {
				case err == nil:
					rep.Status[code]++
				case late: // no slot frees before the end: this worker is done
					rep.Late++
				case len(rep.Errors) < 5:
					rep.Errors = append(rep.Errors, err.Error())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 2
	}
	return 0
}

func get(client *http.Client, url string, end time.Time) (int, error) {
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
