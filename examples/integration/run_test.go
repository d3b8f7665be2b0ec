package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/pacerhq/pacer/examples/integration/campaigns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunJourney(t *testing.T) {
	var out bytes.Buffer
	s, err := Run(context.Background(), Config{Leads: 50, Campaigns: 3, Rounds: 2, Scale: 60}, &out)
	require.NoError(t, err)

	assert.True(t, s.Verified)
	assert.Equal(t, 50, s.Created, "every lead acknowledged")
	assert.Zero(t, s.Lost, "lost")
	assert.Zero(t, s.Duplicated, "duplicated")
	assert.Empty(t, s.Errors)
	assert.True(t, s.OK())
	assert.Equal(t, 3, s.Campaigns)
	assert.Equal(t, 2*2*3, s.Reads)

	imp := s.Impatient
	require.NotNil(t, imp.Err, "the impatient call meets a full window")
	assert.True(t, errors.Is(imp.Err, pacer.ErrRateLimited))
	assert.Positive(t, imp.RetryAfter)
	assert.LessOrEqual(t, imp.RetryAfter, time.Minute, "a slot frees within the window")
	assert.True(t, imp.RetriedOK, "retrying at RetryAt succeeds")

	assert.Zero(t, s.RateLimited, "route budgets that match the documentation never hit a 429")
	for _, r := range s.Routes {
		assert.LessOrEqual(t, r.MaxInWindow, limitOf(t, r.Name), r.Name)
	}
	create, ok := s.Route("POST /v1/leads/add_to_campaign")
	require.True(t, ok)
	assert.Positive(t, create.Waited, "creates beyond 20 per minute wait for a slot")
	get, ok := s.Route("GET /v1/campaigns/:id")
	require.True(t, ok)
	assert.Zero(t, get.Waited, "reads have their own budget: the creates never hold them up")
	assert.Contains(t, out.String(), "retry at")
	assert.Contains(t, out.String(), `msg="pacer: giving up"`, "pacer's slog logger is on")
}

func limitOf(t *testing.T, route string) int {
	t.Helper()
	if route == "*" {
		return 60
	}
	for _, l := range campaigns.Limits {
		if l.Route == route {
			return l.Limit
		}
	}
	t.Fatalf("no documented limit for %q", route)
	return 0
}

func TestRunRejectsRealAPIWithoutKey(t *testing.T) {
	_, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1"}, io.Discard)
	assert.Error(t, err)
}

func TestRouteOf(t *testing.T) {
	assert.Equal(t, "GET /v1/campaigns/:id", routeOf("127.0.0.1:80 key:0123456789abcdef GET /v1/campaigns/:id"))
	assert.Equal(t, "*", routeOf("127.0.0.1:80 key:0123456789abcdef *"))
	assert.Equal(t, "example.com", routeOf("example.com"))
}
