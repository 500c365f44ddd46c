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
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"townline/core"
)

// Config is the Twilio account and where townline is reached.
type Config struct {
	AccountSID, AuthToken string
	From                  string // E.164 number, or a Messaging Service SID (MG...)
	APIURL                string // https://api.twilio.com, or a fake on loopback
	PublicURL             string // TOWNLINE_PUBLIC_URL: the base of the webhook URLs Twilio signs
}

// The SDK always builds URLs on this host; the transport sends them to
// Config.APIURL instead.
const twilioAPIHost = "api.twilio.com"

const (
	sendTimeout = 15 * time.Second
	// A message created by a lost attempt is at most this much older than
	// the attempt's start by Twilio's clock, allowing for clock skew.
	recoverySkew = time.Minute
)

// Client sends texts and downloads media through one Twilio account.
type Client struct {
	cfg   Config
	api   *url.URL
	base  http.RoundTripper
	media *http.Client
	log   *slog.Logger
}

// NewClient builds the outbound side: core's Sender and MediaFetcher for SMS.
func NewClient(cfg Config, logger *slog.Logger) (*Client, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("sms: the account SID, auth token and From are all needed")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://" + twilioAPIHost
	}
	api, err := url.Parse(cfg.APIURL)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, fmt.Errorf("sms: Twilio API URL %q is not an http(s) URL", cfg.APIURL)
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Scheme == "" || pub.Host == "" {
		return nil, fmt.Errorf("sms: public URL %q is not an absolute URL", cfg.PublicURL)
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{cfg: cfg, api: api, base: http.DefaultTransport, log: logger}
	c.media = &http.Client{
		Timeout: time.Minute,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			// Twilio redirects media to its CDN; the account's credentials
			// stay with Twilio's API. Go keeps them for another port of the
			// same host name, so this is not left to net/http.
			if !c.isAPI(req.URL) {
				req.Header.Del("Authorization")
			}
			return nil
		},
	}
	return c, nil
}

// isAPI says whether u is on the Twilio API host, the one host that gets
// the account's credentials.
func (c *Client) isAPI(u *url.URL) bool {
	return u.Scheme == c.api.Scheme && strings.EqualFold(u.Host, c.api.Host)
}

// Send creates the message at Twilio. Errors follow core.Sender: plain
// when Twilio certainly did not take it, core.Permanent when it never
// will, core.ErrOutcomeUnknown when it may have.
func (c *Client) Send(ctx context.Context, m core.Outbound) (string, error) {
	start := time.Now()
	api, call := c.service(ctx)
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To).SetBody(ToGSM(m.Body)).SetStatusCallback(strings.TrimRight(c.cfg.PublicURL, "/") + "/twilio/sms/status")
	if c.usesService() {
		p.SetMessagingServiceSid(c.cfg.From)
	} else {
		p.SetFrom(c.cfg.From)
	}
	msg, err := api.CreateMessage(p)
	call.cancel()
	if err == nil {
		if msg.Sid == nil || *msg.Sid == "" {
			return "", fmt.Errorf("%w: Twilio answered without a message SID", core.ErrOutcomeUnknown)
		}
		return *msg.Sid, nil
	}

	var te *client.TwilioRestError
	rest := errors.As(err, &te)
	status := int(call.status.Load())
	switch {
	case rest && te.Code == 21610:
		return "", core.Permanent(fmt.Errorf("%w: Twilio error 21610: %s", core.ErrRecipientOptedOut, te.Message))
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
		(rest && te.Code == 20429):
		return "", fmt.Errorf("twilio is busy, try later: %w", err)
	case status >= 500:
		// Twilio may have created the message before failing.
		if sid, ok := c.recover(ctx, m, start); ok {
			return sid, nil
		}
		return "", fmt.Errorf("twilio failed: %w", err)
	case status >= 400:
		return "", core.Permanent(fmt.Errorf("twilio refused the message: %w", err))
	case rest: // the SDK refused before sending, e.g. malformed credentials
		return "", core.Permanent(err)
	case !call.wrote.Load():
		return "", fmt.Errorf("twilio not reached: %w", err)
	}
	// The request went out and no answer came back: Twilio may have it.
	if sid, ok := c.recover(ctx, m, start); ok {
		return sid, nil
	}
	return "", fmt.Errorf("%w: %w", core.ErrOutcomeUnknown, err)
}

func (c *Client) usesService() bool { return strings.HasPrefix(c.cfg.From, "MG") }

// recover looks for the message a lost attempt may have created: same
// recipient, sender and body, created since the attempt began. Twilio has
// no idempotency key; this is the next best thing.
func (c *Client) recover(ctx context.Context, m core.Outbound, start time.Time) (string, bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	api, call := c.service(ctx)
	defer call.cancel()
	p := &openapi.ListMessageParams{}
	p.SetTo(m.To).SetPageSize(20)
	if !c.usesService() {
		p.SetFrom(c.cfg.From)
	}
	// Not filtered on DateSent: a message still queued has none.
	page, err := api.PageMessage(p, "", "")
	if err != nil {
		c.log.Warn("sms: could not look for a message whose send was interrupted", "message", m.MessageID, "err", err)
		return "", false
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
		return *x.Sid, true
	}
	return "", false
}

// call is what one SDK call's transport saw.
type call struct {
	wrote  atomic.Bool  // the whole request was written: Twilio may have it
	status atomic.Int32 // the HTTP status of the last answer
	cancel context.CancelFunc
}

// service returns the SDK's API for one call bound to ctx. The SDK takes
// no context and has no base URL setting, so both go through a transport
// made for the call.
func (c *Client) service(ctx context.Context) (*openapi.ApiService, *call) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	cl := &call{cancel: cancel}
	tc := &client.Client{
		Credentials: client.NewCredentials(c.cfg.AccountSID, c.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport:     &callTransport{ctx: ctx, base: c.base, api: c.api, call: cl},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	tc.SetAccountSid(c.cfg.AccountSID) // a custom client does not get it from the credentials
	rh := client.NewRequestHandler(tc)
	rh.Edge, rh.Region = "", "" // TWILIO_EDGE would move the host out of the transport's reach
	return openapi.NewApiService(rh), cl
}

type callTransport struct {
	ctx  context.Context
	base http.RoundTripper
	api  *url.URL
	call *call
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := httptrace.WithClientTrace(t.ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				t.call.wrote.Store(true)
			}
		},
	})
	req = req.Clone(ctx)
	if req.URL.Host == twilioAPIHost {
		req.URL.Scheme, req.URL.Host, req.Host = t.api.Scheme, t.api.Host, ""
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		t.call.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}
