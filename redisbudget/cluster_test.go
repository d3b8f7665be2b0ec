package redisbudget

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacerhq/pacer"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisCluster is a three-master Redis Cluster of real redis-server
// processes on loopback ports, private to a test.
type redisCluster struct {
	nodes []*redisServer
}

// startCluster starts three cluster-enabled servers, joins them with
// redis-cli --cluster create (no replicas) and waits until every node says
// cluster_state:ok. Like startRedis it skips, or fails with
// PACER_REQUIRE_REDIS=1, when the binaries are missing. It gives up after
// 20 s.
func startCluster(t *testing.T) *redisCluster {
	t.Helper()
	requireRedisBinary(t)
	cli := requireBinary(t, "redis-cli", "redis-tools")
	c := &redisCluster{}
	args := []string{"--cluster", "create"}
	for range 3 {
		n := startRedisWith(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "15000")
		c.nodes = append(c.nodes, n)
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	require.NoError(t, err, "redis-cli --cluster create: %s", out)
	for _, n := range c.nodes {
		for {
			info, err := redis.NewClient(&redis.Options{Addr: n.addr()}).ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			require.NoError(t, ctx.Err(), "cluster_state:ok on %s: %s %v", n.addr(), info, err)
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// client returns a Cluster client for c, closed when t ends.
func (c *redisCluster) client(t *testing.T) *redis.ClusterClient {
	t.Helper()
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.addr())
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, ContextTimeoutEnabled: true, DialTimeout: time.Second, MaxRetries: -1,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// scopesOnNodes returns n scope names whose keys live on at least two
// different nodes of the cluster.
func scopesOnNodes(t *testing.T, rdb *redis.ClusterClient, n int) []string {
	t.Helper()
	ctx := context.Background()
	var names []string
	masters := map[string]bool{}
	for i := 0; len(names) < n; i++ {
		name := "api-" + strconv.Itoa(i) + ".example.com"
		node, err := rdb.MasterForKey(ctx, keysOf(DefaultPrefix, name).learned())
		require.NoError(t, err)
		masters[node.String()] = true
		names = append(names, name)
	}
	require.GreaterOrEqual(t, len(masters), 2, "scopes on several nodes: %v", masters)
	return names
}

// TestCluster runs the cluster scenarios on one three-master cluster (it
// takes seconds to form).
func TestCluster(t *testing.T) {
	c := startCluster(t)
	t.Run("usage", func(t *testing.T) { testClusterUsage(t, c) })
	t.Run("redirect", func(t *testing.T) { testRedirectIsRefusal(t, c) })
	t.Run("slot", func(t *testing.T) { testSlotMatchesRedis(t, c) })
	t.Run("node stuck", func(t *testing.T) { testNodeStuck(t, c) })
}

// The store computes a scope's hash slot as Redis does.
func testSlotMatchesRedis(t *testing.T, c *redisCluster) {
	rdb := c.client(t)
	for i := range 50 {
		k := keysOf(DefaultPrefix, "scope-"+strconv.Itoa(i))
		want, err := rdb.ClusterKeySlot(context.Background(), k.learned()).Result()
		require.NoError(t, err)
		require.EqualValues(t, want, k.slot(), "scope-%d", i)
	}
}

// A stuck node (SIGSTOP) costs only the scopes it serves: the first call
// fails closed within the bound, and then every scope of that node (whatever
// its slot) fails at once for the retry interval, while scopes on the other
// nodes keep being served, and Usage reports them.
//
// Before, health was one per store: the first timeout failed every scope for
// the retry interval.
func testNodeStuck(t *testing.T, c *redisCluster) {
	rdb := c.client(t)
	ctx := context.Background()
	s := New(rdb, WithTimeout(testTimeout), WithRetryInterval(time.Hour))
	nodeOf := func(scope string) *redisServer {
		m, err := rdb.MasterForKey(ctx, keysOf(DefaultPrefix, scope).learned())
		require.NoError(t, err)
		for _, n := range c.nodes {
			if n.addr() == m.Options().Addr {
				return n
			}
		}
		t.Fatalf("no node serves %s", scope)
		return nil
	}
	stuck := "stuck.example.com"
	var fine, neighbour string // on another node; on the stuck node, another slot
	for i := 0; fine == "" || neighbour == ""; i++ {
		name := "other-" + strconv.Itoa(i)
		switch {
		case nodeOf(name) != nodeOf(stuck):
			fine = name
		case keysOf(DefaultPrefix, name).slot() != keysOf(DefaultPrefix, stuck).slot():
			neighbour = name
		}
	}
	tk := func(scope string) pacer.Ticket { return ticket(scope, per(100, time.Minute)) }
	reserve(t, s, tk(stuck))
	reserve(t, s, tk(fine))

	n := nodeOf(stuck)
	require.NoError(t, n.cmd.Process.Signal(syscall.SIGSTOP))
	defer func() { require.NoError(t, n.cmd.Process.Signal(syscall.SIGCONT)) }()
	for _, what := range []string{"times out", "skipped"} {
		start := time.Now()
		_, err := s.Reserve(ctx, tk(stuck))
		require.Less(t, time.Since(start), callBound, what)
		require.ErrorIs(t, err, ErrUnavailable, what)
	}
	// Health is per node: a scope in another slot of the stuck node fails at
	// once (without a call: well within the timeout the first call paid).
	start := time.Now()
	_, err := s.Reserve(ctx, tk(neighbour))
	require.ErrorIs(t, err, ErrUnavailable)
	require.Less(t, time.Since(start), testTimeout/2, "the neighbour is skipped")
	for range 3 {
		start := time.Now()
		reserve(t, s, tk(fine))
		require.Less(t, time.Since(start), callBound)
	}
	start = time.Now()
	u := s.Usage()
	require.Less(t, time.Since(start), callBound, "Usage skips the stuck node")
	require.Len(t, u, 3)
	byScope := map[string]pacer.Usage{}
	for _, x := range u {
		byScope[x.Scope] = x
	}
	require.Equal(t, 4, byScope[fine].InWindow, "the scope on a healthy node is read")
	require.Zero(t, byScope[stuck].InWindow, "the stuck one reports its queue only")
}

// On a cluster, Usage reads scopes that live on different nodes, every
// 200 ms while the budget is in use, and never makes Reserve fail: a
// metrics read is per scope (no cross-slot call) and never marks Redis down.
//
// Before, one script read every scope: CROSSSLOT on a cluster, and the
// store then failed closed for WithRetryInterval.
func testClusterUsage(t *testing.T, c *redisCluster) {
	rdb := c.client(t)
	s := New(rdb, WithTimeout(time.Second))
	scopes := scopesOnNodes(t, rdb, 8)
	for i, name := range scopes {
		for range i + 1 {
			reserve(t, s, ticket(name, per(100, time.Minute)))
		}
	}
	var took []time.Duration
	for round := range 5 {
		start := time.Now()
		u := s.Usage()
		took = append(took, time.Since(start))
		require.Len(t, u, len(scopes))
		for i, name := range scopes {
			require.Equal(t, name, u[i].Scope)
			require.Equal(t, i+1, u[i].InWindow, "round %d, scope %s", round, name)
			require.Equal(t, i+1, u[i].InFlight, "round %d, scope %s", round, name)
		}
		// Reserve keeps working between metric reads.
		slot := reserve(t, s, ticket(scopes[round], per(100, time.Minute)))
		s.Observe(slot, pacer.Outcome{})
		time.Sleep(200 * time.Millisecond)
	}
	require.False(t, s.nodes.anyDown(), "Redis not marked down")
	slices.Sort(took)
	t.Logf("Usage of %d scopes on %d nodes, every 200 ms: median %v, slowest %v", len(scopes), len(c.nodes), took[len(took)/2], took[len(took)-1])
}

// A node that does not own a key answers MOVED: Redis ran nothing, and the
// store may send the call again within its bound (a Cluster client follows
// the redirect itself; a plain client aimed at one node does not).
func testRedirectIsRefusal(t *testing.T, c *redisCluster) {
	rdb := c.client(t)
	ctx := context.Background()
	key := keysOf(DefaultPrefix, "s").learned()
	owner, err := rdb.MasterForKey(ctx, key)
	require.NoError(t, err)
	var other *redisServer
	for _, n := range c.nodes {
		if n.addr() != owner.Options().Addr {
			other = n
		}
	}
	err = other.client(t).HGet(ctx, key, "x").Err()
	require.Error(t, err)
	require.True(t, refusedByCluster(err), "MOVED is a refusal: %v", err)
	require.False(t, refusedByCluster(redis.Nil))
	require.False(t, refusedByCluster(context.DeadlineExceeded))
}
