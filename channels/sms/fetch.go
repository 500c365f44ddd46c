package sms

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"townline/core"
)

// Fetch opens one media file of an inbound MMS. The account's credentials
// go to the Twilio API host only, never to the CDN it redirects to, nor to
// any other host a URL might name.
func (c *Client) Fetch(ctx context.Context, rawURL string) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, core.Permanent(fmt.Errorf("sms: media URL %q is not an http(s) URL", rawURL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, core.Permanent(err)
	}
	if c.rest.IsAPI(u) {
		req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	}
	resp, err := c.media.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sms: fetch media: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err := fmt.Errorf("sms: fetch media %s: %s", u.Path, resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
			resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return nil, core.Permanent(err) // gone or forbidden: asking again will not help
		}
		return nil, err
	}
	return resp.Body, nil
}
