package demo

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"townline/core"
	"townline/internal/app"
	"townline/internal/config"
	"townline/internal/server"
)

// townline is the server the demo's phone and mail client talk to,
// assembled as serve assembles it.
type townline struct {
	city         string // the city's name
	core         *core.Core
	checks       []server.Check // readiness: the mailbox watcher's connection
	env          *app.Env
	srv          *http.Server
	stopWatching context.CancelFunc
}

// startTownline starts townline on ln with its schema migrated and fewer
// workers than serve, for one person. It logs to logger once its database
// is open: until then only cfg's logger is there.
func startTownline(ctx context.Context, cfg *config.Config, ln net.Listener, logger *slog.Logger) (_ *townline, err error) {
	e, err := app.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// The mailbox watcher has a context of its own: it must stop before
	// the demo's mailbox closes under it.
	watching, stopWatching := context.WithCancel(ctx)
	t := &townline{city: e.City.Name, env: e, stopWatching: stopWatching}
	defer func() {
		if err != nil {
			t.stop()
		}
	}()
	e.Log = logger
	slog.SetDefault(logger)
	if err := e.Ready(ctx, true); err != nil {
		return nil, err
	}
	ch, err := e.Channels(ctx)
	if err != nil {
		return nil, err
	}
	c, err := e.Core(ctx, 4, ch.Senders, ch.Fetchers)
	if err != nil {
		return nil, err
	}
	if err := e.LoadSamplePlaces(ctx, c); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	t.core = c
	opts, err := ch.Start(watching, c, e)
	if err != nil {
		return nil, err
	}
	t.checks = opts.Checks
	s := server.New(c, opts)
	t.srv = s.HTTPServer(s)
	go t.srv.Serve(ln)
	return t, nil
}

// stop stops what startTownline started, the mailbox watcher first.
func (t *townline) stop() {
	t.stopWatching()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if t.srv != nil {
		t.srv.Shutdown(shutdown)
	}
	if t.core != nil {
		t.core.Stop(shutdown)
	}
	t.env.Close()
}

// waitReady waits a little for the readiness checks (the mailbox
// watcher's connection), and says which is not ready.
func waitReady(checks []server.Check, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var err error
		for _, check := range checks {
			if err = check.Ready(); err != nil {
				break
			}
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
