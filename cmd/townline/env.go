package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/core"
	"townline/internal/config"
	"townline/internal/localpg"
	"townline/migrations"
)

// env is what every command works in: the configuration, a logger, the
// database, and the city.
type env struct {
	cfg     *config.Config
	log     *slog.Logger
	pool    *pgxpool.Pool
	cluster *localpg.Cluster // the private cluster, when DATABASE_URL is empty
	city    *core.City
}

// parse parses a command's flags, with the shared settings registered too.
func parse(fs *flag.FlagSet, args []string) (*config.Config, error) {
	flags, err := config.Register(fs)
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return flags.Config()
}

// open connects to the database (starting the private cluster when no
// DATABASE_URL is given) and loads the city file.
func open(ctx context.Context, cfg *config.Config) (*env, error) {
	e := &env{cfg: cfg, log: cfg.Logger()}
	slog.SetDefault(e.log)
	city, err := core.ReadCity(cfg.City)
	if err != nil {
		return nil, err
	}
	e.city = city
	url := cfg.DatabaseURL
	if url == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.Data, "pg"))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		e.cluster, err = localpg.Start(ctx, dir, e.log)
		if err != nil {
			return nil, fmt.Errorf("start the private PostgreSQL (set DATABASE_URL to use another): %w", err)
		}
		url = e.cluster.URL("townline")
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = 32
	e.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.pool.Ping(pingCtx); err != nil {
		e.close()
		return nil, fmt.Errorf("cannot reach the database: %w", err)
	}
	return e, nil
}

// ready makes sure the schema is current: the private cluster is migrated
// on its own; another database only when asked to.
func (e *env) ready(ctx context.Context, migrate bool) error {
	if migrate || e.cluster != nil {
		return migrations.Apply(ctx, e.pool, e.log)
	}
	return migrations.Check(ctx, e.pool)
}

// core builds the domain service on the database.
func (e *env) core(ctx context.Context, workers int, senders map[core.Channel]core.Sender, fetchers map[core.Channel]core.MediaFetcher) (*core.Core, error) {
	return core.New(ctx, e.pool, core.Options{
		City:      e.city,
		PublicURL: e.cfg.PublicURL,
		DataDir:   e.cfg.Data,
		MaxUpload: e.cfg.MaxUpload,
		Senders:   senders,
		Fetchers:  fetchers,
		Workers:   workers,
		Logger:    e.log,
	})
}

func (e *env) close() {
	if e.pool != nil {
		e.pool.Close()
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			e.log.Error("stop the private PostgreSQL", "err", err)
		}
	}
}
