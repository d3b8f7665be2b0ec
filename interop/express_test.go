package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// express-rate-limit runs on Node: node/server.js, with the packages pinned
// by node/package-lock.json (npm ci installs them when node_modules is
// missing). Without node on the PATH the express runs are skipped, loudly,
// unless PACER_REQUIRE_NODE=1, when that is a failure.

// expressDrafts are the standardHeaders settings measured.
var expressDrafts = []struct{ draft, headers string }{
	{"draft-7", "RateLimit: limit=20, remaining=N, reset=S (S = ceil s to the reset) + RateLimit-Policy; Retry-After on 429"},
	{"draft-6", "RateLimit-Limit/-Remaining/-Reset (ceil s) + RateLimit-Policy; Retry-After on 429"},
}

func expressName(draft string) string { return "express-rate-limit 8 (" + draft + ")" }

// nodeMissing says why the express runs cannot happen ("" when they can),
// or fails t when PACER_REQUIRE_NODE=1.
func nodeMissing(t testing.TB) string {
	t.Helper()
	var missing []string
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules")); err == nil && !contains(missing, "node") {
		return "" // npm is only needed to install
	}
	msg := strings.Join(missing, " and ") + " not found in PATH: express-rate-limit tests NOT RUN. Install them " +
		"(apt-get update && apt-get install -y nodejs npm); set PACER_REQUIRE_NODE=1 to make this a failure"
	if os.Getenv("PACER_REQUIRE_NODE") == "1" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, "WARNING:", msg)
	return msg
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// npmCI installs node/'s packages from package-lock.json when node_modules
// is missing.
func npmCI(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node", "node_modules", "express-rate-limit")); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = "node"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci in interop/node: %v\n%s", err, out)
	}
	t.Logf("npm ci in interop/node:\n%s", bytes.TrimSpace(out))
}

// startExpress starts one node process serving an app per label (label →
// standardHeaders draft), each with its own limiter, and stops it when t
// ends. It returns a target per label.
func startExpress(ctx context.Context, t testing.TB, drafts map[string]string) map[string]target {
	t.Helper()
	args := []string{"server.js"}
	for label, draft := range drafts {
		args = append(args, label+"="+draft)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = "node"
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = stdin.Close() // the server exits when its stdin closes
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if s := strings.TrimSpace(stderr.String()); s != "" {
			t.Logf("node stderr:\n%s", s)
		}
	})

	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var ports map[string]int
	select {
	case l, ok := <-line:
		if !ok {
			<-done
			t.Fatalf("node exited before listening: %s", stderr.String())
		}
		if err := json.Unmarshal([]byte(l), &ports); err != nil {
			t.Fatalf("node said %q: %v", l, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("node did not listen within 30 s: %s", stderr.String())
	case <-ctx.Done():
		t.Fatalf("node did not listen: %v", ctx.Err())
	}

	out := map[string]target{}
	for label := range drafts {
		port, ok := ports[label]
		if !ok {
			t.Fatalf("node gave no port for %s: %v", label, ports)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		out[label] = target{
			url:  url,
			logs: func() (serverLog, error) { return expressLogs(ctx, url) },
			minimum: func(n int, _ time.Time) time.Duration {
				// The memory store's window starts at the key's first hit.
				return minFixedFromFirst(n, limitN, limitWindow)
			},
		}
	}
	return out
}

// expressLogs fetches an express app's record from GET /stats.
func expressLogs(ctx context.Context, url string) (serverLog, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/stats", nil)
	if err != nil {
		return serverLog{}, err
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return serverLog{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverLog{}, errors.New("GET /stats: " + resp.Status)
	}
	var raw struct {
		Events []struct {
			At      float64           `json:"at"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
		} `json:"events"`
		Creates map[string]int `json:"creates"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return serverLog{}, err
	}
	log := serverLog{Creates: raw.Creates}
	for _, e := range raw.Events {
		h := map[string]string{}
		for k, v := range e.Headers {
			h[http.CanonicalHeaderKey(k)] = v
		}
		log.Events = append(log.Events, event{At: time.UnixMicro(int64(e.At * 1000)), Status: e.Status, Header: h})
	}
	return log, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
