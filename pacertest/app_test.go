package pacertest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

func TestItemsAPI(t *testing.T) {
	srv, _ := start(t, pacertest.Config{})
	r := do(t, srv, "POST", "/v1/leads", "k", `{"id":"a","name":"Ann"}`)
	require.Equal(t, http.StatusCreated, r.status)
	assert.JSONEq(t, `{"id":"a","name":"Ann"}`, r.body)

	r = get(t, srv, "/v1/leads/a", "k")
	assert.Equal(t, http.StatusOK, r.status)
	assert.True(t, json.Valid([]byte(r.body)), r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))

	assert.Equal(t, http.StatusOK, do(t, srv, "POST", "/v1/ping", "k", "").status)
	assert.Equal(t, http.StatusOK, do(t, srv, "POST", "/v1/ping", "k", `{"x":1}`).status)
	assert.Equal(t, http.StatusBadRequest, do(t, srv, "POST", "/v1/leads", "k", `not json`).status)
	assert.Equal(t, http.StatusBadRequest, do(t, srv, "POST", "/v1/leads", "k", `[1]`).status)
	assert.Equal(t, http.StatusOK, do(t, srv, "PUT", "/v1/leads/a", "k", `{"id":"z"}`).status)

	ev := srv.Evidence()
	assert.Equal(t, 1, ev.Created, "only the POST with an id created")
	assert.Equal(t, []string{"b"}, ev.Missing([]string{"a", "b"}))
	assert.Equal(t, []string{"z"}, ev.Missing([]string{"z"}), "PUT creates nothing")
}

func TestItemLookup(t *testing.T) {
	srv, _ := start(t, pacertest.Config{})
	require.Equal(t, http.StatusCreated, do(t, srv, "POST", "/v1/leads", "k", `{"id":"a"}`).status)
	require.Equal(t, http.StatusCreated, do(t, srv, "POST", "/v1/leads", "k", `{"id":"a"}`).status)

	r := get(t, srv, "/v1/leads?id=a", "k")
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"id":"a","created":2}`, r.body)
	r = get(t, srv, "/v1/leads?id=b", "k")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.JSONEq(t, `{"error":"no such item","id":"b"}`, r.body)
	assert.Equal(t, http.StatusOK, get(t, srv, "/v1/leads?other=1", "k").status, "no id: the plain answer")
	ev := srv.Evidence()
	assert.Equal(t, 1, ev.Created, "looking up creates nothing")
	assert.Equal(t, []string{"a"}, ev.CreatedTwice)
	assert.Equal(t, []string{"b"}, ev.Missing([]string{"a", "b"}))
}

func bulkBody(from, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"id":"b%d"}`, from+i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

func TestBulkCreate(t *testing.T) {
	srv, _ := start(t, pacertest.Config{BulkMax: 3})
	r := do(t, srv, "POST", "/v1/leads/bulk", "k", bulkBody(0, 3))
	require.Equal(t, http.StatusCreated, r.status, r.body)
	var out struct{ Created int }
	require.NoError(t, json.Unmarshal([]byte(r.body), &out))
	assert.Equal(t, 3, out.Created)

	assert.Equal(t, http.StatusRequestEntityTooLarge, do(t, srv, "POST", "/v1/leads/bulk", "k", bulkBody(10, 4)).status)
	assert.Equal(t, http.StatusBadRequest, do(t, srv, "POST", "/v1/leads/bulk", "k", `[{"id":"c1"},{"name":"no id"}]`).status)
	assert.Equal(t, http.StatusBadRequest, do(t, srv, "POST", "/v1/leads/bulk", "k", `{"id":"c2"}`).status)

	ev := srv.Evidence()
	assert.Equal(t, 3, ev.Created, "rejected batches create nothing, not even their valid items")
	assert.Empty(t, ev.Missing([]string{"b0", "b1", "b2"}))
	assert.Equal(t, []string{"b10", "c1"}, ev.Missing([]string{"b10", "c1"}))
}

func TestIdempotencyKeyDedupe(t *testing.T) {
	srv, _ := start(t, pacertest.Config{})
	first := do(t, srv, "POST", "/items", "k", `{"id":"a"}`, "Idempotency-Key", "one")
	again := do(t, srv, "POST", "/items", "k", `{"id":"a","v":2}`, "Idempotency-Key", "one")
	require.Equal(t, http.StatusCreated, first.status)
	require.Equal(t, http.StatusCreated, again.status)
	assert.Empty(t, first.header.Get("Idempotent-Replayed"))
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.body, again.body, "the stored response is replayed")
	ev := srv.Evidence()
	assert.Equal(t, 1, ev.CreatedCount("a"))
	assert.Empty(t, ev.CreatedTwice)

	// The same Idempotency-Key from another API key is another request, and
	// a repeat without a key is a duplicate.
	do(t, srv, "POST", "/items", "other", `{"id":"a"}`, "Idempotency-Key", "one")
	do(t, srv, "POST", "/items", "k", `{"id":"c"}`)
	do(t, srv, "POST", "/items", "k", `{"id":"c"}`)
	ev = srv.Evidence()
	assert.Equal(t, []string{"a", "c"}, ev.CreatedTwice)
	assert.Equal(t, 2, ev.Created)
}

func TestRejectedRequestsCreateNothing(t *testing.T) {
	srv, _ := start(t, pacertest.Config{Limits: []pacertest.Limit{{Requests: 1, Window: time.Minute}}})
	assert.Equal(t, 201, do(t, srv, "POST", "/items", "k", `{"id":"a"}`).status)
	assert.Equal(t, 429, do(t, srv, "POST", "/items", "k", `{"id":"b"}`).status)
	assert.Equal(t, []string{"b"}, srv.Evidence().Missing([]string{"a", "b"}))
}

func TestCustomHandlerBehindTheLimiter(t *testing.T) {
	srv, _ := start(t, pacertest.Config{
		Limits:  []pacertest.Limit{{Requests: 1, Window: time.Minute}},
		Headers: pacertest.XRateLimitUnix,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}),
	})
	r := do(t, srv, "POST", "/items", "k", `{"id":"a"}`)
	assert.Equal(t, http.StatusTeapot, r.status)
	assert.Equal(t, int64(0), headerInt(t, r.header, "X-RateLimit-Remaining"))
	assert.Equal(t, 429, get(t, srv, "/x", "k").status)
	ev := srv.Evidence()
	assert.Equal(t, 0, ev.Created)
	assert.Equal(t, 1, ev.Accepted)
}

func TestEvidenceSeries(t *testing.T) {
	srv, clk := start(t, pacertest.Config{Limits: []pacertest.Limit{{Requests: 2, Window: time.Minute}}})
	statuses(t, srv, 3, "/x", "k") // second 0: 2 accepted, 1 rejected
	clk.Set(t0.Add(2500 * time.Millisecond))
	srv.SetOutage(true)
	get(t, srv, "/x", "k") // second 2: 1 failed
	assert.Equal(t, []pacertest.Bucket{
		{Start: t0, Width: sec, Accepted: 2, Rejected: 1},
		{Start: t0.Add(sec), Width: sec},
		{Start: t0.Add(2 * sec), Width: sec, Failed: 1},
	}, srv.Evidence().Series)
}

func TestEvidenceBeforeStartAndSnapshot(t *testing.T) {
	srv := pacertest.NewUnstartedServer(pacertest.Config{})
	assert.Equal(t, 0, srv.Evidence().Accepted)
	assert.Panics(t, func() { srv.Client() })
	srv.Start()
	defer srv.Close()
	assert.Panics(t, srv.Start, "a second Start")
	do(t, srv, "POST", "/items", "k", `{"id":"a"}`)
	snap := srv.Evidence()
	do(t, srv, "POST", "/items", "k", `{"id":"a"}`)
	assert.Empty(t, snap.CreatedTwice, "a snapshot does not change")
	assert.Equal(t, 1, snap.CreatedCount("a"))
	assert.Equal(t, 2, srv.Evidence().CreatedCount("a"))
}
