package voice_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"townline/channels/voice"
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

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// refusals counts the handler's lines about a payload it refused.
func (l *logBuffer) refusals() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "step refused") + strings.Count(l.b.String(), "refused and dropped")
}

// A webhook carrying a NUL byte or bytes that are not UTF-8 in a field
// core stores is logged and answered as Twilio expects, never with an
// error it would retry: a step with the spoken apology (200, TwiML), a
// callback with 204. Nothing is written.
func TestWebhookBadBytes(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := testenv.Core(t, func(o *core.Options) { o.PublicURL = srv.URL })
	logs := &logBuffer{}
	voice.NewHandler(c, voice.Config{AccountSID: accountSID, AuthToken: authToken, From: faketwilio.CityNumber, PublicURL: srv.URL},
		slog.New(slog.NewTextHandler(logs, nil))).Register(mux)
	ctx := context.Background()
	rows := func() int {
		t.Helper()
		var n int
		err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM contacts) +
			(SELECT count(*) FROM messages) + (SELECT count(*) FROM delivery_events) + (SELECT count(*) FROM channel_state)`).Scan(&n)
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
	call := func(more ...string) url.Values {
		f := url.Values{"CallSid": {faketwilio.NewSid("CA")}, "AccountSid": {accountSID}, "From": {"+15305550160"},
			"To": {faketwilio.CityNumber}, "RecordingSid": {faketwilio.NewSid("RE")},
			"RecordingUrl": {"https://api.twilio.example/Recordings/RE1"}}
		for i := 0; i+1 < len(more); i += 2 {
			f.Set(more[i], more[i+1])
		}
		return f
	}
	cases := []struct {
		name, path, field string
		form              url.Values
		status            int
	}{
		{"new call", "/twilio/voice", "CallSid", call(), http.StatusOK},
		{"menu", "/twilio/voice/menu", "CallSid", call("Digits", "1"), http.StatusOK},
		{"recorded answer", "/twilio/voice/recorded?for=what", "RecordingSid", call(), http.StatusOK},
		{"recorded answer url", "/twilio/voice/recorded?for=where", "RecordingUrl", call(), http.StatusOK},
		{"voicemail", "/twilio/voice/voicemail", "RecordingSid", call(), http.StatusOK},
		{"transcript", "/twilio/voice/transcript?kind=voicemail", "TranscriptionText",
			call("TranscriptionStatus", "completed", "TranscriptionText", "call me back"), http.StatusNoContent},
		{"transcript id", "/twilio/voice/transcript?kind=report", "RecordingSid",
			call("TranscriptionStatus", "completed", "TranscriptionText", "a dead dog"), http.StatusNoContent},
		{"transcript url", "/twilio/voice/transcript?kind=report", "RecordingUrl",
			call("TranscriptionStatus", "completed", "TranscriptionText", "a dead dog"), http.StatusNoContent},
		{"update call status", "/twilio/voice/status", "CallSid",
			call("Direction", "outbound-api", "CallStatus", "completed"), http.StatusNoContent},
		{"update call error", "/twilio/voice/status", "ErrorCode",
			call("Direction", "outbound-api", "CallStatus", "failed", "ErrorCode", "31005"), http.StatusNoContent},
		{"update call status word", "/twilio/voice/status", "CallStatus",
			call("Direction", "outbound-api", "CallStatus", "completed"), http.StatusNoContent},
		{"menu call ended", "/twilio/voice/status", "CallSid", call("Direction", "inbound", "CallStatus", "completed"), http.StatusNoContent},
	}
	before := rows()
	for _, bad := range []string{"\x00", "\xff"} {
		for _, tc := range cases {
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = append([]string(nil), v...)
			}
			form.Set(tc.field, form.Get(tc.field)+bad)
			logged := logs.refusals()
			resp, body := post(tc.path, form)
			if resp.StatusCode != tc.status {
				t.Errorf("%s with %q in %s: %d %s, want %d", tc.name, bad, tc.field, resp.StatusCode, body, tc.status)
			}
			if tc.status == http.StatusOK && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") ||
				!bytes.Contains(body, []byte("<Hangup"))) {
				t.Errorf("%s with %q in %s: %q, want the apology and a hang-up", tc.name, bad, tc.field, body)
			}
			if n := logs.refusals(); n != logged+1 {
				t.Errorf("%s with %q in %s: %d refusals logged, want 1", tc.name, bad, tc.field, n-logged)
			}
		}
	}
	if after := rows(); after != before {
		t.Errorf("refused webhooks wrote %d rows", after-before)
	}

	// Good, the same webhooks are taken: what was refused was the bytes.
	if resp, body := post("/twilio/voice", call()); resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte("<Hangup")) {
		t.Errorf("good new call: %d %s", resp.StatusCode, body)
	}
	good := call("TranscriptionStatus", "completed", "TranscriptionText", "call me back")
	if resp, _ := post("/twilio/voice/transcript?kind=voicemail", good); resp.StatusCode != http.StatusNoContent {
		t.Errorf("good transcript: %d", resp.StatusCode)
	}
	var states, msgs int
	if err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM channel_state WHERE key LIKE 'voice:call:%'), (SELECT count(*) FROM messages)`).
		Scan(&states, &msgs); err != nil || states != 1 || msgs != 1 {
		t.Errorf("good webhooks stored %d call states and %d messages (%v), want 1 and 1", states, msgs, err)
	}
}

// Anyone may check on any request by phone: they hear its address as the
// public pages show it, without the phone number or email address a
// reporter typed into it.
func TestStatusCheckMasksContactDetails(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r, err := w.c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelWeb, ServiceCode: "streetlight",
		Address: "Bird Street, call 530-555-0177 or zed@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	call := w.call("+15305550111")
	must(t, call.Dial())
	must(t, call.Press("2"))
	must(t, call.Press(strconv.FormatInt(r.ID, 10)+"#"))
	said := call.Said()
	if !strings.Contains(said, "at Bird Street, call [phone removed] or [email removed]") ||
		strings.Contains(said, "555") || strings.Contains(said, "zed@") {
		t.Errorf("the call said:\n%s", said)
	}
}
