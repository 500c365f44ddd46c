// Package server assembles townline's HTTP surface: the channels' routes,
// health and readiness, and Prometheus metrics.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"townline/channels/open311"
	"townline/channels/web"
	"townline/core"
	"townline/migrations"
)

// Options configures the HTTP surface.
type Options struct {
	Logger   *slog.Logger
	MaxBody  int64     // the largest request body, photo included
	Channels []Channel // the configured channels' webhooks (SMS, voice)
	// Checks are further readiness conditions, such as a reachable
	// mailbox; each returns nil when ready.
	Checks []func() error
}

// Channel is a channel adapter with HTTP endpoints of its own.
type Channel interface {
	Register(mux *http.ServeMux)
}

// New returns the handler for every path townline serves.
func New(c *core.Core, opts Options) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(c.Metrics().Collectors()...)
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "townline_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	reg.MustRegister(latency)

	mux := http.NewServeMux()
	open311.New(c, opts.Logger, opts.MaxBody).Register(mux)
	web.New(c, opts.Logger).Register(mux)
	for _, ch := range opts.Channels {
		ch.Register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		err := Ready(r.Context(), c)
		for _, check := range opts.Checks {
			if err == nil {
				err = check()
			}
		}
		if err != nil {
			opts.Logger.Warn("not ready", "err", err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return instrument(mux, latency, opts.Logger)
}

// Ready reports whether the database answers and its schema is current.
func Ready(ctx context.Context, c *core.Core) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Pool().Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return migrations.Check(ctx, c.Pool())
}

// instrument times every request by its route pattern (never the raw
// path, which would explode the label set) and turns a panic into a 500.
func instrument(mux *http.ServeMux, latency *prometheus.HistogramVec, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				if !rec.wrote {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			pattern := r.Pattern // set by the mux as it routes
			if pattern == "" {
				pattern = "unmatched"
			}
			latency.WithLabelValues(pattern, r.Method, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
			log.Debug("http", "method", r.Method, "path", r.URL.Path, "code", rec.code, "took", time.Since(start))
		}()
		mux.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
