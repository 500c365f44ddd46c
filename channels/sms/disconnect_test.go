package sms_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

// A webhook Twilio stopped waiting for is neither a 500 nor an error in the
// log: its cancelled transaction stored nothing, and Twilio retries it.
func TestTwilioGoneIsNoError(t *testing.T) {
	t.Parallel()
	const public = "https://311.example.gov"
	c := testenv.Core(t, func(o *core.Options) { o.PublicURL = public })
	var logs bytes.Buffer // the handler runs in this goroutine
	mux := http.NewServeMux()
	sms.NewHandler(c, sms.Config{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, PublicURL: public},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))).Register(mux)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for path, form := range map[string]url.Values{
		"/twilio/sms": {"MessageSid": {faketwilio.NewSid("SM")}, "From": {resident}, "To": {cityNumber},
			"Body": {"pothole at 1735 Montgomery Street"}, "AccountSid": {accountSID}},
		"/twilio/sms/status": {"MessageSid": {faketwilio.NewSid("SM")}, "MessageStatus": {"delivered"}, "AccountSid": {accountSID}},
	} {
		r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode())).WithContext(gone)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", faketwilio.Sign(authToken, public+path, form))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != 499 {
			t.Errorf("POST %s, Twilio gone: %d", path, w.Code)
		}
	}
	if out := logs.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") || !strings.Contains(out, "Twilio went away") {
		t.Errorf("a webhook Twilio abandoned was logged above debug, or not at all:\n%s", out)
	}
	var n int
	if err := c.Pool().QueryRow(context.Background(), `SELECT count(*) FROM messages`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d messages stored (%v), want none", n, err)
	}
}
