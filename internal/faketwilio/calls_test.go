package faketwilio_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"townline/internal/faketwilio"
)

func postCall(t *testing.T, s *faketwilio.Server, user, pass string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/2010-04-01/Accounts/"+sid+"/Calls.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestCallsRefuseWhatTwilioRefuses(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(sid, token)
	defer s.Close()
	twiml := `<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say></Response>`
	for _, c := range []struct {
		form   url.Values
		user   string
		status int
		code   float64
	}{
		{url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Twiml": {twiml}}, "ACwrong", 401, 20003},
		{url.Values{"From": {"+15305551311"}, "Twiml": {twiml}}, sid, 400, 21201},
		{url.Values{"To": {"5305550100"}, "From": {"+15305551311"}, "Twiml": {twiml}}, sid, 400, 21211},
		{url.Values{"To": {"+15305550100"}, "Twiml": {twiml}}, sid, 400, 21213},
		{url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}}, sid, 400, 21205},
		{url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Twiml": {"<Response><Say>"}}, sid, 400, 12100},
		{url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Twiml": {strings.Repeat("x", 4001)}}, sid, 400, 21232},
	} {
		resp, body := postCall(t, s, c.user, token, c.form)
		if resp.StatusCode != c.status || body["code"] != c.code {
			t.Errorf("%v: %d %v, want %d %v", c.form, resp.StatusCode, body["code"], c.status, c.code)
		}
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("%d calls placed", n)
	}
}

// A call moves through its statuses; its callback gets the end, and the
// rest only when asked, each signed.
func TestCallStatusCallbacks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string][]string{}
	arrived := make(chan struct{}, 16)
	v := client.NewRequestValidator(token)
	var cb *httptest.Server
	cb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		if !v.Validate(cb.URL+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			t.Errorf("callback badly signed: %v", r.PostForm)
		}
		mu.Lock()
		got[r.PostForm.Get("CallSid")] = append(got[r.PostForm.Get("CallSid")], r.PostForm.Get("CallStatus"))
		mu.Unlock()
		arrived <- struct{}{}
	}))
	defer cb.Close()
	s := faketwilio.New(sid, token)
	defer s.Close()
	s.SetCallStatuses(time.Millisecond, "initiated", "ringing", "in-progress", "completed")
	form := url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Url": {"https://example.com/twiml"},
		"StatusCallback": {cb.URL + "/status"}}
	_, plain := postCall(t, s, sid, token, form)
	form["StatusCallbackEvent"] = []string{"initiated", "ringing", "answered", "completed"}
	_, all := postCall(t, s, sid, token, form)
	if plain["status"] != "queued" || !strings.HasPrefix(plain["sid"].(string), "CA") {
		t.Errorf("created %v", plain)
	}
	awaitCallbacks(t, arrived, 5) // the plain call's end, and the other's four
	mu.Lock()
	a, b := slices.Clone(got[plain["sid"].(string)]), slices.Clone(got[all["sid"].(string)])
	mu.Unlock()
	if len(a) != 1 || a[0] != "completed" || !slices.Equal(b, []string{"initiated", "ringing", "in-progress", "completed"}) {
		t.Errorf("callbacks %v and %v", a, b)
	}
	if calls, err := s.WaitCalls(2, time.Second); err != nil || calls[0].Status != "completed" {
		t.Errorf("calls %+v, %v", calls, err)
	}
}
