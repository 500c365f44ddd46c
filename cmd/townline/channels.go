package main

import (
	"townline/channels/sms"
	"townline/core"
	"townline/internal/server"
)

// channels are the outside services the configuration connects: their
// senders and fetchers go into core, their webhooks onto the server.
type channels struct {
	senders  map[core.Channel]core.Sender
	fetchers map[core.Channel]core.MediaFetcher
	sms      *sms.Config
}

func (e *env) channels() (*channels, error) {
	ch := &channels{senders: map[core.Channel]core.Sender{}, fetchers: map[core.Channel]core.MediaFetcher{}}
	cfg := e.cfg
	if cfg.TwilioAccountSID != "" {
		sc := sms.Config{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			APIURL: cfg.TwilioAPIURL, PublicURL: cfg.PublicURL,
		}
		client, err := sms.NewClient(sc, e.log)
		if err != nil {
			return nil, err
		}
		ch.senders[core.ChannelSMS] = client
		ch.fetchers[core.ChannelSMS] = client
		ch.sms = &sc
		e.log.Info("text messages on", "from", cfg.TwilioFrom, "webhook", cfg.PublicURL+"/twilio/sms")
	}
	return ch, nil
}

// server returns the HTTP options with the channels' webhooks.
func (ch *channels) server(c *core.Core, e *env) server.Options {
	opts := server.Options{Logger: e.log, MaxBody: e.cfg.MaxUpload}
	if ch.sms != nil {
		opts.Channels = append(opts.Channels, sms.NewHandler(c, *ch.sms, e.log))
	}
	return opts
}
