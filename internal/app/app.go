// Package app assembles townline from its configuration: the database,
// the city, the channels and core. serve, the administration commands and
// the demo all start townline this one way.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/cities"
	"townline/core"
	"townline/internal/config"
	"townline/internal/geocoder"
	"townline/internal/localpg"
	"townline/migrations"
)

// Env is what every command works in: the configuration, a logger, the
// database, and the city.
type Env struct {
	cfg     *config.Config
	Log     *slog.Logger
	pool    *pgxpool.Pool
	cluster *localpg.Cluster // the private cluster, when DATABASE_URL is empty
	url     string           // the database's connection URL
	City    *core.City
}

// Open connects to the database (starting the private cluster when no
// DATABASE_URL is given) and loads the city file.
func Open(ctx context.Context, cfg *config.Config) (*Env, error) {
	e := &Env{cfg: cfg, Log: cfg.Logger()}
	slog.SetDefault(e.Log)
	city, err := core.ReadCity(cfg.City)
	if err != nil {
		return nil, err
	}
	e.City = city
	url := cfg.DatabaseURL
	if url == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.Data, "pg"))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		e.cluster, err = localpg.Start(ctx, dir, e.Log)
		if err != nil {
			return nil, fmt.Errorf("start the private PostgreSQL (set DATABASE_URL to use another): %w", err)
		}
		url = e.cluster.URL("townline")
	}
	e.url = url
	pcfg, err := PoolConfig(url)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	e.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.pool.Ping(pingCtx); err != nil {
		e.Close()
		return nil, fmt.Errorf("cannot reach the database: %w", err)
	}
	return e, nil
}

// Ready makes sure the schema is current: the private cluster is migrated
// on its own; another database only when asked to.
func (e *Env) Ready(ctx context.Context, migrate bool) error {
	if migrate || e.cluster != nil {
		return migrations.Apply(ctx, e.pool, e.Log)
	}
	return migrations.Check(ctx, e.pool)
}

// Core builds the domain service on the database.
func (e *Env) Core(ctx context.Context, workers int, senders map[core.Channel]core.Sender, fetchers map[core.Channel]core.MediaFetcher) (*core.Core, error) {
	var geo core.Geocoder
	if e.cfg.GeocoderURL != "" {
		g, err := geocoder.New(e.cfg.GeocoderURL, e.City.Name, e.City.State, &http.Client{})
		if err != nil {
			return nil, err
		}
		geo = g
	}
	// Photos an earlier version kept on disk are not served from there.
	// Only a hint: a folder that cannot be read says nothing.
	if n, err := core.BlobsLeft(e.BlobsDir()); err == nil && n > 0 {
		e.Log.Warn("photos and files are still in the data folder, which is no longer read: run townline blobs migrate",
			"count", n, "folder", e.BlobsDir())
	}
	return core.New(ctx, e.pool, core.Options{
		Geocoder:    geo,
		City:        e.City,
		PublicURL:   e.cfg.PublicURL,
		MaxUpload:   e.cfg.MaxUpload,
		Blobs:       e.cfg.Blobs,
		S3:          core.S3{Endpoint: e.cfg.S3Endpoint, AccessKey: e.cfg.S3AccessKey, SecretKey: e.cfg.S3SecretKey},
		RescueAfter: e.cfg.RescueAfter,
		TextRate:    e.cfg.TextRate,
		MailRate:    e.cfg.MailRate,
		Senders:     senders,
		Fetchers:    fetchers,
		Workers:     workers,
		Logger:      e.Log,
	})
}

// LoadSamplePlaces loads the bundled example's sample places when the
// city is the bundled example, so that it places addresses out of the
// box; a city of its own loads its own layers (`townline places load`).
func (e *Env) LoadSamplePlaces(ctx context.Context, c *core.Core) error {
	if e.cfg.City != "" {
		return nil
	}
	_, err := c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces)
	return err
}

// URL is the database's connection URL (for pg_dump and pg_restore).
func (e *Env) URL() string { return e.url }

// BlobsDir is where townline kept the photos and files it received
// before it kept them in the database: townline blobs migrate moves them.
func (e *Env) BlobsDir() string { return core.BlobsDir(e.cfg.Data) }

// BlobStore is where photos and files are kept: postgres, or
// s3://bucket/prefix.
func (e *Env) BlobStore() string { return e.cfg.Blobs }

// Empty reports whether the database holds no tables yet: a restore's
// target.
func (e *Env) Empty(ctx context.Context) (bool, error) {
	var n int
	err := e.pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&n)
	return n == 0, err
}

// Close closes the database and stops the private cluster.
func (e *Env) Close() {
	if e.pool != nil {
		e.pool.Close()
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			e.Log.Error("stop the private PostgreSQL", "err", err)
		}
	}
}

// PoolConfig is how townline connects to its database. JIT compilation is
// off: it is for long analytical queries, and costs every inbox query
// over a large table a second or more of compiling to save milliseconds.
func PoolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 32
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	return cfg, nil
}
