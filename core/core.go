// Package core is townline's domain: service requests and the people who
// report them, the city's catalog and routing, status changes and the
// messages that tell residents about them. It knows no channel and no HTTP:
// channel adapters translate into and out of the types here.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"townline/core/internal/db"
)

// Channel is how a resident reached the city, and how they hear back.
type Channel string

const (
	ChannelSMS     Channel = "sms"
	ChannelVoice   Channel = "voice"
	ChannelEmail   Channel = "email"
	ChannelWeb     Channel = "web"
	ChannelOpen311 Channel = "open311"
	// The front desk: staff file for a resident who phoned City Hall
	// (ChannelPhone) or came to the counter (ChannelWalkIn), or for
	// themselves, a crew's own report (ChannelStaff).
	ChannelPhone  Channel = "phone"
	ChannelWalkIn Channel = "walk_in"
	ChannelStaff  Channel = "staff"
	// ChannelImport is a request of the city's history, imported from the
	// system before, which did not say how it came.
	ChannelImport Channel = "import"
)

// Channels are every channel a request may come by.
var Channels = []Channel{ChannelSMS, ChannelEmail, ChannelVoice, ChannelOpen311, ChannelWeb,
	ChannelPhone, ChannelWalkIn, ChannelStaff, ChannelImport}

// FrontDesk are the channels by which staff file for residents.
var FrontDesk = []Channel{ChannelPhone, ChannelWalkIn, ChannelStaff}

// ReplyNone is the way of hearing back of a resident who asked for none.
const ReplyNone Channel = "none"

// ErrNotFound is returned when the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable wraps failures to reach the database, so that adapters can
// answer "try again later" rather than blame the caller.
var ErrUnavailable = errors.New("the database is unavailable")

// Options configures a Core.
type Options struct {
	City      *City
	PublicURL string // where residents follow their requests, e.g. https://311.example.gov
	MaxUpload int64  // the largest photo or file accepted, in bytes
	// Blobs is where photos and files are kept: "postgres" (or empty), or
	// "s3://bucket/prefix" on the object store S3 reaches.
	Blobs string
	S3    S3

	// Senders deliver outbound messages, one per channel. A message for a
	// channel without a sender is recorded as not sent.
	Senders map[Channel]Sender
	// Fetchers download the media that inbound messages point at.
	Fetchers map[Channel]MediaFetcher
	// Geocoder places what the city's own layers do not (nil: nothing).
	Geocoder Geocoder

	// RetryBase is the first delay before an outbound message is retried;
	// it doubles with every attempt, up to an hour. MaxAttempts bounds them.
	RetryBase   time.Duration
	MaxAttempts int
	// LeadPoll is how often work one instance leads changes hands at most
	// (Lead); 0 is LeadPoll.
	LeadPoll time.Duration
	// RescueAfter is how long a job may look running before it is taken
	// to have died with its worker (a crash) and run again: just above
	// the longest a job may run. Default 3 minutes.
	RescueAfter time.Duration
	Workers     int // concurrent outbound deliveries; 0 means insert-only (CLI commands)
	// TextRate and MailRate are how many texts and mails a second an
	// emergency notice goes out at, to stay within what the provider
	// takes (a Twilio long code sends about one text a second, a
	// Messaging Service more); 0 is 1 text and 10 mails a second.
	TextRate, MailRate float64

	Logger *slog.Logger
}

// Core is the domain service shared by every channel.
type Core struct {
	pool    *pgxpool.Pool
	q       *db.Queries // on the pool, for statements outside a transaction
	city    *City
	opts    Options
	blobs   *Blobs
	river   *river.Client[pgx.Tx]
	log     *slog.Logger
	metrics *Metrics
	public  *url.URL
	apiKeys sync.Map // [32]byte key hash -> cachedKey
}

// withDefaults is o with what it leaves unset (or negative) set.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = 10 << 20
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = 3 * time.Minute
	}
	return o
}

// jobTimeout bounds one run of a job: at most two thirds of the rescue
// delay, so that a rescued job's first run is over before its second
// begins, and at most most.
func (o Options) jobTimeout(most time.Duration) time.Duration {
	return min(most, o.RescueAfter*2/3)
}

// New checks the options, syncs the city's catalog into the database and
// prepares the job queue. Call Start to begin delivering messages.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Core, error) {
	if opts.City == nil {
		return nil, errors.New("core: no city")
	}
	opts = opts.withDefaults()
	pub, err := url.Parse(opts.PublicURL)
	if err != nil || pub.Scheme == "" || pub.Host == "" {
		return nil, fmt.Errorf("core: public URL %q is not an absolute URL", opts.PublicURL)
	}
	c := &Core{
		pool:    pool,
		q:       db.New(pool),
		city:    opts.City,
		opts:    opts,
		log:     opts.Logger,
		metrics: newMetrics(),
		public:  pub,
	}
	store, err := openBlobStore(ctx, c, opts.Blobs)
	if err != nil {
		return nil, err
	}
	c.blobs = &Blobs{store: store, max: opts.MaxUpload}

	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{core: c})
	river.AddWorker(workers, &fetchMediaWorker{core: c})
	river.AddWorker(workers, &expireDraftsWorker{core: c})
	river.AddWorker(workers, &sweepBlobsWorker{core: c})
	river.AddWorker(workers, &digestWorker{core: c})
	river.AddWorker(workers, &purgeContactsWorker{core: c})
	river.AddWorker(workers, &broadcastWorker{core: c})
	river.AddWorker(workers, &weeklyDigestWorker{core: c})
	cfg := &river.Config{
		Workers:     workers,
		Logger:      slog.New(infoAndUp{opts.Logger.Handler()}).With("component", "jobs"),
		MaxAttempts: opts.MaxAttempts,
		// How soon a worker asks for jobs again: only how fast deliveries
		// go, which no test times, so its mutants survive.
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    time.Second,
		JobTimeout:           opts.jobTimeout(time.Minute),
		RescueStuckJobsAfter: opts.RescueAfter,
	}
	if opts.Workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
		cfg.PeriodicJobs = c.periodicJobs()
	}
	c.river, err = river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("core: job queue: %w", err)
	}
	if err := c.syncCatalog(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// sendTimeout bounds one delivery attempt: two minutes, or less when
// jobs are rescued sooner.
func (c *Core) sendTimeout() time.Duration { return c.opts.jobTimeout(2 * time.Minute) }

// Start begins delivering outbound messages; it returns at once.
func (c *Core) Start(ctx context.Context) error {
	if c.opts.Workers == 0 {
		return nil
	}
	return c.river.Start(ctx)
}

// Stop lets deliveries in flight finish, up to ctx's deadline. A core
// that never started has nothing to stop (River says so).
func (c *Core) Stop(ctx context.Context) error { return c.river.Stop(ctx) }

func (c *Core) City() *City         { return c.city }
func (c *Core) Blobs() *Blobs       { return c.blobs }
func (c *Core) Metrics() *Metrics   { return c.metrics }
func (c *Core) Pool() *pgxpool.Pool { return c.pool }

// TrackingURL is the public page of a request.
func (c *Core) TrackingURL(id int64) string {
	return c.public.JoinPath("requests", fmt.Sprint(id)).String()
}

// PublicURL joins path elements onto the public base URL.
func (c *Core) PublicURL(elem ...string) string {
	return c.public.JoinPath(elem...).String()
}

// PublicHost is the host of the public site, which names the city's
// calendar entries (their UIDs).
func (c *Core) PublicHost() string { return c.public.Host }

// txn is one transaction: its statements, and what to do once it has
// committed (count and log what it created).
type txn struct {
	pgx.Tx
	q        *db.Queries
	onCommit []func()
	// at dates what the transaction writes to requests and their
	// history: nil is now; a request of the city's history (an import)
	// is written at its own times.
	at *time.Time
}

// tx runs f in a transaction, marking connection failures as ErrUnavailable.
func (c *Core) tx(ctx context.Context, f func(*txn) error) error {
	var t *txn
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		t = &txn{Tx: tx, q: db.New(tx)}
		return f(t)
	})
	if err != nil {
		return dbErr(err)
	}
	for _, f := range t.onCommit {
		f()
	}
	return nil
}

// infoAndUp passes on River's info lines and worse: its debug lines (a
// leader re-elected every few seconds, each poll and batch) would drown
// townline's own debug log.
type infoAndUp struct{ slog.Handler }

func (h infoAndUp) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo && h.Handler.Enabled(ctx, level)
}

func (h infoAndUp) WithAttrs(attrs []slog.Attr) slog.Handler {
	return infoAndUp{h.Handler.WithAttrs(attrs)}
}

func (h infoAndUp) WithGroup(name string) slog.Handler {
	return infoAndUp{h.Handler.WithGroup(name)}
}
