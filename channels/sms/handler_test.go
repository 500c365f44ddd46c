package sms_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

// The published vectors, against the validator the handler uses.
func TestRequestValidatorVectors(t *testing.T) {
	t.Parallel()
	v := client.NewRequestValidator("12345")
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	// twilio-python tests/unit/test_request_validator.py
	python := map[string]string{"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
		"From": "+14158675309", "To": "+18005551212"}
	if !v.Validate(u, python, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") {
		t.Error("python vector rejected")
	}
	// twilio-go client/request_validator_test.go
	goParams := map[string]string{"Digits": "1234", "CallSid": "CA1234567890ABCDE", "To": "+18005551212",
		"Caller": "+14158675309", "From": "+14158675309", "ReasonConferenceEnded": "test", "Reason": "Participant"}
	if !v.Validate(u, goParams, "vOEb5UThFn24KEfnOFLQY2AE5FY=") {
		t.Error("go vector rejected")
	}
	if !v.Validate(strings.Replace(u, ".com", ".com:1234", 1), goParams, "vOEb5UThFn24KEfnOFLQY2AE5FY=") {
		t.Error("go vector with a port rejected")
	}
	if v.Validate(u, goParams, "95+Bu0JVPi0r/SsESZCVf0dWAjw=") {
		t.Error("go vector with wrongly sorted parameters accepted")
	}
	python["Digits"] = "1235"
	if v.Validate(u, python, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") {
		t.Error("changed parameter accepted")
	}
}

type bundle struct {
	core *core.Core
	srv  *httptest.Server
	fake *faketwilio.Server
}

// setup serves the webhooks on a real HTTP server whose public URL is
// its own, on a core with a fresh database.
func setup(t *testing.T) *bundle {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := testenv.Core(t, func(o *core.Options) { o.PublicURL = srv.URL })
	sms.NewHandler(c, sms.Config{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, PublicURL: srv.URL + "/"},
		testenv.Logger(t)).Register(mux)
	fake := faketwilio.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	return &bundle{core: c, srv: srv, fake: fake}
}

func (b *bundle) inbound(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.core.Pool().QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE direction = 'in'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *bundle) post(t *testing.T, path, sig string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestInboundSigned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, err := b.fake.Phone(resident, b.srv.URL+"/twilio/sms").Send("big pothole at montgomery and 5th")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") ||
		!strings.Contains(string(body), "<Response") || strings.Contains(string(body), "<Message") {
		t.Fatalf("answer %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if n := b.inbound(t); n != 1 {
		t.Errorf("%d inbound messages stored, want 1", n)
	}
}

func TestInboundRefusesBadSignatures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	form := url.Values{"MessageSid": {faketwilio.NewSid("SM")}, "AccountSid": {accountSID},
		"From": {resident}, "To": {cityNumber}, "Body": {"hello"}, "NumMedia": {"0"}}
	hookURL := b.srv.URL + "/twilio/sms"
	for name, sig := range map[string]string{
		"missing":          "",
		"forged":           faketwilio.Sign("not the token", hookURL, form),
		"other path":       faketwilio.Sign(authToken, b.srv.URL+"/twilio/voice", form),
		"other host":       faketwilio.Sign(authToken, strings.Replace(hookURL, "127.0.0.1", "localhost", 1), form),
		"other parameters": faketwilio.Sign(authToken, hookURL, url.Values{"Body": {"hello"}}),
	} {
		if resp := b.post(t, "/twilio/sms", sig, form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s signature: %d", name, resp.StatusCode)
		}
	}
	// A parameter given twice could be read differently from how it was signed.
	twice := url.Values{"Body": {"hello", "evil"}}
	if resp := b.post(t, "/twilio/sms", faketwilio.Sign(authToken, hookURL, twice), twice); resp.StatusCode != http.StatusForbidden {
		t.Errorf("repeated parameter: %d", resp.StatusCode)
	}
	// The signature covers the query string too.
	if resp := b.post(t, "/twilio/sms?x=1", faketwilio.Sign(authToken, hookURL, form), form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("added query: %d", resp.StatusCode)
	}
	if resp := b.post(t, "/twilio/sms?x=1", faketwilio.Sign(authToken, hookURL+"?x=1", form), form); resp.StatusCode != http.StatusOK {
		t.Errorf("signed query: %d", resp.StatusCode)
	}
	if n := b.inbound(t); n != 1 {
		t.Errorf("%d inbound messages stored, want only the signed one", n)
	}
	big := url.Values{"Body": {strings.Repeat("x", 70<<10)}}
	if resp := b.post(t, "/twilio/sms", faketwilio.Sign(authToken, hookURL, big), big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", resp.StatusCode)
	}
}

func TestStatusCallbackSignature(t *testing.T) {
	t.Parallel()
	b := setup(t)
	form := url.Values{"MessageSid": {faketwilio.NewSid("SM")}, "MessageStatus": {"delivered"}, "AccountSid": {accountSID}}
	hookURL := b.srv.URL + "/twilio/sms/status"
	if resp := b.post(t, "/twilio/sms/status", faketwilio.Sign("forged", hookURL, form), form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged: %d", resp.StatusCode)
	}
	if resp := b.post(t, "/twilio/sms/status", faketwilio.Sign(authToken, hookURL, form), form); resp.StatusCode/100 != 2 {
		t.Errorf("signed: %d", resp.StatusCode)
	}
}
