package sms_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/server"
	"townline/internal/testenv"
)

// world is townline's whole SMS loop on one machine: the real HTTP
// server, a core on a fresh database, and the fake Twilio both sending
// webhooks and taking the city's texts.
type world struct {
	t    *testing.T
	c    *core.Core
	srv  *httptest.Server
	fake *faketwilio.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	fake := faketwilio.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	fake.SetStatuses(5*time.Millisecond, "queued", "sent", "delivered")
	cfg := sms.Config{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, APIURL: fake.URL(), PublicURL: srv.URL}
	client, err := sms.NewClient(cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.Core(t, func(o *core.Options) {
		o.PublicURL = srv.URL
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: client}
		o.Fetchers = map[core.Channel]core.MediaFetcher{core.ChannelSMS: client}
	})
	handler = server.New(c, server.Options{Logger: testenv.Logger(t), MaxBody: 10 << 20,
		Channels: []server.Channel{sms.NewHandler(c, cfg, testenv.Logger(t))}})
	return &world{t: t, c: c, srv: srv, fake: fake}
}

func (w *world) phone(number string) *faketwilio.Phone {
	return w.fake.Phone(number, w.srv.URL+"/twilio/sms")
}

// text sends a text and checks Twilio got the empty TwiML answer.
func (w *world) text(p *faketwilio.Phone, body string, media ...faketwilio.MediaFile) {
	w.t.Helper()
	resp, err := p.Send(body, media...)
	if err != nil {
		w.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("text %q: webhook answered %s", body, resp.Status)
	}
}

// answer waits for the n-th text (from 1) the city sends p.
func (w *world) answer(p *faketwilio.Phone, n int) faketwilio.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 10*time.Second)
	defer cancel()
	for i, seen := 0, 0; ; i++ {
		m, err := w.fake.Next(ctx, i)
		if err != nil {
			w.t.Fatalf("answer %d never came; got %+v", n, p.Received())
		}
		if m.To == p.Number {
			if seen++; seen == n {
				return m
			}
		}
	}
}

// quiet checks that p received exactly n texts, once no job can still
// send one.
func (w *world) quiet(p *faketwilio.Phone, n int) {
	w.t.Helper()
	testenv.WaitJobsIdle(w.t, w.c.Pool())
	if got := p.Received(); len(got) != n {
		w.t.Errorf("%s received %d texts, want %d: %+v", p.Number, len(got), n, got)
	}
}

func (w *world) rows() (n int) {
	w.t.Helper()
	err := w.c.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM messages) +
		(SELECT count(*) FROM requests) + (SELECT count(*) FROM attachments) + `+testenv.CountJobs).Scan(&n)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func requestNumber(t *testing.T, body string) int64 {
	t.Helper()
	var id int64
	if i := strings.Index(body, "#"); i < 0 || func() bool { _, err := fmt.Sscan(body[i+1:], &id); return err != nil }() {
		t.Fatalf("no request number in %q", body)
	}
	return id
}

func photo(t *testing.T) faketwilio.MediaFile {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 32, 24)), nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	data := append(append(append([]byte{}, raw[:2]...), core.ExifWithGPS(39.5138, -121.5564)...), raw[2:]...)
	return faketwilio.MediaFile{ContentType: "image/jpeg", Data: data}
}

func TestTextWithPhotoBecomesARequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.phone("+15305550120")
	w.text(p, "big pothole at montgomery and 5th", photo(t))

	ack := w.answer(p, 1)
	id := requestNumber(t, ack.Body)
	if ack.From != cityNumber || ack.StatusCallback != w.srv.URL+"/twilio/sms/status" ||
		!strings.Contains(ack.Body, fmt.Sprintf("/requests/%d", id)) {
		t.Errorf("confirmation %+v", ack)
	}
	ctx := context.Background()
	testenv.WaitJob(t, w.c.Pool(), "fetch_media", nil)
	r, _ := w.c.Request(ctx, id)
	if r.PhotoID == 0 {
		t.Fatal("the photo is not stored with the request")
	}
	if r.ServiceCode != "pothole" || r.Channel != core.ChannelSMS {
		t.Errorf("request %+v", r)
	}

	// Twilio's signed status callbacks reach core.
	testenv.WaitFor(t, w.c, func() error {
		ms, _ := w.c.Messages(ctx, id)
		for _, m := range ms {
			if m.Direction == "out" && m.ProviderID == ack.Sid {
				if m.State != "delivered" {
					return fmt.Errorf("the confirmation is %s, want delivered", m.State)
				}
				return nil
			}
		}
		return fmt.Errorf("no confirmation sent as %s", ack.Sid)
	})
	for _, cb := range w.fake.Callbacks() {
		if cb.Err != nil || cb.Code/100 != 2 {
			t.Errorf("status callback %+v", cb)
		}
	}

	// STATUS answers over the same loop.
	w.text(p, "STATUS")
	if got := w.answer(p, 2); !strings.Contains(got.Body, fmt.Sprintf("#%d", id)) {
		t.Errorf("status answer %q", got.Body)
	}
}

func TestRedeliveredTextChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.phone("+15305550121")
	w.text(p, "graffiti at 200 Myers Street", photo(t))
	w.answer(p, 1)
	testenv.WaitJobsIdle(t, w.c.Pool()) // let the jobs finish
	var n int
	w.c.Pool().QueryRow(context.Background(), `SELECT count(*) FROM attachments`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d photos stored, want 1", n)
	}
	before := w.rows()
	for range 2 {
		resp, err := p.Resend(p.LastSid())
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("redelivery: %v %v", resp, err)
		}
	}
	if after := w.rows(); after != before {
		t.Errorf("redeliveries wrote %d rows", after-before)
	}
	w.quiet(p, 1)
}

func TestForgedTextWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.rows()
	form := url.Values{"MessageSid": {faketwilio.NewSid("SM")}, "AccountSid": {accountSID},
		"From": {"+15305550122"}, "To": {cityNumber}, "Body": {"pothole at 100 Bird Street"}, "NumMedia": {"0"}}
	req, _ := http.NewRequest("POST", w.srv.URL+"/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", faketwilio.Sign("guessed", w.srv.URL+"/twilio/sms", form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged text: %s", resp.Status)
	}
	if after := w.rows(); after != before {
		t.Errorf("a forged text wrote %d rows", after-before)
	}
	if len(w.fake.Messages()) != 0 {
		t.Error("a forged text was answered")
	}
}

func TestServerErrorIsRetriedAndSentOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.phone("+15305550123")
	w.fake.FailNext(1, 500, 20500)
	w.text(p, "pothole at 100 Bird Street")
	ack := w.answer(p, 1)
	w.quiet(p, 1)
	id := requestNumber(t, ack.Body)
	ms, _ := w.c.Messages(context.Background(), id)
	for _, m := range ms {
		if m.Direction == "out" && (m.Attempts != 2 || m.ProviderID != ack.Sid) {
			t.Errorf("confirmation row: %d attempts, provider id %q (sent %s)", m.Attempts, m.ProviderID, ack.Sid)
		}
	}
}

func TestMissingPlaceIsAskedOverSMS(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.phone("+15305550124")
	w.text(p, "There's a dead cat in the road")
	if q := w.answer(p, 1); !strings.Contains(strings.ToLower(q.Body), "where is it?") {
		t.Fatalf("question %q", q.Body)
	}
	w.text(p, "Bird St and Myers")
	id := requestNumber(t, w.answer(p, 2).Body)
	r, err := w.c.Request(context.Background(), id)
	if err != nil || r.ServiceCode != "animal-dead" {
		t.Errorf("request %+v, %v", r, err)
	}
}

func TestStaffReplyAndOptOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	p := w.phone("+15305550125")
	w.text(p, "streetlight out at 300 Myers Street")
	id := requestNumber(t, w.answer(p, 1).Body)

	if _, err := w.c.Reply(ctx, id, "", "A crew will look tonight.", core.Actor{Name: "dispatcher"}); err != nil {
		t.Fatal(err)
	}
	if got := w.answer(p, 2); !strings.Contains(got.Body, "A crew will look tonight.") {
		t.Errorf("reply %q", got.Body)
	}

	// Twilio refuses with 21610 (the number texted STOP to Twilio itself):
	// core marks the contact opted out and sends it nothing more.
	w.fake.FailNext(1, 400, 21610)
	fixed, err := w.c.Reply(ctx, id, "", "Fixed?", core.Actor{Name: "dispatcher"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitJob(t, w.c.Pool(), "deliver", map[string]any{"message_id": fixed})
	var out bool
	w.c.Pool().QueryRow(ctx, `SELECT opted_out_at IS NOT NULL FROM contacts WHERE phone = $1`, p.Number).Scan(&out)
	if !out {
		t.Fatal("the number is not opted out")
	}
	if err := w.c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusInProgress, Public: true, Note: "On it."}); err != nil {
		t.Fatal(err)
	}
	w.quiet(p, 2)

	// STOP by text silences later updates too.
	q := w.phone("+15305550126")
	w.text(q, "graffiti at 200 Myers Street")
	id = requestNumber(t, w.answer(q, 1).Body)
	w.text(q, "STOP")
	testenv.WaitJobsIdle(t, w.c.Pool())
	n := len(q.Received()) // STOP may or may not be acknowledged; nothing after it
	if err := w.c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusInProgress, Public: true, Note: "On it."}); err != nil {
		t.Fatal(err)
	}
	w.quiet(q, n)
}
