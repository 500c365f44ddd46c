package staff_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"townline/channels/open311"
	"townline/channels/staff"
	"townline/core"
	"townline/internal/testenv"
)

// adminState is everything an admin action could change, as one string:
// accounts, their departments, API keys, canned responses and the log.
func (b *bundle) adminState() string {
	b.t.Helper()
	var s string
	err := b.c.Pool().QueryRow(context.Background(), `SELECT md5(concat_ws('|',
		(SELECT string_agg(u::text, ',' ORDER BY id) FROM users u),
		(SELECT string_agg(d::text, ',' ORDER BY user_id, department_code) FROM user_departments d),
		(SELECT string_agg(k::text, ',' ORDER BY id) FROM api_keys k),
		(SELECT string_agg(c::text, ',' ORDER BY id) FROM canned_responses c),
		(SELECT count(*) FROM admin_log)))`).Scan(&s)
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// userID returns the id of the account with email.
func (b *bundle) userID(email string) int64 {
	b.t.Helper()
	var id int64
	if err := b.c.Pool().QueryRow(context.Background(), `SELECT id FROM users WHERE email = $1`, email).Scan(&id); err != nil {
		b.t.Fatal(err)
	}
	return id
}

var secretRE = regexp.MustCompile(`<code class="secret">([^<]+)</code>`)

// secret reads the password or key a page shows once.
func secretOf(t *testing.T, body string) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret shown in:\n%s", body)
	}
	return m[1]
}

// signInWith tries a sign-in and returns its status.
func (b *bundle) signInWith(email, pw string) (*http.Client, int) {
	b.t.Helper()
	cl := b.client()
	code, _ := b.post(cl, "/staff/login", url.Values{"email": {email}, "password": {pw}})
	return cl, code
}

func (b *bundle) do(cl *http.Client, method, path, contentType, body string) (int, http.Header, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := cl.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(out)
}

// A delivery job stuck as discarded, for River UI to retry.
func (b *bundle) discardedJob() int64 {
	b.t.Helper()
	testenv.WaitJobsIdle(b.t, b.c.Pool())
	var id int64
	err := b.c.Pool().QueryRow(context.Background(), `UPDATE river_job SET state = 'discarded', finalized_at = now()
		WHERE id = (SELECT max(id) FROM river_job WHERE kind = 'deliver') RETURNING id`).Scan(&id)
	if err != nil {
		b.t.Fatal(err)
	}
	return id
}

func (b *bundle) jobState(id int64) string {
	b.t.Helper()
	var s string
	if err := b.c.Pool().QueryRow(context.Background(), `SELECT state::text FROM river_job WHERE id = $1`, id).Scan(&s); err != nil {
		b.t.Fatal(err)
	}
	return s
}

// Every admin route, for every kind of user: only admins read or act;
// anyone else signed in is told there is no such page, and a refusal
// changes nothing.
func TestAdminAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	admin := core.Actor{Name: "test"}
	canned, err := b.c.SaveCannedResponse(ctx, core.CannedResponse{Title: "Thanks", English: "Thanks for #{number}."}, admin)
	if err != nil {
		t.Fatal(err)
	}
	keyName := "Old client"
	if _, err := b.c.CreateAPIKey(ctx, keyName, admin); err != nil {
		t.Fatal(err)
	}
	var key int64
	if err := b.c.Pool().QueryRow(ctx, `SELECT id FROM api_keys WHERE name = $1`, keyName).Scan(&key); err != nil {
		t.Fatal(err)
	}
	roads := b.userID("roads@oroville.test")
	job := b.discardedJob()

	users := []string{"", "parks@oroville.test", "desk@oroville.test", "admin@oroville.test"}
	clients := map[string]*http.Client{}
	for _, u := range users {
		clients[u] = b.signIn(u)
	}
	refused := []int{303, 404, 404}
	reads := []struct {
		path  string
		admin int
	}{
		{"/staff/admin/", 303},
		{"/staff/admin/users", 200},
		{fmt.Sprintf("/staff/admin/users/%d", roads), 200},
		{"/staff/admin/users/999999", 404},
		{"/staff/admin/keys", 200},
		{"/staff/admin/canned", 200},
		{fmt.Sprintf("/staff/admin/canned/%d", canned), 200},
		{"/staff/admin/canned/x", 404},
		{"/staff/jobs", 301},
		{"/staff/jobs/", 200},
		{"/staff/jobs/api/jobs?state=discarded", 200},
		{fmt.Sprintf("/staff/jobs/api/jobs/%d", job), 200},
	}
	for _, rd := range reads {
		for i, u := range users {
			want := rd.admin
			if i < len(refused) {
				want = refused[i]
			}
			if code, _ := b.get(clients[u], rd.path); code != want {
				t.Errorf("GET %s as %q: %d, want %d", rd.path, u, code, want)
			}
		}
	}

	form := "application/x-www-form-urlencoded"
	acts := []struct {
		path, contentType, body string
		admin                   int
	}{
		{"/staff/admin/users", form, url.Values{"email": {"new@oroville.test"}, "role": {"admin"}}.Encode(), 200},
		{fmt.Sprintf("/staff/admin/users/%d", roads), form, url.Values{"role": {"admin"}, "department": {"parks-trees"}}.Encode(), 303},
		{fmt.Sprintf("/staff/admin/users/%d/password", roads), form, "", 200},
		{fmt.Sprintf("/staff/admin/users/%d/disable", roads), form, "", 303},
		{fmt.Sprintf("/staff/admin/users/%d/enable", roads), form, "", 303},
		{"/staff/admin/keys", form, url.Values{"name": {"Forged client"}}.Encode(), 200},
		{fmt.Sprintf("/staff/admin/keys/%d/revoke", key), form, "", 303},
		{"/staff/admin/canned", form, url.Values{"title": {"Forged"}, "english": {"Hi"}}.Encode(), 303},
		{fmt.Sprintf("/staff/admin/canned/%d", canned), form, url.Values{"title": {"Changed"}, "english": {"Hi"}}.Encode(), 303},
		{fmt.Sprintf("/staff/admin/canned/%d/delete", canned), form, "", 303},
		{"/staff/jobs/api/jobs/retry", "application/json", fmt.Sprintf(`{"ids":["%d"]}`, job), 200},
	}
	for i, u := range users {
		for _, a := range acts {
			if u == "admin@oroville.test" {
				continue // below, once every refusal is checked
			}
			before, jobBefore := b.adminState(), b.jobState(job)
			code, _, _ := b.do(clients[u], "POST", a.path, a.contentType, a.body)
			if want := map[bool]int{true: 403, false: 404}[i == 0]; code != want {
				t.Errorf("POST %s as %q: %d, want %d", a.path, u, code, want)
			}
			if b.adminState() != before || b.jobState(job) != jobBefore {
				t.Errorf("refused POST %s as %q changed something", a.path, u)
			}
		}
	}
	for _, a := range acts {
		before := b.adminState()
		code, _, body := b.do(clients["admin@oroville.test"], "POST", a.path, a.contentType, a.body)
		if code != a.admin {
			t.Errorf("POST %s as admin: %d, want %d\n%s", a.path, code, a.admin, body)
		}
		if a.contentType == form && b.adminState() == before {
			t.Errorf("POST %s as admin changed nothing", a.path)
		}
	}
	if s := b.jobState(job); s == "discarded" {
		t.Errorf("River UI's retry left the job %s", s)
	}
}

// An admin adds an account and changes it; each change applies on the
// account's very next request.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.signIn("admin@oroville.test")
	code, body := b.post(admin, "/staff/admin/users", url.Values{"email": {"Kim@Oroville.test"}, "name": {"Kim Lee"},
		"role": {"staff"}, "department": {"public-works", "parks-trees"}})
	if code != 200 {
		t.Fatalf("add: %d\n%s", code, body)
	}
	pw := secretOf(t, body)
	kim, code := b.signInWith("kim@oroville.test", pw)
	if code != 303 {
		t.Fatalf("the new account cannot sign in: %d", code)
	}
	pothole, triage := fmt.Sprintf("/staff/requests/%d", b.pothole.ID), fmt.Sprintf("/staff/requests/%d", b.triage.ID)
	if code, _ := b.get(kim, pothole); code != 200 {
		t.Errorf("Public Works staff cannot open a pothole: %d", code)
	}
	// The same email twice is refused, with the form kept.
	code, body = b.post(admin, "/staff/admin/users", url.Values{"email": {"kim@oroville.test"}, "name": {"Kim Again"}, "role": {"staff"}})
	if code != 400 || !strings.Contains(body, "already has an account") || !strings.Contains(body, `value="Kim Again"`) {
		t.Errorf("a second account for one email: %d", code)
	}

	id := b.userID("kim@oroville.test")
	path := fmt.Sprintf("/staff/admin/users/%d", id)
	// Parks only: the pothole is gone from their next page.
	if code, _ := b.post(admin, path, url.Values{"name": {"Kim Lee"}, "role": {"staff"}, "department": {"parks-trees"}}); code != 303 {
		t.Fatalf("change departments: %d", code)
	}
	if code, _ := b.get(kim, pothole); code != 404 {
		t.Errorf("after leaving Public Works: %d, want 404", code)
	}
	// Dispatcher: the triage queue opens.
	if code, _ := b.post(admin, path, url.Values{"name": {"Kim Lee"}, "role": {"dispatcher"}}); code != 303 {
		t.Fatalf("change role: %d", code)
	}
	if code, _ := b.get(kim, triage); code != 200 {
		t.Errorf("a dispatcher cannot open the triage request: %d", code)
	}
	if code, _ := b.post(admin, path, url.Values{"role": {"mayor"}}); code != 400 {
		t.Errorf("an unknown role: %d", code)
	}

	// Disabled: the open session stops at its next request, and signing
	// in fails.
	if code, _ := b.post(admin, path+"/disable", nil); code != 303 {
		t.Fatalf("disable: %d", code)
	}
	if code, _ := b.get(kim, "/staff/"); code != 303 {
		t.Errorf("a disabled account's session still reads: %d", code)
	}
	if code, _ := b.post(kim, fmt.Sprintf("/staff/requests/%d/note", b.triage.ID), url.Values{"note": {"x"}, "seen": {"0"}}); code != 403 {
		t.Errorf("a disabled account's session still acts: %d", code)
	}
	if _, code := b.signInWith("kim@oroville.test", pw); code != 401 {
		t.Errorf("a disabled account signs in: %d", code)
	}
	if _, body := b.get(admin, "/staff/admin/users"); !strings.Contains(body, "disabled") {
		t.Error("the list does not show the account disabled")
	}
	if code, _ := b.post(admin, path+"/enable", nil); code != 303 {
		t.Fatalf("enable: %d", code)
	}
	// Enabled again, the session the disabling ended stays ended.
	if code, _ := b.get(kim, "/staff/"); code != 303 {
		t.Errorf("a session from before the account was disabled reads again: %d", code)
	}
	kim, code = b.signInWith("kim@oroville.test", pw)
	if code != 303 {
		t.Errorf("an enabled account cannot sign in: %d", code)
	}

	// A reset password signs in; the old one does not, and the sessions
	// it opened end (a password is reset when it may be known to others).
	code, body = b.post(admin, path+"/password", nil)
	if code != 200 {
		t.Fatalf("reset: %d", code)
	}
	if code, _ := b.get(kim, "/staff/"); code != 303 {
		t.Errorf("a session opened with the old password still reads: %d", code)
	}
	if code, _ := b.get(admin, "/staff/"); code != 200 {
		t.Errorf("the admin's own session ended with another's reset: %d", code)
	}
	fresh := secretOf(t, body)
	if fresh == pw {
		t.Fatal("the reset password is the old one")
	}
	if _, code := b.signInWith("kim@oroville.test", pw); code != 401 {
		t.Errorf("the old password: %d", code)
	}
	if _, code := b.signInWith("kim@oroville.test", fresh); code != 303 {
		t.Errorf("the reset password: %d", code)
	}
	// The secret is not shown again.
	if _, body := b.get(admin, path); strings.Contains(body, fresh) {
		t.Error("the password is shown twice")
	}

	// Nobody locks themselves out.
	self := fmt.Sprintf("/staff/admin/users/%d", b.userID("admin@oroville.test"))
	if code, body := b.post(admin, self+"/disable", nil); code != 400 || !strings.Contains(body, "your own account") {
		t.Errorf("an admin disables themselves: %d", code)
	}
	if code, _ := b.post(admin, self, url.Values{"role": {"staff"}}); code != 400 {
		t.Errorf("an admin drops their own role: %d", code)
	}
	// Their own page offers no way to disable themselves; another's does.
	if _, body := b.get(admin, self); strings.Contains(body, self+"/disable") {
		t.Error("an admin's own page offers to disable them")
	}
	if _, body := b.get(admin, path); !strings.Contains(body, path+"/disable") && !strings.Contains(body, path+"/enable") {
		t.Error("another's page offers neither to disable nor to enable them")
	}

	// Each change is logged with who made it.
	_, body = b.get(admin, "/staff/admin/users")
	for _, want := range []string{"user.add", "user.access", "user.disable", "user.enable", "user.password",
		"role staff → dispatcher", "kim@oroville.test", "admin@oroville.test"} {
		if !strings.Contains(body, want) {
			t.Errorf("the change log lacks %q", want)
		}
	}
}

// A key added on the admin page files Open311 requests; revoked, it stops
// at once on this instance, though a check had cached it.
func TestAdminAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	mux := http.NewServeMux()
	staff.New(b.c, testenv.Logger(t), staff.Config{MapTiles: testTiles}).Register(mux)
	open311.New(b.c, testenv.Logger(t), 1<<20).Register(mux)
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)

	admin := b.signIn("admin@oroville.test")
	code, body := b.post(admin, "/staff/admin/keys", url.Values{"name": {"SeeClickFix"}})
	if code != 200 {
		t.Fatalf("add: %d", code)
	}
	key := secretOf(t, body)
	if name, err := b.c.CheckAPIKey(ctx, key); err != nil || name != "SeeClickFix" {
		t.Fatalf("CheckAPIKey: %q, %v", name, err)
	}
	file := func() int {
		resp, err := http.PostForm(b.srv.URL+"/open311/v2/requests.json", url.Values{"api_key": {key},
			"service_code": {"pothole"}, "lat": {"39.5138"}, "long": {"-121.5564"}, "description": {"A hole"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := file(); code != 201 && code != 200 {
		t.Fatalf("filing with the new key: %d", code)
	}
	_, body = b.get(admin, "/staff/admin/keys")
	if strings.Contains(body, key) || !strings.Contains(body, "SeeClickFix") {
		t.Error("the list shows the key, or not its name")
	}
	m := regexp.MustCompile(`action="/staff/admin/keys/(\d+)/revoke"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no revoke button")
	}
	if code, _ := b.post(admin, "/staff/admin/keys/"+m[1]+"/revoke", nil); code != 303 {
		t.Fatalf("revoke: %d", code)
	}
	if _, err := b.c.CheckAPIKey(ctx, key); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("CheckAPIKey after revoking: %v", err)
	}
	if code := file(); code != 403 {
		t.Errorf("filing with a revoked key: %d", code)
	}
	// Twice is harmless; the list says when.
	if code, _ := b.post(admin, "/staff/admin/keys/"+m[1]+"/revoke", nil); code != 303 {
		t.Errorf("revoking again: %d", code)
	}
	if _, body = b.get(admin, "/staff/admin/keys"); strings.Contains(body, "/revoke") {
		t.Error("a revoked key still offers Revoke")
	}
	if code, _ := b.post(admin, "/staff/admin/keys/999999/revoke", nil); code != 404 {
		t.Errorf("revoking no key: %d", code)
	}
}

// Canned responses, added by an admin, come filled for the request in
// the resident's language.
func TestAdminCannedResponses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	admin := b.signIn("admin@oroville.test")
	save := func(form url.Values) (int, string) { return b.post(admin, "/staff/admin/canned", form) }
	if code, _ := save(url.Values{"department": {"public-works"}, "title": {"Scheduled"},
		"english": {"Request #{number} ({service} at {address}) is {status}; we expect to finish by {expected}."},
		"spanish": {"El reporte #{number} ({service} en {address}) está {status}; terminaremos para el {expected}."}}); code != 303 {
		t.Fatalf("save: %d", code)
	}
	if code, _ := save(url.Values{"title": {"Thanks"}, "english": {"Thank you for reporting #{number}."}}); code != 303 {
		t.Fatalf("save: %d", code)
	}
	if code, _ := save(url.Values{"department": {"parks-trees"}, "title": {"Tree"}, "english": {"A tree."}}); code != 303 {
		t.Fatalf("save: %d", code)
	}
	code, body := save(url.Values{"title": {"Typo"}, "english": {"At {adress}."}})
	if code != 400 || !strings.Contains(body, "{adress} is not a placeholder") || !strings.Contains(body, "At {adress}.") {
		t.Errorf("an unknown placeholder: %d", code)
	}
	if code, _ := save(url.Values{"department": {"nope"}, "title": {"X"}, "english": {"X"}}); code != 400 {
		t.Errorf("an unknown department: %d", code)
	}

	req, err := b.c.StaffRequest(ctx, core.User{Role: "dispatcher"}, b.pothole.ID)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := b.c.CannedReplies(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]core.CannedReply{}
	for _, r := range replies {
		got[r.Title] = r
	}
	if _, ok := got["Tree"]; ok || len(got) != 2 {
		t.Errorf("offered on a Public Works request: %v", replies)
	}
	id := fmt.Sprint(b.pothole.ID)
	if s := got["Scheduled"]; s.Language != "en" || s.Text != "Request #"+id+" (Pothole at 1735 Montgomery Street) is received; we expect to finish by "+
		expected(b, req, "January 2")+"." {
		t.Errorf("in English: %+v", s)
	}

	// The resident speaks Spanish: the Spanish text, Spanish words.
	if _, err := b.c.Pool().Exec(ctx, `UPDATE contacts SET language = 'es' WHERE id = $1`, *req.ContactID); err != nil {
		t.Fatal(err)
	}
	if err := b.c.ChangeStatus(ctx, req.ID, core.StatusChange{To: core.StatusInProgress, By: core.Actor{Name: "test"}}); err != nil {
		t.Fatal(err)
	}
	if req, err = b.c.Request(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	replies, err = b.c.CannedReplies(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range replies {
		got[r.Title] = r
	}
	if s := got["Scheduled"]; s.Language != "es" || !strings.HasPrefix(s.Text, "El reporte #"+id+" (Bache en 1735 Montgomery Street) está en proceso; terminaremos para el ") {
		t.Errorf("in Spanish: %+v", s)
	}
	if s := got["Thanks"]; s.Language != "en" || s.Text != "Thank you for reporting #"+id+"." {
		t.Errorf("without Spanish text: %+v", s)
	}
	// A triage request gets only the ones for every department.
	triage, err := b.c.Request(ctx, b.triage.ID)
	if err != nil {
		t.Fatal(err)
	}
	replies, err = b.c.CannedReplies(ctx, triage)
	if err != nil || len(replies) != 1 || replies[0].Title != "Thanks" {
		t.Errorf("on a triage request: %v, %v", replies, err)
	}

	// The admin edits one and sees it filled from an example.
	_, body = b.get(admin, "/staff/admin/canned")
	m := regexp.MustCompile(`href="/staff/admin/canned/(\d+)">Scheduled<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the list lacks the response:\n%s", body)
	}
	_, body = b.get(admin, "/staff/admin/canned/"+m[1])
	if !strings.Contains(body, "Request #1234 (Pothole at 1735 Montgomery Street) is in progress") ||
		!strings.Contains(body, "(Bache en 1735 Montgomery Street) está en proceso") {
		t.Errorf("the preview is not filled:\n%s", body)
	}
	if code, _ := b.post(admin, "/staff/admin/canned/"+m[1]+"/delete", nil); code != 303 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := b.get(admin, "/staff/admin/canned/"+m[1]); code != 404 {
		t.Errorf("a deleted response: %d", code)
	}
}

// expected is a request's expected date as a canned response says it.
func expected(b *bundle, r core.Request, layout string) string {
	if r.ExpectedAt == nil {
		return ""
	}
	return r.ExpectedAt.In(b.c.City().Location).Format(layout)
}

// River UI answers admins only, under its own policy: its scripts and
// styles from this server, no script inline, nothing from elsewhere (its
// notices style themselves inline).
func TestJobsDashboard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.signIn("admin@oroville.test")
	code, hdr, body := b.do(admin, "GET", "/staff/jobs/", "", "")
	if code != 200 {
		t.Fatalf("River UI: %d", code)
	}
	csp := hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") ||
		strings.Count(csp, "'unsafe-inline'") != strings.Count(csp, "style-src 'self' 'unsafe-inline'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	assets := regexp.MustCompile(`(?:src|href)="(/staff/jobs/assets/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(assets) < 2 {
		t.Fatalf("River UI's page names no script and stylesheet:\n%s", body)
	}
	for _, a := range assets {
		code, hdr, _ := b.do(admin, "GET", a[1], "", "")
		if ct := hdr.Get("Content-Type"); code != 200 || !(strings.Contains(ct, "javascript") || strings.Contains(ct, "css")) {
			t.Errorf("%s: %d %s", a[1], code, ct)
		}
	}
	for _, u := range []string{"roads@oroville.test", "desk@oroville.test"} {
		if code, _ := b.get(b.signIn(u), "/staff/jobs/"); code != 404 {
			t.Errorf("River UI as %s: %d", u, code)
		}
	}
	// The inbox keeps its own strict policy, and admins see the links.
	code, hdr, body = b.do(admin, "GET", "/staff/", "", "")
	if code != 200 || hdr.Get("Content-Security-Policy") == csp || !strings.Contains(body, `href="/staff/jobs/"`) {
		t.Errorf("the inbox: %d, policy %q", code, hdr.Get("Content-Security-Policy"))
	}
	if _, body := b.get(b.signIn("desk@oroville.test"), "/staff/"); strings.Contains(body, "/staff/admin/") {
		t.Error("a dispatcher sees the admin links")
	}
}
