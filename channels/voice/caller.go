package voice

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

// The SDK always builds URLs on this host; the transport sends them to
// Config.APIURL instead.
const twilioAPIHost = "api.twilio.com"

const (
	callTimeout = 15 * time.Second
	maxTwiML    = 4000 // Twilio's limit on a call's Twiml parameter
)

// Caller places the daytime calls that bring callers their updates: core's
// Sender for the voice channel. core schedules those calls within calling
// hours; the caller hears the update and can press 1 to hear it again.
type Caller struct {
	cfg    Config
	api    *url.URL
	public string
	base   http.RoundTripper
	log    *slog.Logger
}

// NewCaller builds the outbound side of the voice channel.
func NewCaller(cfg Config, logger *slog.Logger) (*Caller, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("voice: the account SID, auth token and From are all needed")
	}
	if !strings.HasPrefix(cfg.From, "+") {
		return nil, fmt.Errorf("voice: calls need a phone number to call from, not %q (a Messaging Service cannot call)", cfg.From)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://" + twilioAPIHost
	}
	api, err := url.Parse(cfg.APIURL)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, fmt.Errorf("voice: Twilio API URL %q is not an http(s) URL", cfg.APIURL)
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Scheme == "" || pub.Host == "" {
		return nil, fmt.Errorf("voice: public URL %q is not an absolute URL", cfg.PublicURL)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Caller{cfg: cfg, api: api, public: strings.TrimRight(cfg.PublicURL, "/"), base: http.DefaultTransport, log: logger}, nil
}

// Send places the call at Twilio. Errors follow core.Sender: plain when
// Twilio certainly did not take it, core.Permanent when it never will,
// core.ErrOutcomeUnknown when it may have. Unlike a text, a call that may
// have been placed is not looked for: ringing a resident twice is worse
// than a missed update, which they can still hear by calling in.
func (c *Caller) Send(ctx context.Context, m core.Outbound) (string, error) {
	rep := reply{lang: m.Language}
	updateCall(&rep, c.public, m.MessageID, m.Body)
	doc, err := rep.xml()
	if err != nil {
		return "", core.Permanent(fmt.Errorf("voice: build the call: %w", err))
	}
	if len(doc) > maxTwiML {
		return "", core.Permanent(fmt.Errorf("voice: the update is too long to say in one call (%d bytes of TwiML)", len(doc)))
	}
	api, call := c.service(ctx)
	p := &openapi.CreateCallParams{}
	p.SetTo(m.To).SetFrom(c.cfg.From).SetTwiml(string(doc)).SetStatusCallback(c.public + "/twilio/voice/status")
	res, err := api.CreateCall(p)
	call.cancel()
	if err == nil {
		if res.Sid == nil || *res.Sid == "" {
			return "", fmt.Errorf("%w: Twilio answered without a call SID", core.ErrOutcomeUnknown)
		}
		return *res.Sid, nil
	}

	var te *client.TwilioRestError
	rest := errors.As(err, &te)
	status := int(call.status.Load())
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
		(rest && te.Code == 20429):
		return "", fmt.Errorf("twilio is busy, try later: %w", err)
	case status >= 500:
		return "", fmt.Errorf("%w: twilio failed: %w", core.ErrOutcomeUnknown, err)
	case status >= 400:
		return "", core.Permanent(fmt.Errorf("twilio refused the call: %w", err))
	case rest: // the SDK refused before sending, e.g. malformed credentials
		return "", core.Permanent(err)
	case !call.wrote.Load():
		return "", fmt.Errorf("twilio not reached: %w", err)
	}
	// The request went out and no answer came back: Twilio may have it.
	return "", fmt.Errorf("%w: %w", core.ErrOutcomeUnknown, err)
}

// call is what one SDK call's transport saw.
type call struct {
	wrote  atomic.Bool  // the whole request was written: Twilio may have it
	status atomic.Int32 // the HTTP status of the last answer
	cancel context.CancelFunc
}

// service returns the SDK's API for one call bound to ctx. The SDK takes
// no context and has no base URL setting, so both go through a transport
// made for the call (as channels/sms does).
func (c *Caller) service(ctx context.Context) (*openapi.ApiService, *call) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
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
