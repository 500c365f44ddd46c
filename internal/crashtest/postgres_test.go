package crashtest_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/internal/localpg"
)

// PostgreSQL stopped and started again under load: the server answers
// 503 while it is gone, never another 5xx, and afterwards nothing it
// accepted is lost, nothing is sent twice and nothing is left unsent.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	cluster := startCluster(t, dir)
	// The server reaches the database through a forwarder that keeps its
	// address when the restarted cluster comes up on another port.
	fwd := newForwarder(t, cluster.Port())
	db := clusterPool(t, cluster)
	h := newHarness(t, fwd.url(cluster.URL("townline")), db)
	// Sends take a while at Twilio, so that some are answered while
	// PostgreSQL is down and their outcome waits for it.
	h.fake.SetSendDelay(50*time.Millisecond, 50*time.Millisecond)
	h.start()
	l := h.startLoad(texters, filers)

	l.await(loadAnswers, "200", "201")
	taken, untaken := h.waitSends()
	l.setPhase("outage")
	if err := cluster.Stop(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	t.Logf("PostgreSQL stopped; sends in flight: %d taken by Twilio, %d not yet", taken, untaken)
	l.await(loadAnswers, "503", "error") // the senders met the database gone
	cluster = startCluster(t, dir)
	fwd.setTarget(cluster.Port())
	h.db = clusterPool(t, cluster)
	l.setPhase("after")
	t.Log("PostgreSQL started again")
	l.await(loadAnswers, "200", "201")
	l.halt()
	t.Log(l.summary())

	l.mu.Lock()
	outage503 := l.answers["outage sms 503"] + l.answers["outage open311 503"]
	unanswered := l.answers["outage sms error"] + l.answers["outage open311 error"]
	recovered := l.answers["after sms 200"] + l.answers["after open311 200"]
	l.mu.Unlock()
	if outage503 == 0 {
		t.Error("no request was answered 503 while PostgreSQL was down")
	}
	if unanswered > 0 {
		t.Errorf("%d requests went unanswered while PostgreSQL was down, want 503s", unanswered)
	}
	if recovered == 0 {
		t.Error("no request was accepted once PostgreSQL was back")
	}

	h.settle()
	h.check(l)
	h.resend(l)
}

// clusterDir returns a fresh directory the postgres system user can reach
// when the tests run as root (t.TempDir creates 0700 directories).
func clusterDir(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, "pg")
}

// startCluster starts the private cluster in dir, creating it the first
// time. fsync is off: the cluster is stopped cleanly, which writes
// everything out, and only a crash of the machine would lose data.
func startCluster(t *testing.T, dir string) *localpg.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localpg.Start(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)), "fsync=off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// clusterPool is the test's own connection to the cluster's database.
func clusterPool(t *testing.T, c *localpg.Cluster) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), c.URL("townline"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// forwarder passes TCP connections on to the cluster's current port.
type forwarder struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
}

func newForwarder(t *testing.T, port int) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln}
	f.setTarget(port)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.pass(c)
		}
	}()
	return f
}

func (f *forwarder) setTarget(port int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.target = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// pass copies between c and the cluster until either side closes; with
// the cluster down it closes c at once, as a refused connection.
func (f *forwarder) pass(c net.Conn) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// url is dbURL with the forwarder's address as its host.
func (f *forwarder) url(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		panic("not a PostgreSQL URL: " + dbURL)
	}
	u.Host = f.ln.Addr().String()
	return u.String()
}
