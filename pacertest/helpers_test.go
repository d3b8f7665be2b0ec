package pacertest_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/pacerhq/pacer/pacertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is where every manual clock in these tests starts (a whole second).
var t0 = clocktest.Epoch

// start returns a started server on a manual clock at t0, closed at cleanup.
func start(t *testing.T, cfg pacertest.Config) (*pacertest.Server, *clocktest.Manual) {
	t.Helper()
	clk := clocktest.NewManual(t0)
	cfg.Clock = clk
	srv := pacertest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv, clk
}

// reply is a response with its body read.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends method path with the API key (if any) and an optional body.
func do(t *testing.T, srv *pacertest.Server, method, path, key, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, srv *pacertest.Server, path, key string) reply {
	t.Helper()
	return do(t, srv, http.MethodGet, path, key, "")
}

// headerInt parses an integer header, failing the test if it is not one.
func headerInt(t *testing.T, h http.Header, name string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(h.Get(name), 10, 64)
	require.NoError(t, err, "%s: %q", name, h.Get(name))
	return v
}

// statuses sends n GETs and returns their status codes.
func statuses(t *testing.T, srv *pacertest.Server, n int, path, key string) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = get(t, srv, path, key).status
	}
	return out
}

func repeat(code, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = code
	}
	return out
}

const sec = time.Second
