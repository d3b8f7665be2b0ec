package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/internal/clocktest"
	"github.com/pacerhq/pacer/internal/route"
)

// named is an answer naming a limit of limit requests, remaining left
// until reset.
func named(limit, remaining int, reset time.Duration) Outcome {
	rl := RateLimit{Limit: limit, Remaining: remaining, Reset: clocktest.Epoch.Add(reset)}
	return Outcome{Status: 200, RateLimit: rl, HasRateLimit: true}
}

func onRoute(method, path string) Ticket {
	return Ticket{Scope: "api", Route: route.Key(method, path)}
}

var (
	tight    = onRoute("POST", "/v1/leads/add_to_campaign")
	generous = onRoute("GET", "/v1/campaigns/7")
	other    = onRoute("GET", "/v1/analytics")
)

func TestPoolsPerRoute(t *testing.T) {
	// Two endpoints of one scope name different limits: each route learns
	// its pool, and the tight one running out holds back only itself.
	h := newHarness(t)
	h.run(tight, []step{
		{at: t0, grant: "t1"},
		{at: t0, answer: "t1", o: named(20, 5, t9)}, // 5 more of 20 until t9
	})
	h.run(generous, []step{
		{at: t0, grant: "g1"},                          // unseen: counts against the tight pool too, until answered
		{at: t0, deny: true, next: afterAnswer},        // and probes, one at a time
		{at: t0, answer: "g1", o: named(120, 100, t9)}, // its own pool: it did not draw from the tight one
	})
	h.run(tight, []step{
		{at: t1, grant: "t2"}, {at: t1, grant: "t3"}, {at: t1, grant: "t4"}, {at: t1, grant: "t5"}, {at: t1, grant: "t6"},
		{at: t1, deny: true, next: t9}, // the 5 said
	})
	steps := []step{}
	for i := range 10 {
		steps = append(steps, step{at: t2, grant: string(rune('a' + i))})
	}
	h.run(generous, steps) // not held back by the tight pool
	h.run(tight, []step{{at: t2, deny: true, next: t9}})
	h.run(onRoute("GET", "/v1/campaigns/8"), []step{{at: t2, grant: "same route"}}) // ids fold into one route
}

func TestPoolsUnseenRouteWaitsForEveryPool(t *testing.T) {
	// A route no answer has named a limit for might draw from any pool:
	// it counts against all of them and waits for all of them.
	h := newHarness(t)
	h.run(tight, []step{
		{at: t0, grant: "t1"},
		{at: t0, answer: "t1", o: named(20, 0, t9)},
		{at: t0, deny: true, next: t9},
	})
	h.run(other, []step{
		{at: t1, deny: true, next: t9},
		{at: t9, grant: "o1"},
		{at: t9, deny: true, next: afterAnswer},
		{at: t9, answer: "o1", o: named(60, 59, t9+time.Minute)},
		{at: t9, grant: "o2"},
		{at: t9, grant: "o3"},
	})
}

func TestPoolsMixedRouteCountsInBoth(t *testing.T) {
	// A route under two limits at once (100 a minute and 1000 an hour):
	// the server names the most restrictive, so its answers name both in
	// turn. Once it has named two, every request on it counts against both
	// and waits for both.
	h := newHarness(t)
	h.run(other, []step{
		{at: t0, grant: "a"},
		{at: t0, answer: "a", o: named(100, 50, t5)},
		{at: t1, grant: "b"},
		{at: t1, grant: "c"},
		{at: t1, answer: "b", o: named(1000, 3, t9)}, // 3 more this hour, c among them
		{at: t1, grant: "d"},
		{at: t1, grant: "e"},
		{at: t1, deny: true, next: t9},
		{at: t2, answer: "c", o: named(100, 47, t5)},
		{at: t2, deny: true, next: t9}, // the hour still binds
	})
}

func TestPoolsNoHeadOfLineBlocking(t *testing.T) {
	// A request of the tight pool queues for its reset; one of the
	// generous pool, arriving later, does not wait behind it.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	h.run(tight, []step{
		{at: t0, grant: "t1"},
		{at: t0, answer: "t1", o: named(20, 3, time.Hour)},
	})
	h.run(generous, []step{
		{at: t0, grant: "g1"},
		{at: t0, answer: "g1", o: named(120, 100, time.Hour)},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var queued []*pending
	for i := range 4 { // 3 fit; the fourth waits
		queued = append(queued, h.start(ctx, string(rune('a'+i)), tight))
	}
	p := h.start(ctx, "generous", generous)
	sl, err := p.result(t)
	require.NoError(t, err, "granted at once")
	assert.False(t, sl.Waited)
	assert.Equal(t, 1, h.queued("api"), "the tight request still waits")
	cancel()
	for _, q := range queued {
		q.result(t) //nolint:errcheck // granted or cancelled, either is fine
	}
}

func TestPoolsShareTheScopeBudgetInQueueOrder(t *testing.T) {
	// Two pools, one configured budget for the scope: waiters of different
	// pools are served in queue order (priority, then arrival) for what
	// they share.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	budget := []Budget{{Limit: 1, Window: time.Second}}
	with := func(tk Ticket, prio int) Ticket { tk.Budgets, tk.Priority = budget, prio; return tk }
	h.run(with(tight, 0), []step{{at: t0, grant: "t"}, {at: t0, answer: "t", o: named(20, 19, time.Hour)}})
	h.run(with(generous, 0), []step{{at: t1, grant: "g"}, {at: t1, answer: "g", o: named(120, 119, time.Hour)}})
	ctx := context.Background()
	a := h.start(ctx, "tight first", with(tight, 0))
	b := h.start(ctx, "generous second", with(generous, 0))
	c := h.start(ctx, "tight third", with(tight, 0))
	d := h.start(ctx, "generous interactive", with(generous, 10))
	assert.Equal(t, []string{"generous interactive", "tight first", "generous second", "tight third"},
		h.grantOrder(time.Second, a, b, c, d))
}

func TestPoolsNamedByTheServer(t *testing.T) {
	// GitHub names its pools (X-RateLimit-Resource): core and search may
	// name the same Limit and still be apart. Search running out holds back
	// search only.
	pool := func(name string, remaining int) Outcome {
		o := named(30, remaining, t9)
		o.RateLimit.Pool = name
		return o
	}
	core, search := onRoute("GET", "/repos/a/b"), onRoute("GET", "/search/code")
	h := newHarness(t)
	h.run(core, []step{{at: t0, grant: "c1"}, {at: t0, answer: "c1", o: pool("core", 20)}})
	h.run(search, []step{
		{at: t0, grant: "s1"},
		{at: t0, answer: "s1", o: pool("search", 0)}, // search is spent until t9
	})
	h.run(search, []step{{at: t1, deny: true, next: t9}})
	h.run(core, []step{{at: t1, grant: "c2"}, {at: t1, grant: "c3"}}) // same Limit, its own pool
}
