package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/robfig/cron/v3"

	"townline/core"
)

// Folders the watcher files mail into, created when missing.
const (
	ProcessedFolder = "Processed"
	FailedFolder    = "Failed"
)

// Watcher reads the city's mailbox: it waits for new mail with IDLE (and
// re-checks on a schedule, for servers or networks that drop IDLE's
// news), hands each message to core, and only once core has committed it
// moves the message to Processed. A message therefore survives any crash:
// it stays in the mailbox until stored, and storing it twice is caught by
// core's dedupe keys.
type Watcher struct {
	core    *core.Core
	cfg     Config
	imap    server
	mailbox string
	addr    string // the city's address
	tokens  tokens
	log     *slog.Logger

	// cmdTimeout is the watchdog on every IMAP command: a hung server is
	// disconnected rather than left to hang the watcher.
	cmdTimeout             time.Duration
	minBackoff, maxBackoff time.Duration

	tick      chan struct{} // the schedule's re-check
	tlsConfig *tls.Config   // nil: the system's roots (tests set their own)

	mu    sync.Mutex
	ready error

	parse func([]byte, Limits) *Message // Parse; tests make it fail

	// afterIntake, for tests, runs between core's commit and the MOVE; an
	// error ends the session there, as a crash would.
	afterIntake func(uid imap.UID) error
}

// NewWatcher checks the configuration (IMAP_URL, EMAIL_FROM, the secret,
// the schedule). Run starts watching.
func NewWatcher(c *core.Core, cfg Config, logger *slog.Logger) (*Watcher, error) {
	cfg.defaults()
	if logger == nil {
		logger = slog.Default()
	}
	from, err := cfg.address()
	if err != nil {
		return nil, err
	}
	if err := cfg.checkSecret(); err != nil {
		return nil, err
	}
	if err := cfg.checkSchedule(); err != nil {
		return nil, err
	}
	srv, err := parseServer(cfg.IMAPURL, "imap", cfg.Insecure)
	if err != nil {
		return nil, err
	}
	mailbox := srv.path
	if mailbox == "" {
		mailbox = "INBOX"
	}
	return &Watcher{
		core: c, cfg: cfg, imap: srv, mailbox: mailbox, addr: strings.ToLower(from.Address),
		tokens: newTokens(cfg.Secret), log: logger.With("component", "email", "mailbox", mailbox),
		// Times no test waits out (tests set their own): mutants of them survive.
		cmdTimeout: 2 * time.Minute, minBackoff: time.Second, maxBackoff: 2 * time.Minute,
		tick: make(chan struct{}, 1), parse: Parse,
		ready: errors.New("email: not connected to the mailbox yet"),
	}, nil
}

// Ready returns nil while the watcher is connected to the mailbox, and
// why not otherwise: for /readyz.
func (w *Watcher) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

func (w *Watcher) setReady(err error) {
	w.mu.Lock()
	w.ready = err
	w.mu.Unlock()
}

// Run watches the mailbox until ctx ends, reconnecting with backoff after
// any failure. It returns nil when ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	sched := cron.New()
	if _, err := sched.AddFunc(w.cfg.PollSchedule, func() { signal(w.tick) }); err != nil {
		return fmt.Errorf("email: poll schedule: %w", err)
	}
	sched.Start()
	defer sched.Stop()

	delay := w.minBackoff
	for {
		start := time.Now()
		connected, err := w.session(ctx)
		if ctx.Err() != nil {
			w.setReady(errors.New("email: stopped"))
			return nil
		}
		if connected && time.Since(start) > w.maxBackoff {
			delay = w.minBackoff // it worked for a while: a new failure
		}
		w.setReady(fmt.Errorf("email: mailbox %s on %s unreachable: %w", w.mailbox, w.imap.addr, err))
		w.log.Warn("mailbox unreachable; reconnecting", "server", w.imap.addr, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			w.setReady(errors.New("email: stopped"))
			return nil
		case <-time.After(delay + rand.N(delay/4+1)):
		}
		delay = min(delay*2, w.maxBackoff)
	}
}

// errClosed ends a session whose connection the server or the watchdog closed.
var errClosed = errors.New("connection closed")

// session connects, logs in, and alternates catching up with waiting for
// news, until the connection fails. connected says it got as far as the
// mailbox.
func (w *Watcher) session(ctx context.Context) (connected bool, err error) {
	wake := make(chan struct{}, 1)
	cl, err := w.dial(ctx, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					signal(wake) // EXISTS: new mail
				}
			},
		},
	})
	if err != nil {
		return false, err
	}
	defer cl.Close()
	defer context.AfterFunc(ctx, func() { cl.Close() })()

	if err := w.guard(cl, "LOGIN", func() error { return cl.Login(w.imap.user, w.imap.pass).Wait() }); err != nil {
		return false, err
	}
	for _, folder := range []string{ProcessedFolder, FailedFolder} {
		if err := w.create(cl, folder); err != nil {
			return false, err
		}
	}
	var sel *imap.SelectData
	if err := w.guard(cl, "SELECT", func() (err error) { sel, err = cl.Select(w.mailbox, nil).Wait(); return }); err != nil {
		return false, err
	}
	var caps imap.CapSet
	if err := w.guard(cl, "CAPABILITY", func() error { caps = cl.Caps(); return nil }); err != nil {
		return false, err
	}
	w.setReady(nil)
	w.log.Info("watching the mailbox", "server", w.imap.addr, "uidvalidity", sel.UIDValidity,
		"idle", caps.Has(imap.CapIdle), "move", caps.Has(imap.CapMove), "uidplus", caps.Has(imap.CapUIDPlus))
	if !caps.Has(imap.CapMove) && !caps.Has(imap.CapUIDPlus) {
		w.log.Warn("the server has neither MOVE nor UIDPLUS: read mail stays in the mailbox (core's dedupe and the last UID keep it from being read twice)")
	}

	s := &mailbox{w: w, cl: cl, caps: caps, validity: sel.UIDValidity}
	for {
		switch err := s.catchUp(ctx); {
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, core.ErrUnavailable):
			// The mailbox is fine; the database is not. Try again at the
			// next news or tick.
			w.log.Warn("database unavailable; mail waits in the mailbox", "err", err)
		case err != nil:
			return true, err
		}
		if err := w.wait(ctx, cl, caps.Has(imap.CapIdle), wake); err != nil {
			return true, err
		}
	}
}

// dial connects with implicit TLS, STARTTLS, or (loopback, tests) plain,
// and waits for the greeting, within the watchdog's time.
func (w *Watcher) dial(ctx context.Context, opts *imapclient.Options) (*imapclient.Client, error) {
	d := net.Dialer{Timeout: 30 * time.Second} // a time no test waits out: its mutants survive
	conn, err := d.DialContext(ctx, "tcp", w.imap.addr)
	if err != nil {
		return nil, err
	}
	tlsConfig := tlsFor(w.tlsConfig, w.imap.host)
	if w.imap.implicit {
		conn = tls.Client(conn, tlsConfig)
	}
	var timedOut atomic.Bool
	t := time.AfterFunc(w.cmdTimeout, func() { timedOut.Store(true); conn.Close() })
	defer t.Stop()
	var cl *imapclient.Client
	if !w.imap.implicit && !w.imap.plain {
		opts.TLSConfig = tlsConfig
		cl, err = imapclient.NewStartTLS(conn, opts)
	} else {
		cl = imapclient.New(conn, opts)
		if err = cl.WaitGreeting(); err != nil {
			cl.Close()
		}
	}
	if timedOut.Load() {
		if cl != nil { // a connection left open is no test's to see: its mutant survives
			cl.Close()
		}
		return nil, fmt.Errorf("no greeting within %v", w.cmdTimeout)
	}
	return cl, err
}

// guard runs one command under the watchdog: if it takes longer than
// cmdTimeout the connection is closed, which ends the command.
func (w *Watcher) guard(cl *imapclient.Client, what string, f func() error) error {
	var timedOut atomic.Bool
	t := time.AfterFunc(w.cmdTimeout, func() {
		timedOut.Store(true)
		w.log.Warn("IMAP command hung; closing the connection", "command", what, "timeout", w.cmdTimeout)
		cl.Close()
	})
	err := f()
	t.Stop()
	if timedOut.Load() {
		return fmt.Errorf("%s: no answer within %v", what, w.cmdTimeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// create makes a folder unless it exists. A refusal (NO) is not fatal: a
// missing folder shows later, when a MOVE into it fails.
func (w *Watcher) create(cl *imapclient.Client, name string) error {
	err := w.guard(cl, "CREATE "+name, func() error { return cl.Create(name, nil).Wait() })
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		if imapErr.Code != imap.ResponseCodeAlreadyExists { // a log line's condition: its mutants survive
			w.log.Debug("CREATE refused", "folder", name, "err", err)
		}
		return nil
	}
	return err
}

// wait returns when there may be new mail: the server said so during
// IDLE, or the schedule's tick came. Without IDLE it waits for the tick.
func (w *Watcher) wait(ctx context.Context, cl *imapclient.Client, idle bool, wake <-chan struct{}) error {
	select {
	case <-wake: // news during the catch-up
		return nil
	default:
	}
	if !idle {
		select {
		case <-wake:
		case <-w.tick:
		case <-ctx.Done():
		case <-cl.Closed():
			return errClosed
		}
		return nil
	}
	var cmd *imapclient.IdleCommand
	if err := w.guard(cl, "IDLE", func() (err error) { cmd, err = cl.Idle(); return }); err != nil {
		return err
	}
	select {
	case <-wake:
	case <-w.tick:
	case <-ctx.Done():
		return nil
	case <-cl.Closed(): // no DONE to send on it
		return errClosed
	}
	return w.guard(cl, "DONE", func() error {
		if err := cmd.Close(); err != nil { // a failed DONE fails Wait too: its mutant survives
			return err
		}
		return cmd.Wait()
	})
}

// signal sends on a channel of one without blocking: news pending is news enough.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
