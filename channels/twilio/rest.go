// Package twilio is the Twilio plumbing the SMS and voice channels share:
// the REST client the SDK is driven through, what a failed REST call says
// about whether Twilio has the request, and the check of a signed webhook.
// What a text or a call means stays in channels/sms and channels/voice.
package twilio

import (
	"context"
	"errors"
	"fmt"
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

// The SDK always builds URLs on this host; the transport sends them to the
// configured API URL instead.
const apiHost = "api.twilio.com"

// RestClient makes the SDK's API for one account, one call at a time.
type RestClient struct {
	accountSID, authToken string
	api                   *url.URL
	base                  http.RoundTripper
	timeout               time.Duration
}

// NewRestClient checks apiURL (empty is https://api.twilio.com, anything
// else is an http(s) URL such as a fake on loopback) and returns the client
// whose calls each get at most timeout.
func NewRestClient(accountSID, authToken, apiURL string, timeout time.Duration) (*RestClient, error) {
	if apiURL == "" {
		apiURL = "https://" + apiHost
	}
	api, err := url.Parse(apiURL)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, fmt.Errorf("Twilio API URL %q is not an http(s) URL", apiURL)
	}
	return &RestClient{accountSID: accountSID, authToken: authToken, api: api, base: http.DefaultTransport, timeout: timeout}, nil
}

// IsAPI says whether u is on the Twilio API host, the one host that gets
// the account's credentials.
func (c *RestClient) IsAPI(u *url.URL) bool {
	return u.Scheme == c.api.Scheme && strings.EqualFold(u.Host, c.api.Host)
}

// Call is what one SDK call's transport saw.
type Call struct {
	wrote  atomic.Bool  // the whole request was written: Twilio may have it
	status atomic.Int32 // the HTTP status of the last answer
	cancel context.CancelFunc
}

// Done releases the call's context; call it once the SDK has answered.
func (c *Call) Done() { c.cancel() }

// Service returns the SDK's API for one call bound to ctx. The SDK takes
// no context and has no base URL setting, so both go through a transport
// made for the call.
func (c *RestClient) Service(ctx context.Context) (*openapi.ApiService, *Call) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	cl := &Call{cancel: cancel}
	tc := &client.Client{
		Credentials: client.NewCredentials(c.accountSID, c.authToken),
		HTTPClient: &http.Client{
			Transport:     &callTransport{ctx: ctx, base: c.base, api: c.api, call: cl},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	tc.SetAccountSid(c.accountSID) // a custom client does not get it from the credentials
	rh := client.NewRequestHandler(tc)
	rh.Edge, rh.Region = "", "" // TWILIO_EDGE would move the host out of the transport's reach
	return openapi.NewApiService(rh), cl
}

type callTransport struct {
	ctx  context.Context
	base http.RoundTripper
	api  *url.URL
	call *Call
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
	if req.URL.Host == apiHost {
		req.URL.Scheme, req.URL.Host, req.Host = t.api.Scheme, t.api.Host, ""
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		t.call.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// Fate is what a failed REST call says about whether Twilio has the
// request.
type Fate int

const (
	Busy      Fate = iota // Twilio is overloaded and took nothing: try later
	Failed                // Twilio failed (5xx), perhaps after acting on the request
	Refused               // Twilio refused the request (4xx): it never will take it
	Unsent                // the SDK refused before sending, e.g. malformed credentials
	Unreached             // the request never went out whole: Twilio has nothing
	Lost                  // the request went out and no answer came back: Twilio may have it
)

// Fate classifies err, the error the SDK returned for this call.
func (c *Call) Fate(err error) Fate {
	var te *client.TwilioRestError
	rest := errors.As(err, &te)
	status := int(c.status.Load())
	// A chain of ifs, not a switch: Go's coverage does not count a case's
	// expression, so mutation testing would call these rules untested.
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
		(rest && te.Code == 20429) {
		return Busy
	}
	if status >= 500 {
		return Failed
	}
	if status >= 400 {
		return Refused
	}
	if rest {
		return Unsent
	}
	if !c.wrote.Load() {
		return Unreached
	}
	return Lost
}

// SendError is err as core.Sender wants it for a request of this fate:
// plain when Twilio certainly did not take it, core.Permanent when it
// never will, core.ErrOutcomeUnknown when it may have. what names the
// request in a refusal ("the message", "the call").
func SendError(f Fate, err error, what string) error {
	switch f {
	case Busy:
		return fmt.Errorf("twilio is busy, try later: %w", err)
	case Failed:
		return fmt.Errorf("%w: twilio failed: %w", core.ErrOutcomeUnknown, err)
	case Refused:
		return core.Permanent(fmt.Errorf("twilio refused %s: %w", what, err))
	case Unsent:
		return core.Permanent(err)
	case Unreached:
		return fmt.Errorf("twilio not reached: %w", err)
	}
	return fmt.Errorf("%w: %w", core.ErrOutcomeUnknown, err)
}
