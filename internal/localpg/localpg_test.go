package localpg

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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

func startCluster(t *testing.T, dir string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	c, err := Start(ctx, dir, logger, "fsync=off", "synchronous_commit=off", "max_connections=200")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// psql runs sql against database db of c and returns its unaligned output.
func psql(t *testing.T, c *Cluster, db, sql string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bindir, "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql, c.URL(db))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestStartStopRestart(t *testing.T) {
	dir := clusterDir(t)
	c := startCluster(t, dir)

	if got := psql(t, c, "townline", "select 1"); got != "1" {
		t.Fatalf("select 1 = %q", got)
	}
	ctx := context.Background()
	for range 2 {
		if err := c.CreateDatabase(ctx, "second db"); err != nil {
			t.Fatal(err)
		}
	}
	psql(t, c, "second db", "create table kept (x int); insert into kept values (42)")

	if fi, err := os.Stat(filepath.Join(dir, "password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v, %v", fi, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c2 := startCluster(t, dir)
	if got := psql(t, c2, "second db", "select x from kept"); got != "42" {
		t.Fatalf("after restart, select x from kept = %q, want 42", got)
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
}

// A second Start on a cluster that is already running shares the server
// and its Stop leaves it running.
func TestReuseRunning(t *testing.T) {
	dir := clusterDir(t)
	c := startCluster(t, dir)
	c2 := startCluster(t, dir)
	if c2.Port() != c.Port() {
		t.Fatalf("second Start uses port %d, want the running server's %d", c2.Port(), c.Port())
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := psql(t, c, "townline", "select 1"); got != "1" {
		t.Fatalf("server gone after Stop of the reusing Cluster: %q", got)
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Setenv("PG_BINDIR", t.TempDir())
	_, err := Start(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	want := `PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them with "apt-get install postgresql" (Debian package postgresql)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatal("error is not ErrNotInstalled")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{{"9.6", "15", true}, {"15", "16", true}, {"16", "9.6", false}, {"10", "9.6", false}} {
		if got := compareVersions(tc.a, tc.b) < 0; got != tc.less {
			t.Errorf("compareVersions(%s, %s) < 0 = %v", tc.a, tc.b, got)
		}
	}
}

// testWriter sends slog output to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
