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

	e, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.ready(ctx, *migrate); err != nil {
		return err
	}
	ch, err := e.channels(ctx)
	if err != nil {
		return err
	}
	c, err := e.core(ctx, 16, ch.senders, ch.fetchers)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	opts, err := ch.start(ctx, c, e)
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
	e.log.Info("townline is serving", "city", e.city.Name, "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err = <-errc:
	case <-ctx.Done():
		e.log.Info("shutting down")
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
