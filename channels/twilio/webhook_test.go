package twilio

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"townline/internal/faketwilio"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef"
	v := NewVerifier(token, "https://311.example.gov/", "test", nil)
	form := url.Values{"CallSid": {"CA1"}, "Digits": {"1"}}
	post := func(target, sig string, f url.Values) (*httptest.ResponseRecorder, url.Values, bool) {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(f.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			r.Header.Set("X-Twilio-Signature", sig)
		}
		w := httptest.NewRecorder()
		got, ok := v.Verify(w, r)
		return w, got, ok
	}
	// Signed over the public URL, whatever the Host header says.
	if _, got, ok := post("http://10.0.0.7:8080/twilio/voice?n=2",
		faketwilio.Sign(token, "https://311.example.gov/twilio/voice?n=2", form), form); !ok || got.Get("Digits") != "1" {
		t.Errorf("signed webhook refused: %v %v", got, ok)
	}
	for name, tc := range map[string]struct {
		target, sig string
		form        url.Values
		code        int
	}{
		"missing":     {"/twilio/voice", "", form, http.StatusForbidden},
		"forged":      {"/twilio/voice", faketwilio.Sign("forged", "https://311.example.gov/twilio/voice", form), form, http.StatusForbidden},
		"Host header": {"/twilio/voice", faketwilio.Sign(token, "http://example.com/twilio/voice", form), form, http.StatusForbidden},
		"query added": {"/twilio/voice?n=2", faketwilio.Sign(token, "https://311.example.gov/twilio/voice", form), form, http.StatusForbidden},
		// Signed over one value, with a second one slipped in: the one
		// the signature checks is not the one a reader might take.
		"repeated": {"/twilio/voice", faketwilio.Sign(token, "https://311.example.gov/twilio/voice", form),
			url.Values{"CallSid": {"CA1"}, "Digits": {"1", "9"}}, http.StatusForbidden},
		"too large": {"/twilio/voice", "x", url.Values{"Body": {strings.Repeat("x", maxWebhookBody)}}, http.StatusRequestEntityTooLarge},
	} {
		if w, _, ok := post(tc.target, tc.sig, tc.form); ok || w.Code != tc.code {
			t.Errorf("%s: accepted %v, status %d, want %d", name, ok, w.Code, tc.code)
		}
	}
}

func TestPublicBase(t *testing.T) {
	t.Parallel()
	if got, err := PublicBase("https://311.example.gov/"); err != nil || got != "https://311.example.gov" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "311.example.gov", "/twilio", "https://"} {
		if _, err := PublicBase(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
