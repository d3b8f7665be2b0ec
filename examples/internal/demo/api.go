package demo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
)

// API is the API a journey talks to: an embedded pacertest server on a
// scaled clock, or a real API on the system clock. It is a value, safe to
// copy and to use from several goroutines.
type API struct {
	// URL is the base URL, without trailing slash; Path the endpoint the
	// journey posts to.
	URL, Path string
	// Key is the API key, sent in the KeyHeader header ("X-API-Key" when
	// empty); no key is sent when it is empty.
	Key, KeyHeader string
	// Limit per Window is the API's documented limit.
	Limit  int
	Window time.Duration
	// Clock is the API's clock: hand it to the client (pacer.WithClock).
	Clock pacer.Clock
	// Scale is how many times faster than real time Clock runs (1 for a
	// real API).
	Scale float64

	// Server is the embedded server, nil for a real API; LimitName is its
	// name for the limit, as Evidence reports it.
	Server    *pacertest.Server
	LimitName string
}

// RealAPI describes a real API at url on the system clock.
func RealAPI(url, path, key, keyHeader string, limit int, window time.Duration) API {
	return API{URL: url, Path: path, Key: key, KeyHeader: keyHeader,
		Limit: limit, Window: window, Clock: pacer.SystemClock(), Scale: 1}
}

// EmbeddedAPI starts a pacertest server for cfg on a clock running scale
// times faster than real time. limitName names the server's limit that
// limit per window documents. The caller must Close the API.
func EmbeddedAPI(cfg pacertest.Config, scale float64, path, limitName string, limit int, window time.Duration) API {
	srv := Embedded(cfg, scale)
	return API{URL: srv.URL, Path: path, Key: "demo-key", Limit: limit, Window: window,
		Clock: srv.Clock(), Scale: scale, Server: srv, LimitName: limitName}
}

// Close shuts the embedded server down; it does nothing for a real API.
func (a API) Close() {
	if a.Server != nil {
		a.Server.Close()
	}
}

// String names the API and its limit in a few words.
func (a API) String() string {
	if a.Server == nil {
		return fmt.Sprintf("%s%s, %d requests per %s", a.URL, a.Path, a.Limit, a.Window)
	}
	return fmt.Sprintf("embedded test API %s, %d requests per %s, time ×%.4g", a.Path, a.Limit, a.Window, a.Scale)
}

// PostJSON posts v as JSON to the API's Path with the API key and the
// extra header (may be nil) and reads the response. Any status but 2xx is
// an error naming it.
func (a API) PostJSON(ctx context.Context, c *http.Client, v any, header http.Header) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+a.Path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	if a.Key != "" {
		req.Header.Set(cmp.Or(a.KeyHeader, "X-API-Key"), a.Key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", a.Path, resp.Status)
	}
	return nil
}
