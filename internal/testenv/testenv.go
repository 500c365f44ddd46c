// Package testenv gives tests a real PostgreSQL database of their own and a
// core on it. make test sets DATABASE_URL to a throwaway cluster; without
// it, tests that need the database fail: they never skip.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"townline/core"
	"townline/migrations"
)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Pool returns a pool on a new database with every migration applied,
// dropped when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := databaseURL(t)
	templateOnce.Do(func() { templateName, templateErr = makeTemplate(url) })
	if templateErr != nil {
		t.Fatalf("prepare the template database: %v", templateErr)
	}
	return newDatabase(t, url, "TEMPLATE "+templateName+" STRATEGY FILE_COPY")
}

// EmptyPool returns a pool on a new, empty database.
func EmptyPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newDatabase(t, databaseURL(t), "")
}

func databaseURL(t testing.TB) string {
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Fatal("DATABASE_URL is not set: run the tests with `make test`, which starts a throwaway PostgreSQL")
	}
	return u
}

// URL returns the connection URL of a pool's database (for a second pool
// or a proxy in front of it).
func URL(pool *pgxpool.Pool) string {
	c := pool.Config().ConnConfig
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, c.Password),
		Host: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), Path: "/" + c.Database, RawQuery: "sslmode=disable"}
	return u.String()
}

func newDatabase(t testing.TB, url, template string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", redact(url), err)
	}
	defer admin.Close(ctx)
	name := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s %s", name, template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return pool
}

// makeTemplate creates, once per schema version and across the test
// processes of one run, a migrated database to copy.
func makeTemplate(url string) (string, error) {
	ms, err := migrations.All()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		io.WriteString(h, m.Name+m.SQL)
	}
	name := "tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7311)"); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(7311)")
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return "", err
	}
	cfg.ConnConfig.Database = building
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	err = migrations.Apply(ctx, pool, slog.New(slog.DiscardHandler))
	pool.Close()
	if err != nil {
		return "", err
	}
	// Renamed only when complete, so a crash never leaves a half-made template.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", err
	}
	return name, nil
}

func redact(url string) string {
	if i := strings.Index(url, "@"); i > 0 {
		if j := strings.Index(url, "://"); j > 0 && j < i {
			return url[:j+3] + "…" + url[i:]
		}
	}
	return url
}

// Core returns a started core on a new database with the bundled Oroville
// city, a temporary data folder and fast retries. mods adjust the options.
func Core(t testing.TB, mods ...func(*core.Options)) *core.Core {
	t.Helper()
	return coreOn(t, Pool(t), mods...)
}

func coreOn(t testing.TB, pool *pgxpool.Pool, mods ...func(*core.Options)) *core.Core {
	t.Helper()
	city, err := core.ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	opts := core.Options{
		City:      city,
		PublicURL: "http://311.test",
		RetryBase: 10 * time.Millisecond,
		Workers:   4,
		Logger:    Logger(t),
	}
	for _, m := range mods {
		m(&opts)
	}
	ctx := context.Background()
	c, err := core.New(ctx, pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	return c
}

// APIKey returns a new Open311 API key on c.
func APIKey(t testing.TB, c *core.Core) string {
	t.Helper()
	key, err := c.AddAPIKey(context.Background(), "test client")
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Logger writes to the test's log, shown only when a test fails or with -v.
// Benchmarks log nothing: their output is the figures.
func Logger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// CoreOn is Core on an existing pool: a second instance, or a restart.
func CoreOn(t testing.TB, pool *pgxpool.Pool, mods ...func(*core.Options)) *core.Core {
	t.Helper()
	return coreOn(t, pool, mods...)
}
