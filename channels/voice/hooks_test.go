package voice_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/channels/voice"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

// hooks serves the voice webhooks on a core whose database can be cut.
type hooks struct {
	srv  *httptest.Server
	pool *pgxpool.Pool
	down atomic.Bool
	logs logBuffer
}

func newHooks(t *testing.T) *hooks {
	t.Helper()
	o := &hooks{}
	cfg, err := pgxpool.ParseConfig(testenv.URL(testenv.Pool(t)))
	if err != nil {
		t.Fatal(err)
	}
	var dialer net.Dialer
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if o.down.Load() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("the database is down")}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	if o.pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.pool.Close)
	mux := http.NewServeMux()
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	c := testenv.CoreOn(t, o.pool, func(opts *core.Options) { opts.PublicURL = o.srv.URL })
	t.Cleanup(func() { o.setDown(false) }) // before the core stops
	voice.NewHandler(c, voice.Config{AccountSID: accountSID, AuthToken: authToken, From: faketwilio.CityNumber, PublicURL: o.srv.URL},
		slog.New(slog.NewTextHandler(&o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))).Register(mux)
	return o
}

func (o *hooks) setDown(down bool) {
	o.down.Store(down)
	if down {
		o.pool.Reset() // the connections open now break with it
	}
}

// post sends a signed webhook as Twilio does.
func (o *hooks) post(t *testing.T, ctx context.Context, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, o.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", faketwilio.Sign(authToken, o.srv.URL+path, form))
	w := httptest.NewRecorder()
	o.srv.Config.Handler.ServeHTTP(w, req)
	return w
}

func callbacks() map[string]url.Values {
	sid := faketwilio.NewSid("CA")
	return map[string]url.Values{
		"/twilio/voice/status": {"CallSid": {sid}, "CallStatus": {"completed"}, "Direction": {"outbound-api"},
			"AccountSid": {accountSID}},
		"/twilio/voice/status?menu": {"CallSid": {sid}, "CallStatus": {"completed"}, "Direction": {"inbound"},
			"AccountSid": {accountSID}},
		"/twilio/voice/transcript?kind=voicemail": {"CallSid": {sid}, "RecordingSid": {faketwilio.NewSid("RE")},
			"RecordingUrl": {"https://api.twilio.com/Recordings/RE1"}, "From": {"+15305550170"},
			"TranscriptionStatus": {"completed"}, "TranscriptionText": {"call me back"}, "AccountSid": {accountSID}},
	}
}

func steps() map[string]url.Values {
	call := url.Values{"CallSid": {faketwilio.NewSid("CA")}, "From": {"+15305550170"}, "To": {faketwilio.CityNumber},
		"AccountSid": {accountSID}}
	menu := url.Values{"Digits": {"1"}}
	for k, v := range call {
		menu[k] = v
	}
	return map[string]url.Values{"/twilio/voice": call, "/twilio/voice/menu": menu}
}

// While the database is away, Twilio is asked to retry the callbacks it
// retries (503, Retry-After), and a caller hears an apology rather than
// Twilio's "application error"; once it is back, the same callbacks are
// taken.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	o := newHooks(t)
	ctx := context.Background()
	o.setDown(true)
	cbs := callbacks()
	for path, form := range cbs {
		if w := o.post(t, ctx, path, form); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s during the outage: %d, Retry-After %q", path, w.Code, w.Header().Get("Retry-After"))
		}
	}
	for path, form := range steps() {
		w := o.post(t, ctx, path, form)
		if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "our phone system is having trouble") ||
			!strings.Contains(body, "<Hangup") {
			t.Errorf("%s during the outage: %d %s", path, w.Code, body)
		}
	}
	if n := strings.Count(o.logs.String(), "database unavailable"); n != len(cbs) {
		t.Errorf("%d callbacks logged as not recorded, want %d:\n%s", n, len(cbs), o.logs.String())
	}

	o.setDown(false)
	for path, form := range cbs {
		if w := o.post(t, ctx, path, form); w.Code != http.StatusNoContent {
			t.Errorf("%s after the outage: %d %s", path, w.Code, w.Body)
		}
	}
}

// A webhook Twilio stopped waiting for is neither a 500 nor an error or
// warning in the log: whatever failed failed for that, nothing was
// stored, and Twilio retries it.
func TestTwilioGoneIsNoError(t *testing.T) {
	t.Parallel()
	o := newHooks(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for path, form := range callbacks() {
		if w := o.post(t, gone, path, form); w.Code != 499 {
			t.Errorf("%s, Twilio gone: %d", path, w.Code)
		}
	}
	for path, form := range steps() {
		if w := o.post(t, gone, path, form); w.Code == http.StatusInternalServerError {
			t.Errorf("%s, Twilio gone: %d", path, w.Code)
		}
	}
	logs := o.logs.String()
	if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "level=WARN") ||
		strings.Count(logs, "Twilio went away") != 3 || strings.Count(logs, "the caller's webhook went away") != 2 {
		t.Errorf("webhooks Twilio abandoned were logged above debug, or not each once:\n%s", logs)
	}
	var n int
	if err := o.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM delivery_events) +
		(SELECT count(*) FROM channel_state)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows stored (%v), want none", n, err)
	}
}

// A call is known by its CallSid, 34 characters at Twilio; up to 100 are
// taken, a longer one is no call of Twilio's and hears the apology.
func TestCallSidLength(t *testing.T) {
	t.Parallel()
	o := newHooks(t)
	for n, ok := range map[int]bool{34: true, 100: true, 101: false, 0: false} {
		sid := ""
		if n > 0 {
			sid = "CA" + strings.Repeat("0", n-2)
		}
		w := o.post(t, context.Background(), "/twilio/voice", url.Values{"CallSid": {sid}, "From": {"+15305550171"},
			"To": {faketwilio.CityNumber}, "AccountSid": {accountSID}})
		if body := w.Body.String(); w.Code != http.StatusOK || strings.Contains(body, "To report a problem, press 1") != ok ||
			strings.Contains(body, "having trouble") == ok {
			t.Errorf("a CallSid of %d characters: %d %s", n, w.Code, body)
		}
	}
}

// Twilio may post a transcript before the call's own webhook brings the
// recording: a voicemail's transcript still reaches staff as a voicemail,
// and a report's recording is not taken for one.
func TestTranscriptBeforeRecording(t *testing.T) {
	t.Parallel()
	o := newHooks(t)
	ctx := context.Background()
	for kind, want := range map[string]string{"voicemail": "voicemail", "report": ""} {
		rec := faketwilio.NewSid("RE")
		w := o.post(t, ctx, "/twilio/voice/transcript?kind="+kind, url.Values{"CallSid": {faketwilio.NewSid("CA")},
			"RecordingSid": {rec}, "RecordingUrl": {"https://api.twilio.com/Recordings/" + rec}, "From": {"+15305550172"},
			"TranscriptionStatus": {"completed"}, "TranscriptionText": {"the light is out"}, "AccountSid": {accountSID}})
		if w.Code != http.StatusNoContent {
			t.Fatalf("%s transcript: %d %s", kind, w.Code, w.Body)
		}
		var flag string
		if err := o.pool.QueryRow(ctx, `SELECT flag FROM messages WHERE provider_id = $1`, rec).Scan(&flag); err != nil || flag != want {
			t.Errorf("a %s's transcript first: flag %q (%v), want %q", kind, flag, err, want)
		}
	}
}
