package sms_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// A webhook carrying a NUL byte or bytes that are not UTF-8 in a field
// core stores is logged and dropped: answered 200 (or 204 for a status
// callback) so that Twilio does not retry it, with nothing written.
func TestWebhookBadBytes(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := testenv.Core(t, func(o *core.Options) { o.PublicURL = srv.URL })
	logs := &logBuffer{}
	sms.NewHandler(c, sms.Config{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, PublicURL: srv.URL + "/"},
		slog.New(slog.NewTextHandler(logs, nil))).Register(mux)
	ctx := context.Background()
	rows := func() int {
		t.Helper()
		var n int
		err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM contacts) +
			(SELECT count(*) FROM messages) + (SELECT count(*) FROM delivery_events) + `+testenv.CountJobs).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	post := func(path string, form url.Values) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", faketwilio.Sign(authToken, srv.URL+path, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	message := func() url.Values {
		return url.Values{"MessageSid": {faketwilio.NewSid("SM")}, "AccountSid": {accountSID}, "From": {resident},
			"To": {cityNumber}, "Body": {"big pothole at montgomery and 5th"}, "NumMedia": {"1"},
			"MediaUrl0": {"https://api.twilio.example/Media/ME1"}, "MediaContentType0": {"image/jpeg"}}
	}
	receipt := func() url.Values {
		return url.Values{"MessageSid": {faketwilio.NewSid("SM")}, "AccountSid": {accountSID},
			"MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	}

	before := rows()
	for _, bad := range []string{"\x00", "\xff"} {
		for _, field := range []string{"Body", "From", "MessageSid", "MediaUrl0", "MediaContentType0"} {
			form := message()
			form.Set(field, form.Get(field)+bad)
			logged := logs.count("refused and dropped")
			resp, body := post("/twilio/sms", form)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") ||
				!bytes.Contains(body, []byte("<Response")) || bytes.Contains(body, []byte("<Message")) {
				t.Errorf("inbound %s with %q: %d %q", field, bad, resp.StatusCode, body)
			}
			if n := logs.count("refused and dropped"); n != logged+1 {
				t.Errorf("inbound %s with %q: %d lines logged, want 1", field, bad, n-logged)
			}
		}
		for _, field := range []string{"MessageSid", "ErrorCode", "MessageStatus"} {
			form := receipt()
			form.Set(field, form.Get(field)+bad)
			logged := logs.count("refused and dropped")
			if resp, body := post("/twilio/sms/status", form); resp.StatusCode != http.StatusNoContent {
				t.Errorf("status %s with %q: %d %q", field, bad, resp.StatusCode, body)
			}
			if n := logs.count("refused and dropped"); n != logged+1 {
				t.Errorf("status %s with %q: %d lines logged, want 1", field, bad, n-logged)
			}
		}
	}
	if after := rows(); after != before {
		t.Errorf("refused webhooks wrote %d rows", after-before)
	}

	// The same webhooks, good, are taken: what was refused was the bytes.
	if resp, _ := post("/twilio/sms", message()); resp.StatusCode != http.StatusOK {
		t.Errorf("good inbound: %d", resp.StatusCode)
	}
	if resp, _ := post("/twilio/sms/status", receipt()); resp.StatusCode != http.StatusNoContent {
		t.Errorf("good receipt: %d", resp.StatusCode)
	}
	var msgs, events int
	if err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE direction = 'in'), (SELECT count(*) FROM delivery_events)`).
		Scan(&msgs, &events); err != nil || msgs != 1 || events != 1 {
		t.Errorf("good webhooks stored %d messages and %d receipts (%v), want 1 and 1", msgs, events, err)
	}
}
