package redisbudget

import (
	"bufio"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisServer is a real redis-server on a loopback port, private to a test:
// no persistence, its files in a temporary directory.
type redisServer struct {
	port  int
	dir   string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	extra []string      // more redis-server arguments
}

// startRedis starts a redis-server for t and stops it when t ends. When the
// binary is missing the test is skipped, loudly, unless PACER_REQUIRE_REDIS=1
// is set, in which case it fails.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	return startRedisWith(t)
}

// startRedisWith is startRedis with extra redis-server arguments.
func startRedisWith(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	bin := requireRedisBinary(t)
	r := &redisServer{dir: t.TempDir(), extra: extra}
	var err error
	for range 5 { // a freed port can be taken again before redis binds it
		if r.port, err = freePort(r.cluster()); err == nil {
			if err = r.start(bin); err == nil {
				break
			}
		}
	}
	require.NoError(t, err, "starting redis-server")
	t.Cleanup(r.kill)
	return r
}

func requireRedisBinary(t testing.TB) string {
	t.Helper()
	return requireBinary(t, "redis-server", "redis-server")
}

// requireBinary returns the path of name, found in PATH. When it is missing
// the test is skipped, loudly, unless PACER_REQUIRE_REDIS=1 is set, in which
// case it fails; pkg is the apt package that installs it.
func requireBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	msg := name + " not found in PATH: Redis tests NOT RUN. Install it " +
		"(apt-get update && apt-get install -y " + pkg + "); set PACER_REQUIRE_REDIS=1 to make this a failure"
	if os.Getenv("PACER_REQUIRE_REDIS") == "1" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, "WARNING:", msg)
	t.Skip(msg)
	return ""
}

// freePort returns a loopback port nobody listens on. For a cluster node it
// also needs port+10000 (the cluster bus: redis-server before 7.0 has no
// cluster-port setting), so it picks from 20000-55534 until both are free.
func freePort(bus bool) (int, error) {
	if !bus {
		return listenFree(0)
	}
	for range 100 {
		p := 20000 + mrand.IntN(35535)
		if _, err := listenFree(p); err != nil {
			continue
		}
		if _, err := listenFree(p + 10000); err == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port pair (p, p+10000) found")
}

// listenFree listens on 127.0.0.1:port (0: any) and closes it at once,
// returning the port.
func listenFree(port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cluster reports whether r runs as a cluster node.
func (r *redisServer) cluster() bool { return slices.Contains(r.extra, "--cluster-enabled") }

// start runs redis-server on r.port and waits until it answers PING.
func (r *redisServer) start(bin string) error {
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir}
	r.cmd = exec.Command(bin, append(args, r.extra...)...)
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(r.cmd, r.done)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("redis-server on port %d exited at start", r.port)
		default:
		}
		if ping(r.addr()) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.kill()
	return fmt.Errorf("redis-server on port %d did not answer PING", r.port)
}

// restart starts the server again on the same port after kill.
func (r *redisServer) restart(t testing.TB) {
	t.Helper()
	require.NoError(t, r.start(requireRedisBinary(t)))
}

// kill stops the server at once (SIGKILL) and waits for it to exit.
func (r *redisServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

func (r *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// client returns a go-redis client for the server, closed when t ends.
func (r *redisServer) client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  r.addr(),
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		MaxRetries:            -1,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ping reports whether a Redis server at addr answers PING.
func ping(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
