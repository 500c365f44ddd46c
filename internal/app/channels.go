package app

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"townline/channels/email"
	"townline/channels/sms"
	"townline/channels/voice"
	"townline/core"
	"townline/internal/server"
)

// Channels are the outside services the configuration connects: their
// senders and fetchers go into core, their webhooks onto the server, their
// watchers run beside it.
type Channels struct {
	Senders  map[core.Channel]core.Sender
	Fetchers map[core.Channel]core.MediaFetcher
	sms      *sms.Config
	email    *email.Config
	voice    *voice.Config
	stop     context.CancelFunc // ends the watchers
	watchers sync.WaitGroup
}

// Channels connects the channels the configuration turns on.
func (e *Env) Channels(ctx context.Context) (*Channels, error) {
	ch := &Channels{Senders: map[core.Channel]core.Sender{}, Fetchers: map[core.Channel]core.MediaFetcher{}}
	cfg := e.cfg
	if cfg.TwilioAccountSID != "" {
		sc := sms.Config{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			APIURL: cfg.TwilioAPIURL, PublicURL: cfg.PublicURL,
		}
		client, err := sms.NewClient(sc, e.Log)
		if err != nil {
			return nil, err
		}
		ch.Senders[core.ChannelSMS] = client
		ch.Fetchers[core.ChannelSMS] = client
		ch.sms = &sc
		e.Log.Info("text messages on", "from", cfg.TwilioFrom, "webhook", cfg.PublicURL+"/twilio/sms")
		// A Messaging Service sends texts but cannot take or place calls.
		if strings.HasPrefix(cfg.TwilioFrom, "+") {
			vc := voice.Config{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
				APIURL: cfg.TwilioAPIURL, PublicURL: cfg.PublicURL, StaffNumber: cfg.StaffPhone}
			caller, err := voice.NewCaller(vc)
			if err != nil {
				return nil, err
			}
			ch.Senders[core.ChannelVoice] = caller
			ch.Fetchers[core.ChannelVoice] = client // staff play recordings through townline
			ch.voice = &vc
			e.Log.Info("phone menu on", "number", cfg.TwilioFrom, "webhook", cfg.PublicURL+"/twilio/voice")
		}
	}
	if cfg.SMTPURL != "" && cfg.EmailFrom != "" {
		// The reply-address signing key lives in the database: the same on
		// every instance, and valid for mail sent long ago.
		secret, err := core.Secret(ctx, e.pool, "email-reply")
		if err != nil {
			return nil, err
		}
		ec := email.Config{IMAPURL: cfg.IMAPURL, SMTPURL: cfg.SMTPURL, From: cfg.EmailFrom,
			CityName: e.City.Name, Secret: secret}
		sender, err := email.NewSender(ec, e.Log)
		if err != nil {
			return nil, err
		}
		ch.Senders[core.ChannelEmail] = sender
		ch.email = &ec
		e.Log.Info("email on", "from", cfg.EmailFrom, "mailbox", redactURL(cfg.IMAPURL))
	}
	return ch, nil
}

// Start returns the HTTP options with the channels' webhooks, and starts
// the mailbox watcher, which runs until ctx ends or Stop.
func (ch *Channels) Start(ctx context.Context, c *core.Core, e *Env) (server.Options, error) {
	ctx, ch.stop = context.WithCancel(ctx)
	opts := server.Options{Logger: e.Log, MaxBody: e.cfg.MaxUpload, MetricsApart: e.cfg.MetricsAddr != "",
		MapTiles: e.cfg.MapTiles, TrustedProxies: e.cfg.TrustedProxies}
	if ch.sms != nil {
		opts.Channels = append(opts.Channels, sms.NewHandler(c, *ch.sms, e.Log))
	}
	if ch.voice != nil {
		opts.Channels = append(opts.Channels, voice.NewHandler(c, *ch.voice, e.Log))
	}
	if ch.email != nil && ch.email.IMAPURL != "" {
		w, err := email.NewWatcher(c, *ch.email, e.Log)
		if err != nil {
			return opts, err
		}
		// One instance of all those on the database watches the mailbox;
		// the others are ready without it, and one takes over when it stops.
		var leading atomic.Bool
		ch.watchers.Go(func() {
			c.Lead(ctx, "mailbox", leading.Store, func(ctx context.Context) {
				if err := w.Run(ctx); err != nil {
					e.Log.Error("mailbox watcher stopped", "err", err)
				}
			})
		})
		opts.Checks = append(opts.Checks, server.Check{Failing: "mailbox unreachable", Ready: func() error {
			if !leading.Load() {
				return nil // another instance watches
			}
			return w.Ready()
		}})
	}
	return opts, nil
}

// Stop stops the mailbox watcher and waits for it, until ctx ends.
func (ch *Channels) Stop(ctx context.Context) error {
	if ch.stop == nil {
		return nil
	}
	ch.stop()
	done := make(chan struct{})
	go func() {
		ch.watchers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// redactURL hides a URL's password for the logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Redacted()
}
