package voice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"townline/channels/twilio"
	"townline/core"
)

const (
	callTimeout = 15 * time.Second
	maxTwiML    = 4000 // Twilio's limit on a call's Twiml parameter
)

// Caller places the daytime calls that bring callers their updates: core's
// Sender for the voice channel. core schedules those calls within calling
// hours; the caller hears the update and can press 1 to hear it again.
type Caller struct {
	cfg    Config
	rest   *twilio.RestClient
	public string
}

// NewCaller builds the outbound side of the voice channel. It logs
// nothing: core logs what becomes of each call.
func NewCaller(cfg Config) (*Caller, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("voice: the account SID, auth token and From are all needed")
	}
	if !strings.HasPrefix(cfg.From, "+") {
		return nil, fmt.Errorf("voice: calls need a phone number to call from, not %q (a Messaging Service cannot call)", cfg.From)
	}
	rest, err := twilio.NewRestClient(cfg.AccountSID, cfg.AuthToken, cfg.APIURL, callTimeout)
	if err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	public, err := twilio.PublicBase(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	return &Caller{cfg: cfg, rest: rest, public: public}, nil
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
	api, call := c.rest.Service(ctx)
	p := &openapi.CreateCallParams{}
	p.SetTo(m.To).SetFrom(c.cfg.From).SetTwiml(string(doc)).SetStatusCallback(c.public + "/twilio/voice/status")
	res, err := api.CreateCall(p)
	call.Done()
	if err == nil {
		if res.Sid == nil || *res.Sid == "" {
			return "", fmt.Errorf("%w: Twilio answered without a call SID", core.ErrOutcomeUnknown)
		}
		return *res.Sid, nil
	}
	return "", twilio.SendError(call.Fate(err), err, "the call")
}
