package staff_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"townline/channels/sms"
	"townline/channels/staff"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

const (
	password    = "correct horse battery staple"
	twilioSID   = "AC00000000000000000000000000000001"
	twilioToken = "stafftesttoken0123456789abcdef01" // alphanumeric, as the SDK insists
	testTiles   = "https://tiles.example.test/{z}/{x}/{y}.png"
)

type bundle struct {
	t       *testing.T
	c       *core.Core
	srv     *httptest.Server
	staff   *staff.Handler
	sent    *testenv.Sender
	twilio  *faketwilio.Server // holds callers' recordings
	pothole core.Request       // Public Works
	triage  core.Request       // no department yet
	photo   int64              // the pothole's photo
}

// setup makes the workspace on Oroville's city file, as mods change it.
func setup(t *testing.T, mods ...func(*core.Options)) *bundle {
	t.Helper()
	b := &bundle{t: t, sent: &testenv.Sender{}, twilio: faketwilio.New(twilioSID, twilioToken)}
	t.Cleanup(b.twilio.Close)
	// Recordings play from the (fake) Twilio account, through the client
	// townline fetches media with.
	fetch, err := sms.NewClient(sms.Config{AccountSID: twilioSID, AuthToken: twilioToken, From: faketwilio.CityNumber,
		APIURL: b.twilio.URL(), PublicURL: "http://townline.test"}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	b.c = testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: b.sent, core.ChannelSMS: b.sent}
		o.Fetchers = map[core.Channel]core.MediaFetcher{core.ChannelVoice: fetch}
		for _, m := range mods {
			m(o)
		}
	})
	ctx := context.Background()
	for _, u := range []struct{ email, role, dept string }{
		{"admin@oroville.test", "admin", ""},
		{"desk@oroville.test", "dispatcher", ""},
		{"roads@oroville.test", "staff", "public-works"},
		{"parks@oroville.test", "staff", "parks-trees"},
	} {
		if _, err := b.c.AddUser(ctx, u.email, u.role, u.dept, password); err != nil {
			t.Fatal(err)
		}
	}
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4)))
	blob, err := b.c.Blobs().Put(&img)
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138, -121.5564
	b.pothole, err = b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Deep pothole <script>alert('x')</script>", Lat: &lat, Lng: &lng, Address: "1735 Montgomery Street",
		Reporter: core.Reporter{Name: "Ana Reyes", Email: "ana@example.com"},
		Photos:   []core.Upload{{Blob: blob, Filename: "hole.png"}}})
	if err != nil {
		t.Fatal(err)
	}
	b.photo = b.pothole.PhotoID
	if b.triage, err = b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Somewhere", Address: "1735 Montgomery Street"}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Assign(ctx, b.triage.ID, "", nil, core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	b.staff = staff.New(b.c, testenv.Logger(t), staff.Config{MapTiles: testTiles})
	b.staff.Register(mux)
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

// client is a browser: its own cookies, no redirects followed.
func (b *bundle) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn returns a browser signed in as email ("" stays signed out).
func (b *bundle) signIn(email string) *http.Client {
	b.t.Helper()
	cl := b.client()
	if email == "" {
		return cl
	}
	resp, err := cl.PostForm(b.srv.URL+"/staff/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/" {
		b.t.Fatalf("sign-in as %s: %d %s", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	return cl
}

func (b *bundle) get(cl *http.Client, path string) (int, string) {
	b.t.Helper()
	resp, err := cl.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *bundle) post(cl *http.Client, path string, form url.Values) (int, string) {
	b.t.Helper()
	resp, err := cl.PostForm(b.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// changes counts what an action could write.
func (b *bundle) changes() int {
	b.t.Helper()
	var n int
	err := b.c.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM request_events) +
		(SELECT count(*) FROM messages) + (SELECT count(*) FROM requests WHERE status <> 'new' OR assignee_id IS NOT NULL)`).Scan(&n)
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

var seenRE = regexp.MustCompile(`name="seen" value="(\d+)"`)

// seen reads the version of a request its page was rendered at.
func (b *bundle) seen(cl *http.Client, id int64) string {
	b.t.Helper()
	code, body := b.get(cl, fmt.Sprintf("/staff/requests/%d", id))
	m := seenRE.FindStringSubmatch(body)
	if code != 200 || m == nil {
		b.t.Fatalf("request page %d: %d", id, code)
	}
	return m[1]
}

// Every staff route, for every kind of user: who may read and act, and
// that a refusal changes nothing.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	users := []string{"", "parks@oroville.test", "roads@oroville.test", "desk@oroville.test", "admin@oroville.test"}
	clients := map[string]*http.Client{}
	for _, u := range users {
		clients[u] = b.signIn(u)
	}
	pothole, triage := b.pothole.ID, b.triage.ID
	reads := []struct {
		path string
		want []int // by user, in users' order
	}{
		{"/staff/", []int{303, 200, 200, 200, 200}},
		{fmt.Sprintf("/staff/requests/%d", pothole), []int{303, 404, 200, 200, 200}},
		{fmt.Sprintf("/staff/requests/%d", triage), []int{303, 404, 404, 200, 200}},
		{fmt.Sprintf("/staff/files/%d", b.photo), []int{303, 404, 200, 200, 200}},
		{"/staff/requests/999999", []int{303, 404, 404, 404, 404}},
		{"/staff/requests/x", []int{303, 404, 404, 404, 404}},
		{"/staff/export.csv?queue=all", []int{303, 200, 200, 200, 200}}, // each sees their own (export_test.go)
		{"/staff/recordings/999999", []int{303, 404, 404, 404, 404}},    // the rest in recording_test.go
		{"/staff/numbers", []int{303, 404, 404, 200, 200}},
		{"/staff/requests/new", []int{303, 200, 200, 200, 200}}, // crews file their own reports
		{"/staff/announcements", []int{303, 404, 404, 200, 200}},
	}
	for _, rd := range reads {
		for i, u := range users {
			if code, _ := b.get(clients[u], rd.path); code != rd.want[i] {
				t.Errorf("GET %s as %q: %d, want %d", rd.path, u, code, rd.want[i])
			}
		}
	}
	acts := []struct {
		path string
		form url.Values
	}{
		{"note", url.Values{"note": {"Crew scheduled."}}},
		{"reply", url.Values{"body": {"We are on it."}}},
		{"status", url.Values{"to": {"in_progress"}}},
		{"assign", url.Values{"department": {"public-works"}, "assignee": {"3"}}},
	}
	for _, id := range []int64{pothole, triage} {
		for _, a := range acts {
			for i, u := range users {
				allowed := i >= 3 || (i == 2 && id == pothole)
				if !allowed {
					form := url.Values{"seen": {"0"}}
					for k, v := range a.form {
						form[k] = v
					}
					before := b.changes()
					code, _ := b.post(clients[u], fmt.Sprintf("/staff/requests/%d/%s", id, a.path), form)
					if want := map[bool]int{true: 403, false: 404}[u == ""]; code != want {
						t.Errorf("POST %s on #%d as %q: %d, want %d", a.path, id, u, code, want)
					}
					if after := b.changes(); after != before {
						t.Errorf("refused POST %s on #%d as %q changed %d rows", a.path, id, u, after-before)
					}
				}
			}
		}
	}
	// Signed out, nothing is filed.
	before := b.changes()
	if code, _ := b.post(clients[""], "/staff/requests/new", url.Values{"channel": {"staff"}, "service": {"pothole"},
		"lat": {"39.51"}, "lng": {"-121.56"}}); code != 403 || b.changes() != before {
		t.Errorf("POST /staff/requests/new signed out: %d, %d changes; want 403 and none", code, b.changes()-before)
	}
	// An allowed user acts, once per action.
	cl := clients["roads@oroville.test"]
	for _, a := range acts[:3] {
		form := url.Values{"seen": {b.seen(cl, pothole)}}
		for k, v := range a.form {
			form[k] = v
		}
		before := b.changes()
		if code, body := b.post(cl, fmt.Sprintf("/staff/requests/%d/%s", pothole, a.path), form); code != 303 {
			t.Errorf("POST %s as the department's staff: %d %s", a.path, code, body)
		}
		if b.changes() == before {
			t.Errorf("POST %s changed nothing", a.path)
		}
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cl := b.client()
	code, body := b.post(cl, "/staff/login", url.Values{"email": {"roads@oroville.test"}, "password": {"wrong"}})
	if code != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
		t.Errorf("wrong password: %d", code)
	}
	code2, body2 := b.post(cl, "/staff/login", url.Values{"email": {"nobody@oroville.test"}, "password": {"wrong"}})
	if code2 != code || !strings.Contains(body2, "do not match") {
		t.Errorf("unknown account answered differently from a wrong password: %d", code2)
	}
	for range 4 {
		b.post(cl, "/staff/login", url.Values{"email": {"roads@oroville.test"}, "password": {"wrong"}})
	}
	// Locked now, even with the right password.
	if code, body := b.post(cl, "/staff/login", url.Values{"email": {"roads@oroville.test"}, "password": {password}}); code != http.StatusTooManyRequests || !strings.Contains(body, "Too many") {
		t.Errorf("after 5 failures, the right password: %d", code)
	}
	// Another account from another address is not locked.
	b.signIn("desk@oroville.test")

	// The sign-in page keeps where staff were going, inside the workspace.
	if code, body := b.get(b.client(), "/staff/login?next=/staff/requests/7"); code != 200 ||
		!strings.Contains(body, `name="next" value="/staff/requests/7"`) || !strings.Contains(body, `name="password"`) {
		t.Errorf("the sign-in page: %d\n%s", code, body)
	}
	if _, body := b.get(b.client(), "/staff/login?next=https://evil.example/"); !strings.Contains(body, `name="next" value="/staff/"`) {
		t.Errorf("the sign-in page keeps a destination elsewhere:\n%s", body)
	}
	// A destination elsewhere is never followed.
	resp, err := b.client().PostForm(b.srv.URL+"/staff/login", url.Values{"email": {"admin@oroville.test"}, "password": {password},
		"next": {"//evil.example/staff/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/staff/" {
		t.Errorf("after sign-in, sent to %q", loc)
	}

	// Signed out, the session is gone.
	admin := b.signIn("admin@oroville.test")
	if code, _ := b.post(admin, "/staff/logout", nil); code != http.StatusSeeOther {
		t.Errorf("logout: %d", code)
	}
	if code, _ := b.get(admin, "/staff/"); code != http.StatusSeeOther {
		t.Errorf("after logout the inbox answers %d", code)
	}
}

// Every page carries a strict policy, and a post from another site is
// refused before it does anything.
func TestSafety(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cl := b.signIn("roads@oroville.test")
	resp, err := cl.Get(b.srv.URL + fmt.Sprintf("/staff/requests/%d", b.pothole.ID))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "&lt;script&gt;") {
		t.Error("the resident's script is not shown as text")
	}
	before := b.changes()
	req, _ := http.NewRequest("POST", b.srv.URL+fmt.Sprintf("/staff/requests/%d/note", b.pothole.ID),
		strings.NewReader(url.Values{"note": {"forged"}, "seen": {b.seen(cl, b.pothole.ID)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || b.changes() != before {
		t.Errorf("a cross-site post: %d, %d rows changed", resp.StatusCode, b.changes()-before)
	}
}

// A reply goes to the resident over their channel; one typed while
// someone else changed the request is not sent blind.
func TestReplyAndChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	desk, roads := b.signIn("desk@oroville.test"), b.signIn("roads@oroville.test")
	id := b.pothole.ID
	stale := b.seen(roads, id)
	if code, _ := b.post(desk, fmt.Sprintf("/staff/requests/%d/status", id), url.Values{"seen": {b.seen(desk, id)},
		"to": {"closed"}, "reason": {"resolved"}, "note": {"Filled this morning."}}); code != 303 {
		t.Fatalf("close: %d", code)
	}
	before := b.changes()
	code, body := b.post(roads, fmt.Sprintf("/staff/requests/%d/reply", id), url.Values{"seen": {stale}, "body": {"We'll be there Monday."}})
	if code != http.StatusConflict || !strings.Contains(body, "changed this request") || !strings.Contains(body, "We&#39;ll be there Monday.") {
		t.Errorf("a reply against a stale page: %d", code)
	}
	if b.changes() != before {
		t.Error("the stale reply was acted on")
	}
	code, _ = b.post(roads, fmt.Sprintf("/staff/requests/%d/reply", id), url.Values{"seen": {b.seen(roads, id)}, "body": {"Thanks for reporting it!"}})
	if code != 303 {
		t.Fatalf("reply: %d", code)
	}
	msgs, err := b.c.Messages(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var replies, closing int
	for _, m := range msgs {
		if m.Direction == "out" && m.Channel == core.ChannelEmail && strings.Contains(m.Body, "Thanks for reporting it!") && m.UserID != nil {
			replies++
		}
		if m.Direction == "out" && strings.Contains(m.Body, "Filled this morning.") {
			closing++
		}
	}
	if replies != 1 || closing != 1 {
		t.Errorf("mail to the resident: %d replies, %d closing notices; want 1 each", replies, closing)
	}
	// A closing without a reason is refused, with the words kept.
	code, body = b.post(desk, fmt.Sprintf("/staff/requests/%d/status", id), url.Values{"seen": {b.seen(desk, id)}, "to": {"in_progress"}, "reason": {"resolved"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "only closing takes a reason") {
		t.Errorf("a reason on a reopen: %d", code)
	}
	// The timeline shows the reply and the change, with who.
	_, page := b.get(desk, fmt.Sprintf("/staff/requests/%d", id))
	for _, want := range []string{"Thanks for reporting it!", "Closed (resolved)", "desk@oroville.test", "Ana Reyes", "ana@example.com"} {
		if !strings.Contains(page, want) {
			t.Errorf("the request page lacks %q", want)
		}
	}
}

func TestInbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	desk := b.signIn("desk@oroville.test")
	_, body := b.get(desk, "/staff/?queue=triage")
	if !strings.Contains(body, fmt.Sprintf(`href="/staff/requests/%d"`, b.triage.ID)) ||
		strings.Contains(body, fmt.Sprintf(`href="/staff/requests/%d"`, b.pothole.ID)) {
		t.Error("the triage queue does not hold exactly the unrouted request")
	}
	_, body = b.get(desk, "/staff/?queue=all&department=public-works")
	if !strings.Contains(body, fmt.Sprintf(`href="/staff/requests/%d"`, b.pothole.ID)) ||
		strings.Contains(body, fmt.Sprintf(`href="/staff/requests/%d"`, b.triage.ID)) {
		t.Error("filtering by department")
	}
	parks := b.signIn("parks@oroville.test")
	_, body = b.get(parks, "/staff/?queue=all")
	if regexp.MustCompile(`/staff/requests/\d`).MatchString(body) || strings.Contains(body, "Needs triage") {
		t.Error("Parks sees requests or the triage queue that are not theirs")
	}
	if !strings.Contains(body, `class="on" aria-current="page">All <span>`) ||
		strings.Count(body, `aria-current="page"`) != 1 {
		t.Error("the queue shown is not the one tab marked current")
	}
	// Staff choose among their own departments; a dispatcher among all.
	if !strings.Contains(body, `<option value="parks-trees">`) || strings.Contains(body, `<option value="public-works">`) {
		t.Error("Parks staff do not choose among Parks alone")
	}
	if _, body = b.get(desk, "/staff/?queue=all"); !strings.Contains(body, `<option value="parks-trees">`) || !strings.Contains(body, `<option value="public-works">`) {
		t.Error("the dispatcher does not choose among every department")
	}
	if code, _ := b.get(desk, "/staff/?queue=bogus"); code != http.StatusBadRequest {
		t.Errorf("an unknown queue: %d", code)
	}
	if code, _ := b.get(desk, "/staff/?queue=all&after=junk"); code != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d", code)
	}
}

// Keyset pages: each request once, in order, across pages.
func TestInboxPages(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	want := map[int64]bool{}
	for i := range 7 {
		r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "graffiti-public",
			Description: fmt.Sprint("tag ", i), Address: "1735 Montgomery Street"})
		if err != nil {
			t.Fatal(err)
		}
		want[r.ID] = true
	}
	u := core.User{ID: 1, Role: "dispatcher"}
	q := core.InboxQuery{Queue: "all", Limit: 3}
	seen := map[int64]bool{}
	var last int64
	for pages := 0; ; pages++ {
		rs, next, err := c.Inbox(ctx, u, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if seen[r.ID] || (last != 0 && r.ID > last) {
				t.Errorf("request %d twice or out of order", r.ID)
			}
			seen[r.ID], last = true, r.ID
		}
		if next == nil {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		q.After = next
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d requests, want %d", len(seen), len(want))
	}
}

// spot is the n-th of a downtown grid of places 65 m or more apart, the
// 0th at City Hall (the setup's pothole): reports there never join as the
// same issue unless a test places them so.
func spot(n int) (lat, lng float64) {
	return 39.5138 + float64(n%15)*0.0006, -121.5564 + float64(n/15%15)*0.0008
}

// Assigning from the request page: a dispatcher sends a request to a
// department and a person, and back to triage; a department's staff may
// not send one back to triage; a bad assignee is refused, with nothing
// changed; a request sent out of a user's departments leaves their list.
func TestAssignFromTheRequestPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	desk, roads := b.signIn("desk@oroville.test"), b.signIn("roads@oroville.test")
	id := b.pothole.ID
	path := fmt.Sprintf("/staff/requests/%d/assign", id)
	assignee := func() string {
		t.Helper()
		var dept, who string
		if err := b.c.Pool().QueryRow(context.Background(), `SELECT COALESCE(department_code, ''), COALESCE(assignee_id::text, '')
			FROM requests WHERE id = $1`, id).Scan(&dept, &who); err != nil {
			t.Fatal(err)
		}
		return dept + "|" + who
	}
	me := fmt.Sprint(b.userID("roads@oroville.test"))
	if code, _ := b.post(desk, path, url.Values{"seen": {b.seen(desk, id)}, "department": {"public-works"}, "assignee": {me}}); code != 303 ||
		assignee() != "public-works|"+me {
		t.Errorf("assigned to roads: %d, %s", code, assignee())
	}
	before := b.state(id)
	if code, body := b.post(roads, path, url.Values{"seen": {b.seen(roads, id)}, "department": {""}}); code != 400 ||
		!strings.Contains(body, "only dispatchers send requests back to triage") || b.state(id) != before {
		t.Errorf("a department's staff sent it back to triage: %d, %s", code, assignee())
	}
	if code, body := b.post(desk, path, url.Values{"seen": {b.seen(desk, id)}, "department": {"public-works"}, "assignee": {"someone"}}); code != 400 ||
		!strings.Contains(body, "is not a staff member") || b.state(id) != before {
		t.Errorf("a bad assignee: %d, %s", code, assignee())
	}
	if code, _ := b.post(desk, path, url.Values{"seen": {b.seen(desk, id)}, "department": {""}}); code != 303 || assignee() != "|" {
		t.Errorf("back to triage: %d, %s", code, assignee())
	}
	if code, body := b.get(roads, fmt.Sprintf("/staff/requests/%d", id)); code != http.StatusNotFound {
		t.Errorf("roads still sees the request sent to triage: %d\n%s", code, body)
	}
}

// The triage queue is a dispatcher's tab, never a department's.
func TestTriageTab(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, body := b.get(b.signIn("desk@oroville.test"), "/staff/"); !strings.Contains(body, "Needs triage") {
		t.Error("the dispatcher has no triage tab")
	}
	if _, body := b.get(b.signIn("roads@oroville.test"), "/staff/"); strings.Contains(body, "Needs triage") {
		t.Error("department staff see the triage tab")
	}
}

// A note: an internal one stays in the workspace; a public one goes to
// every reporter and into the public history. Each says which it was.
func TestNotes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	roads := b.signIn("roads@oroville.test")
	page := fmt.Sprintf("/staff/requests/%d", b.pothole.ID)
	note := func(words string, public bool) string {
		t.Helper()
		form := url.Values{"note": {words}, "seen": {b.seen(roads, b.pothole.ID)}}
		if public {
			form.Set("public", "on")
		}
		if code, _ := b.post(roads, page+"/note", form); code != 303 {
			t.Fatalf("the note %q: %d", words, code)
		}
		_, body := b.get(roads, page)
		return body
	}
	if body := note("Crew lead says it needs a saw cut.", false); !strings.Contains(body, "Internal note added.") ||
		!strings.Contains(body, "Crew lead says it needs a saw cut.") {
		t.Errorf("the internal note's page:\n%s", body)
	}
	if body := note("Scheduled for Tuesday.", true); !strings.Contains(body, "Public note added and sent to every reporter.") {
		t.Errorf("the public note's page:\n%s", body)
	}
	if !b.waitSent("ana@example.com", "Scheduled for Tuesday.") {
		t.Error("the reporter did not get the public note")
	}
	// The timeline tells the automatic acknowledgment from what staff wrote.
	if _, body := b.get(roads, page); !strings.Contains(body, "automatic answer by email") || !strings.Contains(body, "[public]") {
		t.Errorf("the timeline:\n%s", body)
	}
	hist, err := b.c.History(ctx, b.pothole.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	public := fmt.Sprint(hist)
	if !strings.Contains(public, "Scheduled for Tuesday.") || strings.Contains(public, "saw cut") {
		t.Errorf("the public history: %s", public)
	}
	ms, _ := b.c.Messages(ctx, b.pothole.ID)
	for _, m := range ms {
		if strings.Contains(m.Body, "saw cut") {
			t.Errorf("the internal note went out: %+v", m)
		}
	}
}

// A file opens in the browser when it is a photo, and is downloaded
// otherwise; either way it runs nothing (a sandbox).
func TestFilesOpenOrDownload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	raw := "From: lee@example.org\r\nSubject: Graffiti\r\n\r\nGraffiti at 1735 Montgomery Street.\r\n"
	blob, err := b.c.Blobs().Put(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "lee@example.org", To: "311@oroville.test",
		Subject: "Graffiti", Text: "Graffiti at 1735 Montgomery Street.", ProviderID: "files-1@example.org",
		Raw: &core.Upload{Blob: blob, Filename: "message.eml", Private: true}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := b.c.Attachments(ctx, res.RequestID)
	if err != nil || len(files) != 1 {
		t.Fatalf("the files: %v %v", files, err)
	}
	desk := b.signIn("desk@oroville.test")
	for id, want := range map[int64]string{b.photo: `inline; filename=hole.png`, files[0].ID: `attachment; filename=message.eml`} {
		resp, err := desk.Get(fmt.Sprintf("%s/staff/files/%d", b.srv.URL, id))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != want ||
			resp.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
			t.Errorf("file %d: %d %q %q, want %q", id, resp.StatusCode, resp.Header.Get("Content-Disposition"),
				resp.Header.Get("Content-Security-Policy"), want)
		}
	}
}
