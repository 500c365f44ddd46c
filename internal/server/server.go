// Package server assembles townline's HTTP surface: the channels' routes,
// health and readiness, and Prometheus metrics, served with limits that
// keep slow and hostile clients from holding the server.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"townline/channels/open311"
	"townline/channels/staff"
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
	// mailbox.
	Checks []Check
	// MetricsApart keeps /metrics off the main handler: it is served by
	// Metrics, on a listener of its own (TOWNLINE_METRICS_ADDR).
	MetricsApart bool
	// Limits bound each connection; zero fields take DefaultLimits'.
	Limits Limits
	// MapTiles is the staff maps' tile URL template; empty: no tiles.
	MapTiles string
	// TrustedProxies are the city's load balancers: a request from one of
	// them comes from the client X-Forwarded-For names.
	TrustedProxies []netip.Prefix
}

// Check is a readiness condition.
type Check struct {
	// Failing is what /readyz says when Ready fails, for anyone to read:
	// "mailbox unreachable", never the error, which names hosts and users.
	Failing string
	Ready   func() error
}

// Channel is a channel adapter with HTTP endpoints of its own.
type Channel interface {
	Register(mux *http.ServeMux)
}

// Limits bound how long and how much one client may hold a connection.
//
// Write runs from the end of a request's headers. A request with a body
// gets Read+Write instead, so that the answer to a slow upload still has
// Write to go out. A handler that streams for longer (server-sent events)
// lifts its own deadlines with http.NewResponseController(w):
// SetWriteDeadline and SetReadDeadline (the read deadline also ends the
// request's context when it passes), and sends keep-alives of its own.
type Limits struct {
	// ReadHeader bounds the request line and headers, and the wait for
	// the first request on a new connection.
	ReadHeader time.Duration
	// Read bounds the whole request, body included.
	Read time.Duration
	// Write bounds the answer to a request without a body.
	Write time.Duration
	// Idle bounds the wait for the next request on a kept-alive connection.
	Idle time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

// DefaultLimits are the limits townline serves with.
var DefaultLimits = Limits{
	// Headers are a few hundred bytes: ten seconds is generous even on a
	// bad phone link, and a client trickling them is cut off.
	ReadHeader: 10 * time.Second,
	// Two minutes carry the largest photo (10 MB by default) at
	// 0.7 Mbit/s, a weak 4G or a decent 3G uplink; a slow-body client holds
	// a connection no longer than that.
	Read: 2 * time.Minute,
	// The largest listing (1,000 requests with extensions, 1–2 MB) reaches
	// a 1 Mbit/s client in about 16 s; a client that stops reading is cut
	// off after 30.
	Write: 30 * time.Second,
	// Longer than the keep-alive of common proxies in front (nginx and Go
	// keep upstream connections 60–90 s), so that the proxy, not townline,
	// closes an idle connection and never reuses one closed under it.
	Idle: 2 * time.Minute,
	// Cookies and Twilio's signature fit in a few kilobytes.
	MaxHeaderBytes: 64 << 10,
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	l.ReadHeader = pick(l.ReadHeader, d.ReadHeader)
	l.Read = pick(l.Read, d.Read)
	l.Write = pick(l.Write, d.Write)
	l.Idle = pick(l.Idle, d.Idle)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// Server is townline's HTTP surface.
type Server struct {
	handler  http.Handler
	metrics  http.Handler
	limits   Limits
	log      *slog.Logger
	staff    *staff.Handler
	draining atomic.Bool
}

// New returns the handler for every path townline serves.
func New(c *core.Core, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{limits: opts.Limits.orDefault(), log: opts.Logger}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(c.Metrics().Collectors()...)
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "townline_http_request_duration_seconds",
		Help:    "HTTP request latency by route, method and status code (499: the client went away or was cut off by a limit).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	reg.MustRegister(latency)
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})

	mux := http.NewServeMux()
	open311.New(c, opts.Logger, opts.MaxBody).Register(mux)
	web.New(c, opts.Logger, web.Config{MapTiles: opts.MapTiles, Secure: strings.HasPrefix(c.PublicURL(), "https://")}).Register(mux)
	s.staff = staff.New(c, opts.Logger, staff.Config{Secure: strings.HasPrefix(c.PublicURL(), "https://"), MapTiles: opts.MapTiles})
	s.staff.Register(mux)
	for _, ch := range opts.Channels {
		ch.Register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		failing, err := s.ready(r.Context(), c, opts.Checks)
		if failing != "" {
			if err != nil {
				s.log.Warn("not ready", "failing", failing, "err", err)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, failing)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if !opts.MetricsApart {
		mux.Handle("GET /metrics", s.metrics)
	}
	s.handler = behindProxies(instrument(s.deadlines(cleanPaths(mux)), latency, opts.Logger), opts.TrustedProxies)
	return s
}

// ServeHTTP serves every path townline serves.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Metrics serves /metrics alone, for a listener of its own.
func (s *Server) Metrics() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics)
	return mux
}

// HTTPServer returns an http.Server for h with the Limits. h is the
// Server itself, or Metrics.
func (s *Server) HTTPServer(h http.Handler) *http.Server {
	l := s.limits
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Drain makes /readyz fail from now on, so that load balancers turn away
// before the listener closes, and ends the live staff streams (their pages
// reconnect elsewhere); everything else is still served.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.staff.Drain() // live pages reconnect to another instance
}

// ready says what keeps townline from serving, in words anyone may read
// ("database unreachable"), with the error behind it for the log; "" when
// ready.
func (s *Server) ready(ctx context.Context, c *core.Core, checks []Check) (string, error) {
	if s.draining.Load() {
		return "shutting down", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Pool().Ping(ctx); err != nil {
		return "database unreachable", err
	}
	if err := migrations.Check(ctx, c.Pool()); errors.Is(err, migrations.ErrBehind) {
		return "database schema is behind", err
	} else if err != nil {
		return "database schema cannot be checked", err
	}
	for _, check := range checks {
		if err := check.Ready(); err != nil {
			return check.Failing, err
		}
	}
	return "", nil
}

// cleanPaths serves a path with doubled slashes (or "." and ".." parts)
// as its clean form, where ServeMux would answer a redirect: Open311
// clients join the endpoint and a file name in different ways ("…/v2/" +
// "/services.xml"), and some turn a redirected POST into a GET.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/") {
			if clean := path.Clean(p); clean != p {
				if strings.HasSuffix(p, "/") && clean != "/" {
					clean += "/"
				}
				r.URL.Path, r.URL.RawPath = clean, ""
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlines gives a request with a body the time to arrive before its
// answer's write deadline starts (see Limits).
func (s *Server) deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			// An error means the writer cannot take deadlines (a test
			// recorder): there is none to extend.
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.limits.Read + s.limits.Write))
		}
		next.ServeHTTP(w, r)
	})
}

// StatusClientClosed is the code recorded (never sent) for a request whose
// client went away before its answer was written, or was cut off by a
// limit (a body too slow, an answer not read): nginx's 499.
const StatusClientClosed = 499

// methods are the label values for the method: any other is "other", so
// that made-up methods cannot add series.
var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

func methodLabel(m string) string {
	if methods[m] {
		return m
	}
	return "other"
}

// instrument times every request by its route pattern (never the raw
// path, which would explode the label set) and turns a panic into a 500.
// A request whose client went away (its context ended, or a write failed,
// which is also how the limits cut a client off) is recorded as 499 and
// logged at debug: it is not the server's fault.
func instrument(h http.Handler, latency *prometheus.HistogramVec, log *slog.Logger) http.Handler {
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
			code := rec.code
			if rec.writeErr != nil || r.Context().Err() != nil {
				code = StatusClientClosed
			}
			latency.WithLabelValues(pattern, methodLabel(r.Method), strconv.Itoa(code)).Observe(time.Since(start).Seconds())
			log.Debug("http", "method", r.Method, "path", r.URL.Path, "code", code, "took", time.Since(start), "write_err", rec.writeErr)
		}()
		h.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code     int
	wrote    bool
	writeErr error // the first failed write: the client is gone
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	n, err := s.ResponseWriter.Write(b)
	if err != nil && s.writeErr == nil {
		s.writeErr = err
	}
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
