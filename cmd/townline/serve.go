package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"townline/internal/app"
	"townline/internal/server"
)

// The shutdown sequence and its budget. On SIGTERM or SIGINT, serve exits
// within 30 s, Kubernetes' default grace period (systemd waits 90 s):
//
//  1. /readyz fails at once, while everything else is still served for
//     readyGrace (2 s), so that a load balancer polling it turns away
//     before the listener closes.
//  2. The listeners close and the requests in flight finish, for up to
//     httpDrain (10 s); connections still busy then are cut.
//  3. The channels stop (the mailbox watcher), for up to channelsStop (3 s).
//  4. The job queue soft-stops: it takes no new job and lets the sends in
//     flight finish, for what is left of shutdownBudget (28 s): at least
//     13 s, nearly all of it when HTTP drains at once. A send still running
//     then ends with the process and is resolved after the restart.
//  5. The database closes (and the private cluster stops, when it is ours).
//
// A second signal ends the process at once.
const (
	readyGrace     = 2 * time.Second
	httpDrain      = 10 * time.Second
	channelsStop   = 3 * time.Second
	shutdownBudget = 28 * time.Second
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
	if err := e.LoadSamplePlaces(ctx, c); err != nil {
		return err
	}
	// The job queue and the channels run in a context no signal cancels
	// (River would cancel the sends in flight with it): the shutdown
	// sequence stops them, in order.
	running := context.WithoutCancel(ctx)
	if err := c.Start(running); err != nil {
		return err
	}
	opts, err := ch.Start(running, c, e)
	if err != nil {
		return err
	}

	s := server.New(c, opts)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srvs, lns := []*http.Server{s.HTTPServer(s)}, []net.Listener{ln}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return err
		}
		srvs, lns = append(srvs, s.HTTPServer(s.Metrics())), append(lns, mln)
		e.Log.Info("metrics on a listener of their own", "addr", mln.Addr().String())
	}
	errc := make(chan error, len(srvs))
	for i, srv := range srvs {
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	e.Log.Info("townline is serving", "city", e.City.Name, "addr", ln.Addr().String(), "public_url", cfg.PublicURL)

	select {
	case err = <-errc:
		e.Log.Error("a listener failed; shutting down", "err", err)
	case <-ctx.Done():
	}
	stop() // a second signal ends the process at once
	e.Log.Info("shutting down", "budget", shutdownBudget)
	shutdown(e.Log, shutdownBudget, []step{
		{"/readyz fails; still serving", readyGrace, func(ctx context.Context) error {
			s.Drain()
			<-ctx.Done()
			return nil
		}},
		{"listeners closed; HTTP requests draining", httpDrain, func(ctx context.Context) error {
			var wg sync.WaitGroup
			errs := make([]error, len(srvs))
			for i, srv := range srvs {
				wg.Go(func() {
					if errs[i] = srv.Shutdown(ctx); errs[i] != nil {
						srv.Close()
					}
				})
			}
			wg.Wait()
			return errors.Join(errs...)
		}},
		{"channels stopping", channelsStop, ch.Stop},
		{"job queue stopping; sends in flight finish", 0, c.Stop},
	})
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// step is one step of the shutdown sequence.
type step struct {
	name string
	// within is the step's share of the budget; 0 gives it what is left.
	within time.Duration
	// run returns when the step is done, or soon after ctx ends.
	run func(ctx context.Context) error
}

// shutdown runs steps in order, all within budget, logging each.
func shutdown(log *slog.Logger, budget time.Duration, steps []step) {
	start := time.Now()
	all, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	for _, st := range steps {
		ctx, cancel := all, context.CancelFunc(func() {})
		if st.within > 0 {
			ctx, cancel = context.WithTimeout(all, st.within)
		}
		stepStart := time.Now()
		log.Info("shutdown: "+st.name, "within", remaining(ctx))
		if err := st.run(ctx); err != nil {
			log.Warn("shutdown: "+st.name+": not done in time; going on", "err", err)
		}
		log.Info("shutdown: "+st.name+": done", "took", time.Since(stepStart).Round(time.Millisecond))
		cancel()
	}
	log.Info("shutdown complete", "took", time.Since(start).Round(time.Millisecond))
}

func remaining(ctx context.Context) time.Duration {
	d, _ := ctx.Deadline()
	return time.Until(d).Round(100 * time.Millisecond)
}
