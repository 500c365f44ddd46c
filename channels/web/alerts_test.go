package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// Emergency notices by mail: the sign-up, its confirmation link, and the
// one-click unsubscribe a mail program posts; bad input and floods get a
// clear answer and change nothing.
func TestAlertsByMail(t *testing.T) {
	t.Parallel()
	c := queuing(t, core.ChannelEmail) // mails are queued, and counted, not sent
	ctx := context.Background()
	srv := serve(t, c)
	post := func(path string, form url.Values, origin string) (int, string) {
		t.Helper()
		return postForm(t, srv.URL+path, form, origin)
	}
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := c.Pool().QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	confirmations := `SELECT count(*) FROM messages WHERE direction = 'out' AND subject LIKE 'Confirm%'`

	if code, page := get(t, srv.URL+"/alerts"); code != 200 || !strings.Contains(string(page), `action="/alerts"`) ||
		!strings.Contains(string(page), "send ALERTS to the city&#39;s 311 number") {
		t.Errorf("the sign-up page: %d\n%s", code, page)
	}
	if code, page := post("/alerts", url.Values{"email": {"not-an-address"}}, srv.URL); code != 400 ||
		!strings.Contains(page, "This is not an email address we can write to.") || !strings.Contains(page, `value="not-an-address"`) {
		t.Errorf("a bad address: %d\n%s", code, page)
	}
	if code, _ := post("/alerts", url.Values{"email": {"ana@example.org"}}, "https://elsewhere.example"); code != http.StatusForbidden {
		t.Errorf("a sign-up posted from another site: %d", code)
	}
	if n := count(`SELECT count(*) FROM subscriptions`); n != 0 {
		t.Errorf("refused sign-ups stored %d subscriptions", n)
	}
	code, page := post("/alerts?lang=es", url.Values{"email": {"Ana@Example.org"}}, srv.URL)
	if code != 200 || !strings.Contains(page, "Revise su correo") {
		t.Errorf("a sign-up: %d\n%s", code, page)
	}
	var token, lang string
	if err := c.Pool().QueryRow(ctx, `SELECT s.token, c.language FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
		WHERE c.email = 'ana@example.org'`).Scan(&token, &lang); err != nil || lang != "es" {
		t.Fatalf("the subscription: %v, language %q", err, lang)
	}
	if n := count(confirmations); n != 1 {
		t.Errorf("%d confirmation mails queued", n)
	}

	// The same mailbox, asked again and again: three mails an hour at most.
	for range 4 {
		post("/alerts", url.Values{"email": {"ana@example.org"}}, srv.URL)
	}
	if n := count(confirmations); n != 3 {
		t.Errorf("%d confirmation mails after five sign-ups of one mailbox, want 3", n)
	}

	for _, bogus := range []string{"/alerts/confirm?token=nope", "/alerts/confirm"} {
		if code, page := get(t, srv.URL+bogus); code != 404 || !strings.Contains(string(page), "This link is not valid any more.") {
			t.Errorf("%s: %d\n%s", bogus, code, page)
		}
	}
	if code, page := get(t, srv.URL+"/alerts/confirm?token="+token); code != 200 || !strings.Contains(string(page), "Confirmed") {
		t.Errorf("confirm: %d\n%s", code, page)
	}
	if n, _ := c.EmergencySubscribers(ctx); n != 1 {
		t.Errorf("%d subscribers after confirming", n)
	}
	// Opening the unsubscribe link only asks; the one-click post of a
	// mail program (no Origin) ends it.
	if code, page := get(t, srv.URL+"/alerts/unsubscribe?token="+token); code != 200 ||
		!strings.Contains(string(page), `action="/alerts/unsubscribe?token=`+token+`"`) {
		t.Errorf("the unsubscribe page: %d\n%s", code, page)
	}
	if n, _ := c.EmergencySubscribers(ctx); n != 1 {
		t.Errorf("opening the unsubscribe link ended the subscription")
	}
	if code, page := post("/alerts/unsubscribe?token="+token, url.Values{"List-Unsubscribe": {"One-Click"}}, ""); code != 200 ||
		!strings.Contains(page, "Done: no more of these messages") {
		t.Errorf("one-click unsubscribe: %d\n%s", code, page)
	}
	if n, _ := c.EmergencySubscribers(ctx); n != 0 {
		t.Errorf("%d subscribers after unsubscribing", n)
	}
	if code, _ := post("/alerts/unsubscribe?token="+token, nil, ""); code != 404 {
		t.Errorf("unsubscribed twice: %d", code)
	}

	// The weekly mail of meetings and events, its own sign-up.
	if code, page := post("/alerts", url.Values{"email": {"week@example.org"}, "digest": {"1"}}, srv.URL); code != 200 ||
		!strings.Contains(page, "Check your mail") {
		t.Errorf("the weekly mail: %d\n%s", code, page)
	}
	if n := count(`SELECT count(*) FROM subscriptions s JOIN contacts c ON c.id = s.contact_id WHERE c.email = 'week@example.org' AND s.digest`); n != 1 {
		t.Errorf("%d weekly subscriptions", n)
	}
	// One connection signs up ten addresses an hour.
	for i := range 4 {
		post("/alerts", url.Values{"email": {"flood" + string(rune('a'+i)) + "@example.org"}}, srv.URL)
	}
	if code, page := post("/alerts", url.Values{"email": {"one-more@example.org"}}, srv.URL); code != http.StatusTooManyRequests ||
		!strings.Contains(page, "Too many sign-ups") {
		t.Errorf("the eleventh sign-up: %d\n%s", code, page)
	}
}

// postForm posts a form as a browser on origin would ("": a program
// that sends no Origin), and returns the answer's status and body.
func postForm(t *testing.T, url string, form url.Values, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// A city with texts and no mail says so to whoever asks for mail, and
// stores nothing: no sign-up, no follow, no sign-in that waits for a
// message never sent.
func TestNoMailConnected(t *testing.T) {
	t.Parallel()
	c := queuing(t, core.ChannelSMS)
	ctx := context.Background()
	r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "streetlight", Address: "Bird Street & Myers Street"})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	for _, tc := range []struct{ path, field, want string }{
		{"/alerts", "email", "The city does not send mail yet."},
		{fmt.Sprintf("/requests/%d/follow", r.ID), "email", "The city does not send mail yet."},
		{"/signin", "address", "The city cannot write to that kind of address yet: try the other kind."},
		{"/signin?lang=es", "address", "La ciudad todavía no puede escribir a ese tipo de dirección"},
	} {
		if code, page := postForm(t, srv.URL+tc.path, url.Values{tc.field: {"ana@example.org"}}, srv.URL); code != 400 || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d\n%s", tc.path, code, page)
		}
	}
	var stored int
	if err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM subscriptions) + (SELECT count(*) FROM signins) + (SELECT count(*) FROM messages)`).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("%d rows stored (%v)", stored, err)
	}
	// Texts are connected: a sign-in by phone goes.
	if code, page := postForm(t, srv.URL+"/signin", url.Values{"address": {"530-555-0144"}}, srv.URL); code != 200 {
		t.Errorf("a sign-in by phone: %d\n%s", code, page)
	}
}

// queuing is a core with the channel connected and no worker: its
// messages are queued, and never sent.
func queuing(t *testing.T, ch core.Channel) *core.Core {
	return testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{ch: unsent{}}
	})
}

// unsent is a channel whose messages are queued and never sent.
type unsent struct{}

func (unsent) Send(context.Context, core.Outbound) (string, error) { panic("no worker runs") }

// A request's page offers to follow it; the address gets a link to
// confirm, which names the request followed.
func TestFollowOnTheWeb(t *testing.T) {
	t.Parallel()
	c := queuing(t, core.ChannelEmail)
	ctx := context.Background()
	lat, lng := 39.5138, -121.5564
	req, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole", Lat: &lat, Lng: &lng})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	page := fmt.Sprintf("/requests/%d", req.ID)
	if code, body := get(t, srv.URL+page); code != 200 || !strings.Contains(string(body), `action="`+page+`/follow"`) {
		t.Errorf("the request's page offers no follow: %d\n%s", code, body)
	}
	follow := func(path, email string) (int, string) {
		t.Helper()
		return postForm(t, srv.URL+path, url.Values{"email": {email}}, srv.URL)
	}
	if code, body := follow(page+"/follow", "bad"); code != 400 || !strings.Contains(body, "not an email address") ||
		!strings.Contains(body, `action="`+page+`/follow"`) {
		t.Errorf("a bad address: %d\n%s", code, body)
	}
	if code, _ := follow("/requests/999999/follow", "ana@example.org"); code != 404 {
		t.Errorf("following no request: %d", code)
	}
	if code, body := follow(page+"/follow", "ana@example.org"); code != 200 || !strings.Contains(body, "Check your mail") ||
		!strings.Contains(body, fmt.Sprintf(">#%d</a>", req.ID)) {
		t.Errorf("follow: %d\n%s", code, body)
	}
	var token string
	if err := c.Pool().QueryRow(ctx, `SELECT token FROM subscriptions WHERE request_id = $1`, req.ID).Scan(&token); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, srv.URL+"/alerts/confirm?token="+token); code != 200 ||
		!strings.Contains(string(body), "this request&#39;s updates will reach you by mail") {
		t.Errorf("confirm: %d\n%s", code, body)
	}
}
