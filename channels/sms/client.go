// Package sms is the text message channel on Twilio: the inbound webhook
// and status callbacks in, Twilio's Messages API out, and the download of
// MMS photos. It translates only; every rule about what a text means or
// what to answer lives in core.
package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"townline/channels/twilio"
	"townline/core"
)

// Config is the Twilio account and where townline is reached.
type Config struct {
	AccountSID, AuthToken string
	From                  string // E.164 number, or a Messaging Service SID (MG...)
	APIURL                string // https://api.twilio.com, or a fake on loopback
	PublicURL             string // TOWNLINE_PUBLIC_URL: the base of the webhook URLs Twilio signs
}

const (
	sendTimeout = 15 * time.Second
	// A message created by a lost attempt is at most this much older than
	// the attempt's start by Twilio's clock, allowing for clock skew.
	recoverySkew = time.Minute
)

// Client sends texts and downloads media through one Twilio account.
type Client struct {
	cfg    Config
	rest   *twilio.RestClient
	public string
	media  *http.Client
	log    *slog.Logger
}

// NewClient builds the outbound side: core's Sender and MediaFetcher for SMS.
func NewClient(cfg Config, logger *slog.Logger) (*Client, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("sms: the account SID, auth token and From are all needed")
	}
	rest, err := twilio.NewRestClient(cfg.AccountSID, cfg.AuthToken, cfg.APIURL, sendTimeout)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	public, err := twilio.PublicBase(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{cfg: cfg, rest: rest, public: public, log: logger}
	c.media = &http.Client{
		Timeout: time.Minute,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			// Twilio redirects media to its CDN; the account's credentials
			// stay with Twilio's API. Go keeps them for another port of the
			// same host name, so this is not left to net/http.
			if !c.rest.IsAPI(req.URL) {
				req.Header.Del("Authorization")
			}
			return nil
		},
	}
	return c, nil
}

// Send creates the message at Twilio. Errors follow core.Sender: plain
// when Twilio certainly did not take it, core.Permanent when it never
// will, core.ErrOutcomeUnknown when it may have.
func (c *Client) Send(ctx context.Context, m core.Outbound) (string, error) {
	start := time.Now()
	api, call := c.rest.Service(ctx)
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To).SetBody(ToGSM(m.Body)).SetStatusCallback(c.public + "/twilio/sms/status")
	if c.usesService() {
		p.SetMessagingServiceSid(c.cfg.From)
	} else {
		p.SetFrom(c.cfg.From)
	}
	msg, err := api.CreateMessage(p)
	call.Done()
	if err == nil {
		if msg.Sid == nil || *msg.Sid == "" {
			return "", fmt.Errorf("%w: Twilio answered without a message SID", core.ErrOutcomeUnknown)
		}
		return *msg.Sid, nil
	}

	var te *client.TwilioRestError
	if errors.As(err, &te) && te.Code == 21610 {
		return "", core.Permanent(fmt.Errorf("%w: Twilio error 21610: %s", core.ErrRecipientOptedOut, te.Message))
	}
	fate := call.Fate(err)
	switch fate {
	case twilio.Failed:
		// Twilio may have created the message before failing.
		if sid, _ := c.Resolve(ctx, m, start); sid != "" {
			return sid, nil
		}
		return "", fmt.Errorf("twilio failed: %w", err)
	case twilio.Lost:
		// The request went out and no answer came back: Twilio may have it.
		if sid, _ := c.Resolve(ctx, m, start); sid != "" {
			return sid, nil
		}
	}
	return "", twilio.SendError(fate, err, "the message")
}

func (c *Client) usesService() bool { return strings.HasPrefix(c.cfg.From, "MG") }

// Resolve looks for the message an interrupted attempt may have created:
// same recipient, sender and body, created since the attempt began
// (core.Resolver). Twilio has no idempotency key; this is the next best
// thing.
func (c *Client) Resolve(ctx context.Context, m core.Outbound, start time.Time) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	api, call := c.rest.Service(ctx)
	defer call.Done()
	p := &openapi.ListMessageParams{}
	p.SetTo(m.To).SetPageSize(20)
	if !c.usesService() {
		p.SetFrom(c.cfg.From)
	}
	// Not filtered on DateSent: a message still queued has none.
	page, err := api.PageMessage(p, "", "")
	if err != nil {
		c.log.Warn("sms: could not look for a message whose send was interrupted", "message", m.MessageID, "err", err)
		return "", fmt.Errorf("sms: look for message %d at Twilio: %w", m.MessageID, err)
	}
	for _, x := range page.Messages {
		if x.Sid == nil || x.Body == nil || *x.Body != ToGSM(m.Body) || x.DateCreated == nil {
			continue
		}
		if c.usesService() && (x.MessagingServiceSid == nil || *x.MessagingServiceSid != c.cfg.From) {
			continue
		}
		created, err := time.Parse(time.RFC1123Z, *x.DateCreated)
		if err != nil || created.Before(start.Add(-recoverySkew)) {
			continue
		}
		c.log.Info("sms: found the message an interrupted send created", "message", m.MessageID, "sid", *x.Sid)
		return *x.Sid, nil
	}
	return "", nil
}
