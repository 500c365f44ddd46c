package staff_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"townline/core"
)

// state is what reclassifying and flagging could change on a request.
func (b *bundle) state(id int64) string {
	b.t.Helper()
	var s string
	err := b.c.Pool().QueryRow(context.Background(), `SELECT concat_ws('|', r.service_code, r.department_code, r.assignee_id,
			r.expected_at, r.updated_at, c.flagged_at, c.flag_reason, c.flagged_by,
			(SELECT count(*) FROM request_events e WHERE e.request_id = r.id))
		FROM requests r LEFT JOIN contacts c ON c.id = r.contact_id WHERE r.id = $1`, id).Scan(&s)
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// Reclassifying and flagging: refused, with nothing changed, to whoever
// may not see the request; done, in the history and the timeline, for
// whoever may.
func TestReclassifyAndFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	users := []string{"", "parks@oroville.test", "roads@oroville.test", "desk@oroville.test", "admin@oroville.test"}
	clients := map[string]*http.Client{}
	for _, u := range users {
		clients[u] = b.signIn(u)
	}
	pothole, triage := b.pothole.ID, b.triage.ID
	// A flag for "unflag" to clear, had the refusal failed.
	if err := b.c.FlagSender(ctx, pothole, "Test flag", b.actor("admin@oroville.test")); err != nil {
		t.Fatal(err)
	}
	acts := []struct {
		path string
		form url.Values
	}{
		{"reclassify", url.Values{"service": {"tree"}}},
		{"reclassify", url.Values{"service": {"sign"}, "department": {"parks-trees"}}},
		{"flag", url.Values{"reason": {"spam"}}},
		{"unflag", url.Values{"reason": {"a mistake"}}},
	}
	for _, id := range []int64{pothole, triage} {
		for _, a := range acts {
			for i, u := range users {
				if i >= 3 || (i == 2 && id == pothole) {
					continue // allowed
				}
				form := url.Values{"seen": {b.version(id)}}
				for k, v := range a.form {
					form[k] = v
				}
				before := b.state(id)
				code, _ := b.post(clients[u], fmt.Sprintf("/staff/requests/%d/%s", id, a.path), form)
				if want := map[bool]int{true: 403, false: 404}[u == ""]; code != want {
					t.Errorf("POST %s on #%d as %q: %d, want %d", a.path, id, u, code, want)
				}
				if after := b.state(id); after != before {
					t.Errorf("refused POST %s on #%d as %q changed %s to %s", a.path, id, u, before, after)
				}
			}
		}
	}

	// Public Works' staff act on their request.
	roads := clients["roads@oroville.test"]
	act := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("seen", b.seen(roads, pothole))
		resp, err := roads.PostForm(b.srv.URL+fmt.Sprintf("/staff/requests/%d/%s", pothole, path), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	here := fmt.Sprintf("/staff/requests/%d", pothole)
	if code, loc := act("unflag", url.Values{"reason": {"Not spam after all"}}); code != 303 || loc != here {
		t.Errorf("unflag: %d %s", code, loc)
	}
	if ct, _ := b.c.Contact(ctx, *b.pothole.ContactID); ct.Flagged {
		t.Error("the sender is still flagged")
	}
	if code, _ := act("unflag", url.Values{}); code != 400 {
		t.Errorf("unflag a sender not flagged: %d", code)
	}
	if code, _ := act("flag", url.Values{"reason": {""}}); code != 400 {
		t.Errorf("a flag without a reason: %d", code)
	}
	if code, loc := act("flag", url.Values{"reason": {"Threatening messages"}}); code != 303 || loc != here {
		t.Errorf("flag: %d %s", code, loc)
	}
	if ct, _ := b.c.Contact(ctx, *b.pothole.ContactID); !ct.Flagged || ct.FlagReason != "Threatening messages" {
		t.Errorf("after flagging: %+v", ct)
	}
	_, body := b.get(roads, "/staff/?queue=flagged")
	if got := rows(body); len(got) != 1 || got[0] != pothole || !strings.Contains(body, "Flagged senders <span>(1)</span>") {
		t.Errorf("the Flagged senders queue lists %v", got)
	}
	if code, loc := act("reclassify", url.Values{"service": {"sign"}}); code != 303 || loc != here {
		t.Errorf("reclassify within the department: %d %s", code, loc)
	}
	if code, _ := act("reclassify", url.Values{"service": {"sign"}}); code != 400 {
		t.Errorf("reclassify to the same service: %d", code)
	}
	if code, _ := act("reclassify", url.Values{"service": {"volcano"}}); code != 400 {
		t.Errorf("reclassify to no service: %d", code)
	}
	_, page := b.get(roads, here)
	for _, want := range []string{
		"reclassified from Pothole to Damaged or missing sign",
		"flagged the sender: Threatening messages",
		"cleared the sender&#39;s flag (Test flag): Not spam after all",
		"Flagged by", // who, on the reporter
		"roads@oroville.test",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the request page lacks %q", want)
		}
	}
	// Out of their departments: back to the inbox, told why.
	if code, loc := act("reclassify", url.Values{"service": {"tree"}}); code != 303 || loc != "/staff/" {
		t.Errorf("reclassify to Parks: %d %s", code, loc)
	}
	if _, body := b.get(roads, "/staff/"); !strings.Contains(body, fmt.Sprintf("#%d is no longer one of your departments", pothole)) {
		t.Error("the inbox does not say where the request went")
	}
	if code, _ := b.get(roads, here); code != 404 {
		t.Errorf("Public Works still opens the request now Parks': %d", code)
	}
	if code, _ := b.get(clients["parks@oroville.test"], here); code != 200 {
		t.Errorf("Parks cannot open the request now theirs: %d", code)
	}

	// Only dispatchers send a request to triage; they may classify it.
	desk := clients["desk@oroville.test"]
	code, _ := b.post(desk, fmt.Sprintf("/staff/requests/%d/reclassify", triage),
		url.Values{"seen": {b.seen(desk, triage)}, "service": {"graffiti-public"}})
	if r, _ := b.c.Request(ctx, triage); code != 303 || r.ServiceCode != "graffiti-public" || r.Department != "public-works" {
		t.Errorf("the dispatcher classifies the triage request: %d, %s, %s", code, r.ServiceCode, r.Department)
	}
}

// actor is a staff member as core records them.
func (b *bundle) actor(email string) core.Actor {
	b.t.Helper()
	var id int64
	if err := b.c.Pool().QueryRow(context.Background(), `SELECT id FROM users WHERE email = $1`, email).Scan(&id); err != nil {
		b.t.Fatal(err)
	}
	return core.Actor{UserID: &id, Name: email}
}

// version reads the version of a request a page shows, as the form of
// someone who may see it would carry it: a refusal is then for who they
// are, not for a stale page.
func (b *bundle) version(id int64) string {
	b.t.Helper()
	var micros int64
	if err := b.c.Pool().QueryRow(context.Background(), `SELECT (extract(epoch FROM updated_at) * 1000000)::bigint FROM requests WHERE id = $1`, id).Scan(&micros); err != nil {
		b.t.Fatal(err)
	}
	return fmt.Sprint(micros)
}

// In a city with a service no department takes, staff reclassifying to it
// choose a department: only dispatchers send a request to triage.
func TestReclassifyToAServiceOfNoDepartment(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *core.Options) {
		for i := range o.City.Services {
			if o.City.Services[i].Code == "park" {
				o.City.Services[i].Department = ""
			}
		}
	})
	ctx := context.Background()
	roads, desk := b.signIn("roads@oroville.test"), b.signIn("desk@oroville.test")
	path := fmt.Sprintf("/staff/requests/%d/reclassify", b.pothole.ID)
	code, body := b.post(roads, path, url.Values{"seen": {b.seen(roads, b.pothole.ID)}, "service": {"park"}})
	if r, _ := b.c.Request(ctx, b.pothole.ID); code != 400 || !strings.Contains(body, "only dispatchers send requests to triage") ||
		r.ServiceCode != "pothole" {
		t.Errorf("staff reclassify to a service of no department without choosing one: %d, now %s", code, r.ServiceCode)
	}
	code, _ = b.post(desk, path, url.Values{"seen": {b.seen(desk, b.pothole.ID)}, "service": {"park"}})
	if r, _ := b.c.Request(ctx, b.pothole.ID); code != 303 || r.ServiceCode != "park" || r.Department != "" {
		t.Errorf("the dispatcher reclassifies to triage: %d, %s in %q", code, r.ServiceCode, r.Department)
	}
}
