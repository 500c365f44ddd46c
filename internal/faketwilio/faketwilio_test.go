package faketwilio_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"townline/internal/faketwilio"
)

const (
	sid   = "AC00000000000000000000000000000001"
	token = "fa4e70ce1234567890abcdef12345678"
)

func TestSignMatchesPublishedVectors(t *testing.T) {
	t.Parallel()
	// twilio-python tests/unit/test_request_validator.py
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
	if got, want := faketwilio.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params), "RSOYDt4T1cUTdK1PDd93/VVr8B8="; got != want {
		t.Errorf("python vector: got %s, want %s", got, want)
	}
	// twilio-go client/request_validator_test.go
	params.Del("Caller")
	params.Set("Caller", "+14158675309")
	params.Set("ReasonConferenceEnded", "test")
	params.Set("Reason", "Participant")
	if got, want := faketwilio.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params), "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("go vector: got %s, want %s", got, want)
	}
}

func post(t *testing.T, s *faketwilio.Server, user, pass string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json", strings.NewReader(form.Encode()))
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

// awaitCallbacks waits for n callbacks to arrive, each signalled on
// arrived by the test's callback handler.
func awaitCallbacks(t *testing.T, arrived <-chan struct{}, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for i := range n {
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatalf("%d callbacks arrived in 5s, want %d", i, n)
		}
	}
}

func TestCreateMessage(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []url.Values
	var sigOK []bool
	arrived := make(chan struct{}, 16)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		v := client.NewRequestValidator(token)
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		mu.Lock()
		got = append(got, r.PostForm)
		sigOK = append(sigOK, v.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")))
		mu.Unlock()
		arrived <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer cb.Close()
	s := faketwilio.New(sid, token)
	defer s.Close()
	s.SetStatuses(time.Millisecond, "queued", "sent", "delivered")

	resp, _ := post(t, s, sid, "wrong", url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Body": {"hi"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad credentials: %d", resp.StatusCode)
	}
	resp, body := post(t, s, sid, token, url.Values{"To": {"5550100"}, "From": {"+15305551311"}, "Body": {"hi"}})
	if resp.StatusCode != 400 || body["code"] != float64(21211) {
		t.Fatalf("invalid To: %d %v", resp.StatusCode, body)
	}
	resp, body = post(t, s, sid, token, url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Body": {"hi"},
		"StatusCallback": {cb.URL + "/twilio/sms/status?x=1"}})
	if resp.StatusCode != http.StatusCreated || body["status"] != "queued" || !strings.HasPrefix(body["sid"].(string), "SM") || len(body["sid"].(string)) != 34 {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	ms, err := s.WaitMessages(1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m := ms[0]; m.To != "+15305550100" || m.From != "+15305551311" || m.Body != "hi" || m.Sid != body["sid"] {
		t.Errorf("recorded %+v", m)
	}
	awaitCallbacks(t, arrived, 3)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("%d callbacks, want 3", len(got))
	}
	for i, status := range []string{"queued", "sent", "delivered"} {
		if got[i].Get("MessageStatus") != status || got[i].Get("MessageSid") != body["sid"] || !sigOK[i] {
			t.Errorf("callback %d: %v, signature valid %v", i, got[i], sigOK[i])
		}
	}
}

func TestFaultsAndList(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(sid, token)
	defer s.Close()
	s.SetStatuses(0)
	msg := url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Body": {"hi"}}
	s.FailNext(1, 500, 20500)
	if resp, body := post(t, s, sid, token, msg); resp.StatusCode != 500 || body["code"] != float64(20500) {
		t.Fatalf("fault: %d %v", resp.StatusCode, body)
	}
	s.DropNext(1, true)
	req, _ := http.NewRequest("POST", s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json", strings.NewReader(msg.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sid, token)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("dropped connection: no error")
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d messages recorded, want the dropped but accepted one", n)
	}
	list, _ := http.NewRequest("GET", s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json?To=%2B15305550100&PageSize=5", nil)
	list.SetBasicAuth(sid, token)
	resp, err := http.DefaultClient.Do(list)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Messages []struct{ Sid, Body string } }
	json.NewDecoder(resp.Body).Decode(&page)
	if len(page.Messages) != 1 || page.Messages[0].Body != "hi" {
		t.Errorf("list: %+v", page)
	}
}

func TestMedia(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(sid, token)
	defer s.Close()
	u := s.AddMedia("image/jpeg", []byte("jpeg"))
	if !strings.HasPrefix(u, s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages/MM") {
		t.Fatalf("media URL %s", u)
	}
	get := func(u string, auth bool) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		if auth {
			req.SetBasicAuth(sid, token)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(u, false); resp.StatusCode != 401 {
		t.Errorf("without auth: %d", resp.StatusCode)
	}
	resp := get(u, true)
	loc, _ := resp.Location()
	if resp.StatusCode != 307 || loc == nil || strings.HasPrefix(loc.String(), s.URL()) {
		t.Fatalf("redirect: %d %v", resp.StatusCode, loc)
	}
	if resp := get(loc.String(), true); resp.StatusCode != 403 {
		t.Errorf("CDN with credentials: %d", resp.StatusCode)
	}
	cdn, err := http.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	defer cdn.Body.Close()
	b, _ := io.ReadAll(cdn.Body)
	if cdn.StatusCode != 200 || string(b) != "jpeg" || cdn.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("CDN: %d %q %s", cdn.StatusCode, b, cdn.Header.Get("Content-Type"))
	}
}

func TestPhoneSignsWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var forms []url.Values
	var base string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		v := client.NewRequestValidator(token)
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		if !v.Validate(base+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			w.WriteHeader(403)
			return
		}
		mu.Lock()
		forms = append(forms, r.PostForm)
		mu.Unlock()
		w.Write([]byte("<Response/>"))
	}))
	defer hook.Close()
	base = hook.URL
	s := faketwilio.New(sid, token)
	defer s.Close()
	p := s.Phone("+15305550100", hook.URL+"/twilio/sms")
	resp, err := p.Send("pothole", faketwilio.MediaFile{ContentType: "image/jpeg", Data: []byte("x")})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("send: %v %v", resp, err)
	}
	if resp, err := p.Resend(p.LastSid()); err != nil || resp.StatusCode != 200 {
		t.Fatalf("resend: %v %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	f := forms[0]
	if f.Get("Body") != "pothole" || f.Get("From") != "+15305550100" || f.Get("To") != faketwilio.CityNumber ||
		f.Get("NumMedia") != "1" || !strings.HasPrefix(f.Get("MessageSid"), "MM") || f.Get("MediaContentType0") != "image/jpeg" {
		t.Errorf("webhook form %v", f)
	}
	if forms[1].Get("MessageSid") != f.Get("MessageSid") {
		t.Errorf("resend changed the sid")
	}
}

// A slow Twilio: a sender that hangs up once the message is taken has
// sent it all the same.
func TestSendDelay(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(sid, token)
	defer s.Close()
	s.SetStatuses(0)
	s.SetSendDelay(0, time.Hour)
	msg := url.Values{"To": {"+15305550100"}, "From": {"+15305551311"}, "Body": {"taken"}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json", strings.NewReader(msg.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sid, token)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	got, err := s.WaitMessages(1, 10*time.Second)
	if err != nil || got[0].Body != "taken" {
		t.Fatalf("before the answer: %v, %+v", err, got)
	}
	select {
	case err := <-errc:
		t.Fatalf("answered before the delay: %v", err)
	default:
	}
	cancel()
	if err := <-errc; err == nil {
		t.Error("a sender that hung up got an answer")
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages after the sender hung up, want 1", n)
	}
}
