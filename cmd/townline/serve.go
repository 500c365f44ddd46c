package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"townline/internal/app"
	"townline/internal/server"
)

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	migrate := fs.Bool("migrate", false, "apply pending migrations before serving (always done for the private cluster)")
	cfg, err := parse(fs, args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	e, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Ready(ctx, *migrate); err != nil {
		return err
	}
	ch, err := e.Channels(ctx)
	if err != nil {
		return err
	}
	c, err := e.Core(ctx, 16, ch.Senders, ch.Fetchers)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	opts, err := ch.Start(ctx, c, e)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           server.New(c, opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	e.Log.Info("townline is serving", "city", e.City.Name, "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err = <-errc:
	case <-ctx.Done():
		e.Log.Info("shutting down")
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	c.Stop(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
