package voice_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/channels/sms"
	"townline/channels/voice"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/server"
	"townline/internal/testenv"
)

const (
	accountSID = "AC00000000000000000000000000voice"
	authToken  = "voice000000000000000000000000000"
	staff      = "+15305382401"
)

// world is the phone channel on one machine: the real HTTP server with
// the voice webhooks, a core on a fresh database sending texts and calls
// through the fake Twilio, and the fake playing Twilio for callers.
type world struct {
	t       *testing.T
	pool    *pgxpool.Pool
	c       *core.Core
	srv     *httptest.Server
	fake    *faketwilio.Server
	cfg     voice.Config
	handler atomic.Pointer[http.Handler]
	now     atomic.Pointer[time.Time]
	mods    func(*core.Options)
	logs    logBuffer // what the voice handler logged, at debug and above
}

// A Tuesday at 10:00 in Oroville: the offices are open.
var officeHours = time.Date(2026, 3, 3, 10, 0, 0, 0, mustLoad("America/Los_Angeles"))

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func newWorld(t *testing.T, cfgMods ...func(*voice.Config)) *world {
	t.Helper()
	return newWorldOf(t, nil, cfgMods...)
}

// newWorldOf is newWorld with city changing the city's file.
func newWorldOf(t *testing.T, city func(*core.City), cfgMods ...func(*voice.Config)) *world {
	t.Helper()
	w := &world{t: t, pool: testenv.Pool(t)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		(*w.handler.Load()).ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	w.fake = faketwilio.New(accountSID, authToken)
	t.Cleanup(w.fake.Close)
	w.fake.SetStatuses(5*time.Millisecond, "queued", "sent", "delivered")
	w.fake.SetCallStatuses(5*time.Millisecond, "initiated", "ringing", "in-progress", "completed")
	w.setNow(officeHours)
	w.cfg = voice.Config{
		AccountSID: accountSID, AuthToken: authToken, From: faketwilio.CityNumber,
		APIURL: w.fake.URL(), PublicURL: w.srv.URL,
		Now: func() time.Time { return *w.now.Load() },
	}
	for _, m := range cfgMods {
		m(&w.cfg)
	}
	texts, err := sms.NewClient(sms.Config{AccountSID: accountSID, AuthToken: authToken, From: faketwilio.CityNumber,
		APIURL: w.fake.URL(), PublicURL: w.srv.URL}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := voice.NewCaller(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.mods = func(o *core.Options) {
		if city != nil {
			city(o.City)
		}
		o.PublicURL = w.srv.URL
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelVoice: calls}
	}
	w.serve(testenv.CoreOn(t, w.pool, w.mods))
	return w
}

// serve puts a new core and voice handler behind the server.
func (w *world) serve(c *core.Core) {
	w.c = c
	logger := slog.New(slog.NewMultiHandler(testenv.Logger(w.t).Handler(),
		slog.NewTextHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var h http.Handler = server.New(c, server.Options{Logger: testenv.Logger(w.t), MaxBody: 1 << 20,
		Channels: []server.Channel{voice.NewHandler(c, w.cfg, logger)}})
	w.handler.Store(&h)
}

// restart stops the instance and starts another on the same database, as
// a deploy does between two webhooks of a call.
func (w *world) restart() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Stop(ctx); err != nil {
		w.t.Fatal(err)
	}
	w.serve(testenv.CoreOn(w.t, w.pool, w.mods))
}

func (w *world) setNow(t time.Time) { w.now.Store(&t) }

// call returns a phone calling the city, with the number's status callback set.
func (w *world) call(number string) *faketwilio.Caller {
	c := w.fake.Call(number, w.srv.URL+"/twilio/voice")
	c.StatusCallback = w.srv.URL + "/twilio/voice/status"
	return c
}

// hears checks what the call said since the caller last answered.
func hears(t *testing.T, c *faketwilio.Caller, want ...string) {
	t.Helper()
	said := c.Said()
	for _, s := range want {
		if !strings.Contains(said, s) {
			t.Errorf("the call did not say %q; it said:\n%s", s, said)
		}
	}
}

// heardNot checks the call did not say something since the last answer.
func heardNot(t *testing.T, c *faketwilio.Caller, not string) {
	t.Helper()
	if said := c.Said(); strings.Contains(said, not) {
		t.Errorf("the call said %q:\n%s", not, said)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waits checks the call waits at a Gather or Record with these attributes.
func waits(t *testing.T, c *faketwilio.Caller, verb string, attrs ...string) {
	t.Helper()
	v, got := c.Waiting()
	if v != verb {
		t.Fatalf("the call waits at %q, want %q (it said: %s)", v, verb, c.Said())
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		if got[attrs[i]] != attrs[i+1] {
			t.Errorf("<%s %s=%q>, want %q", verb, attrs[i], got[attrs[i]], attrs[i+1])
		}
	}
}

// only returns the one request in the database.
func (w *world) only() core.Request {
	w.t.Helper()
	rs, err := w.c.Requests(context.Background(), core.Filter{})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(rs) != 1 {
		w.t.Fatalf("%d requests, want 1", len(rs))
	}
	return rs[0]
}

// spelled is a request number as the menu reads it: "1, 2, 3".
func spelled(id int64) string {
	return strings.Join(strings.Split(strconv.FormatInt(id, 10), ""), ", ")
}
