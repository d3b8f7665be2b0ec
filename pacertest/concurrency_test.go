package pacertest_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pacerhq/pacer/pacertest"
)

// However requests interleave, the limiter never lets more than Requests
// into one window, and every request is accounted for.
func TestConcurrentClientsNeverExceedTheLimit(t *testing.T) {
	srv := pacertest.NewServer(pacertest.Config{
		Limits: []pacertest.Limit{
			{Requests: 10, Window: time.Second, Name: "sliding"},
			{Requests: 15, Window: 2 * time.Second, Kind: pacertest.Fixed, Scope: pacertest.Global, Name: "fixed"},
		},
		Headers: pacertest.IETF,
		Clock:   pacertest.NewScaledClock(100), // a window per 10 ms
	})
	defer srv.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b"}[w%2]
			for range 100 {
				req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
				req.Header.Set("X-API-Key", key)
				resp, err := srv.Client().Do(req)
				if !assert.NoError(t, err) {
					return
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	ev := srv.Evidence()
	require.Equal(t, 400, ev.Accepted+ev.Rejected, "%v", ev)
	assert.GreaterOrEqual(t, ev.Accepted, 15)
	assert.LessOrEqual(t, ev.MaxInWindow("sliding"), 10, "%v", ev)
	assert.LessOrEqual(t, ev.MaxInWindow("fixed"), 15, "%v", ev)
	n := 0
	for _, b := range ev.Series {
		n += b.Accepted + b.Rejected
	}
	assert.Equal(t, 400, n)
}

func TestEvidenceString(t *testing.T) {
	srv, _ := start(t, pacertest.Config{Limits: []pacertest.Limit{{Requests: 1, Window: time.Minute, Name: "l"}}})
	statuses(t, srv, 2, "/x", "k")
	assert.Equal(t, "accepted=1 rejected=1 failed=0 failedOpen=0 dropped=0 created=0 createdTwice=0\n"+
		"  l[k]: max 1 in one sliding window (limit 1)", srv.Evidence().String())
}
