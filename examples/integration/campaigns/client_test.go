package campaigns

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/pacertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// api answers like the campaigns API: a list, one campaign, 404s with an
// error body, and creates that echo the lead with an id.
func api(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/campaigns", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "secret", r.Header.Get(KeyHeader))
		w.Write([]byte(`{"data":[{"id":"c1","name":"One","status":"active"}]}`))
	})
	mux.HandleFunc("GET /v1/campaigns/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"campaign not found"}`))
	})
	mux.HandleFunc("POST /v1/leads/add_to_campaign", func(w http.ResponseWriter, r *http.Request) {
		assert.NotEmpty(t, r.Header.Get(pacer.IdempotencyKeyHeader), "creates carry an Idempotency-Key")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"lead-1","campaign_id":"c1","email":"a@example.com"}`))
	})
	return mux
}

func TestClientDecodesTypedAnswers(t *testing.T) {
	srv := httptest.NewServer(api(t))
	defer srv.Close()
	c := New(srv.URL+"/", "secret")
	defer c.Close()
	ctx := context.Background()

	list, err := c.ListCampaigns(ctx)
	require.NoError(t, err)
	assert.Equal(t, []Campaign{{ID: "c1", Name: "One", Status: "active"}}, list)

	_, err = c.GetCampaign(ctx, "nope")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "campaign not found", apiErr.Message)

	lead, err := c.CreateLead(ctx, Lead{CampaignID: "c1", Email: "a@example.com"})
	require.NoError(t, err)
	assert.Equal(t, "lead-1", lead.ID)
}

// TestClientReturnsRateLimitError: when the next slot is further away than
// the caller's deadline, the caller gets a *pacer.RateLimitError saying when
// to retry (whether pacer learned that from the first answer's headers or
// from a 429), not an *Error, and without waiting for the slot.
func TestClientReturnsRateLimitError(t *testing.T) {
	cfg := pacertest.PerEndpointWindows()
	cfg.Routes[0].Limits[0].Requests = 1 // GET /v1/analytics: 1 per minute
	srv := pacertest.NewServer(cfg)
	defer srv.Close()
	c := New(srv.URL, "k")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out any
	require.NoError(t, c.do(ctx, http.MethodGet, "/v1/analytics", nil, &out))
	err := c.do(ctx, http.MethodGet, "/v1/analytics", nil, &out)
	var rle *pacer.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.Greater(t, rle.RetryAfter, 10*time.Second, "the window frees in about a minute")
	assert.NoError(t, ctx.Err(), "returned at once, not at the deadline")
	assert.False(t, errors.As(err, new(*Error)))
}

func TestOptionsCoverTheDocumentedTable(t *testing.T) {
	assert.Len(t, Limits, 10)
	assert.Len(t, Options(), 3+len(Limits))
}
