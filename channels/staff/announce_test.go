package staff_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// announcements counts the announcements and their changes and
// cancellations.
func (b *bundle) announcements() string {
	b.t.Helper()
	var s string
	err := b.c.Pool().QueryRow(context.Background(),
		`SELECT count(*) || '/' || COALESCE(sum(revision), 0) || '/' || count(cancelled_at) FROM announcements`).Scan(&s)
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// Dispatchers and admins post, change and cancel announcements, times
// read in the city's time zone; department staff and strangers reach
// none of it, and change nothing.
func TestAnnouncements(t *testing.T) {
	t.Parallel()
	b := setup(t)
	desk := b.signIn("desk@oroville.test")
	la := b.c.City().Location
	year := time.Now().Year() + 1
	meeting := url.Values{"kind": {"meeting"}, "title": {"City Council"}, "title_es": {"Concejo Municipal"},
		"body": {"Budget hearing."}, "starts": {fmt.Sprintf("%d-03-10T18:00", year)}, "ends": {fmt.Sprintf("%d-03-10T20:30", year)},
		"place": {"Council Chambers"}, "agenda_url": {"https://oroville.example/agenda.pdf"}, "severity": {"warning"}}

	// Refused, with the problem beside its field, and nothing stored.
	for _, tc := range []struct {
		name, field, value, problem string
	}{
		{"no title", "title", "", "is empty"},
		{"a start that is not a time", "starts", "tomorrow evening", "is not a date and time"},
		{"an end that is not a time", "ends", "2027-13-45T99:99", "is not a date and time"},
		{"an end before the start", "ends", fmt.Sprintf("%d-03-10T17:00", year), "is not after it begins"},
		{"an agenda that is no link", "agenda_url", "javascript:alert(1)", "must be an http or https URL"},
		{"an unknown kind", "kind", "party", "is not a meeting, an event or an emergency"},
	} {
		form := url.Values{}
		for k, v := range meeting {
			form[k] = v
		}
		form.Set(tc.field, tc.value)
		code, body := b.post(desk, "/staff/announcements", form)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.problem) || !strings.Contains(body, "Nothing was saved") {
			t.Errorf("%s: %d\n%s", tc.name, code, body)
		}
		if got := b.announcements(); got != "0/0/0" {
			t.Errorf("%s: stored %s", tc.name, got)
		}
	}
	emergency := url.Values{"kind": {"emergency"}, "title": {"Boil water"}, "severity": {""}, "area": {"Citywide"},
		"ends": {fmt.Sprintf("%d-01-02T17:00", year)}}
	if code, body := b.post(desk, "/staff/announcements", emergency); code != http.StatusBadRequest ||
		!strings.Contains(body, "is not an advisory, a watch or a warning") {
		t.Errorf("an emergency without a severity: %d\n%s", code, body)
	}

	// Posted: the severity a meeting was sent with is dropped, the times
	// are Oroville's.
	code, body := b.post(desk, "/staff/announcements", meeting)
	if code != http.StatusSeeOther {
		t.Fatalf("post: %d\n%s", code, body)
	}
	list, err := b.c.Announcements(context.Background(), time.Now(), 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("posted: %+v %v", list, err)
	}
	a := list[0]
	if !a.Starts.Equal(time.Date(year, 3, 10, 18, 0, 0, 0, la)) || a.Ends == nil || !a.Ends.Equal(time.Date(year, 3, 10, 20, 30, 0, 0, la)) ||
		a.Severity != "" || a.TitleES != "Concejo Municipal" || a.AgendaURL != "https://oroville.example/agenda.pdf" {
		t.Errorf("posted: %+v", a)
	}
	page := fmt.Sprintf("/staff/announcements/%d", a.ID)
	if code, body := b.get(desk, page); code != 200 || !strings.Contains(body, "Posted “City Council”.") ||
		!strings.Contains(body, fmt.Sprintf(`value="%d-03-10T18:00"`, year)) || !strings.Contains(body, `value="Concejo Municipal"`) {
		t.Errorf("the meeting's page: %d\n%s", code, body)
	}
	if code, body := b.get(desk, "/staff/announcements"); code != 200 || !strings.Contains(body, `href="`+page+`">City Council</a>`) {
		t.Errorf("the list: %d\n%s", code, body)
	}

	// Changed (its kind stays a meeting, whatever the form says), then
	// cancelled, once.
	change := url.Values{}
	for k, v := range meeting {
		change[k] = v
	}
	change.Set("title", "City Council (budget)")
	change.Set("kind", "event")
	if code, body := b.post(desk, page, change); code != http.StatusNotFound {
		t.Errorf("a meeting changed into an event: %d\n%s", code, body)
	}
	change.Set("kind", "meeting")
	if code, body := b.post(desk, page, change); code != http.StatusSeeOther {
		t.Errorf("change: %d\n%s", code, body)
	}
	if code, _ := b.post(desk, page+"/cancel", nil); code != http.StatusSeeOther {
		t.Errorf("cancel: %d", code)
	}
	if code, _ := b.post(desk, page+"/cancel", nil); code != http.StatusNotFound {
		t.Errorf("cancelled twice: %d", code)
	}
	if got := b.announcements(); got != "1/2/1" {
		t.Errorf("after a change and a cancel: %s", got)
	}
	if code, body := b.get(desk, page); code != 200 || !strings.Contains(body, "City Council (budget)") || !strings.Contains(body, "Cancelled") ||
		strings.Contains(body, "Cancel this meeting") {
		t.Errorf("the cancelled meeting's page: %d\n%s", code, body)
	}

	// An emergency with an empty start starts now.
	emergency.Set("severity", "warning")
	if code, body := b.post(desk, "/staff/announcements", emergency); code != http.StatusSeeOther {
		t.Errorf("the emergency: %d\n%s", code, body)
	}
	if list, err := b.c.Emergencies(context.Background()); err != nil || len(list) != 1 || list[0].Title != "Boil water" {
		t.Errorf("in force: %+v %v", list, err)
	}

	// The list keeps what ended within the last day, not what ended before.
	for title, ended := range map[string]string{"Street fair": "1 hour", "Parade": "2 days"} {
		a, err := b.c.SaveAnnouncement(context.Background(), core.Announcement{Kind: core.KindEvent, Title: title,
			Starts: time.Now().Add(time.Hour)}, core.CommandLine)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.c.Pool().Exec(context.Background(), `UPDATE announcements SET starts_at = now() - $2::interval - interval '3 hours',
			ends_at = now() - $2::interval WHERE id = $1`, a.ID, ended); err != nil {
			t.Fatal(err)
		}
	}
	if _, body := b.get(desk, "/staff/announcements"); !strings.Contains(body, "Street fair") || strings.Contains(body, "Parade") {
		t.Errorf("the list after a street fair ended an hour ago and a parade two days ago:\n%s", body)
	}

	// Admins too; department staff and strangers get nothing, and the
	// inbox's header offers the page only to those who may use it.
	admin := b.signIn("admin@oroville.test")
	if code, _ := b.get(admin, "/staff/announcements"); code != 200 {
		t.Errorf("an admin: %d", code)
	}
	before := b.announcements()
	roads := b.signIn("roads@oroville.test")
	for _, path := range []string{"/staff/announcements", page} {
		if code, _ := b.get(roads, path); code != http.StatusNotFound {
			t.Errorf("department staff GET %s: %d", path, code)
		}
	}
	for _, path := range []string{"/staff/announcements", page, page + "/cancel"} {
		if code, _ := b.post(roads, path, meeting); code != http.StatusNotFound {
			t.Errorf("department staff POST %s: %d", path, code)
		}
		if code, _ := b.post(b.signIn(""), path, meeting); code != http.StatusForbidden {
			t.Errorf("signed out POST %s: %d", path, code)
		}
	}
	if got := b.announcements(); got != before {
		t.Errorf("refused posts changed the announcements: %s, was %s", got, before)
	}
	if _, body := b.get(roads, "/staff/"); strings.Contains(body, `href="/staff/announcements"`) {
		t.Error("department staff are offered the announcements")
	}
	if _, body := b.get(desk, "/staff/"); !strings.Contains(body, `href="/staff/announcements"`) {
		t.Error("a dispatcher is not offered the announcements")
	}
}

// From an emergency notice's page, a dispatcher sends it to the
// subscribers, once, and follows its progress; a meeting is not sent.
func TestBroadcastFromStaff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for i, number := range []string{"+15305550501", "+15305550502"} {
		if _, err := b.c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: number, To: "+15305382401", Text: "ALERTS",
			ProviderID: fmt.Sprintf("SMalerts%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Now().Add(time.Hour)
	flood, err := b.c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning,
		Title: "Flood", Area: "Thermalito", Ends: &until}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	meeting, err := b.c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindMeeting, Title: "Council", Starts: until}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	desk := b.signIn("desk@oroville.test")
	page := fmt.Sprintf("/staff/announcements/%d", flood.ID)
	if code, body := b.get(desk, page); code != 200 || !strings.Contains(body, "2 resident(s) asked for emergency notices") ||
		!strings.Contains(body, `action="`+page+`/broadcast"`) {
		t.Errorf("before sending: %d\n%s", code, body)
	}
	if code, _ := b.post(b.signIn("roads@oroville.test"), page+"/broadcast", nil); code != http.StatusNotFound {
		t.Errorf("department staff sent it: %d", code)
	}
	if code, _ := b.post(desk, page+"/broadcast", nil); code != http.StatusSeeOther {
		t.Fatalf("send: %d", code)
	}
	code, body := b.get(desk, page)
	if code != 200 || !strings.Contains(body, "Sending it to the subscribers.") || !strings.Contains(body, "<th>Remaining</th>") ||
		strings.Contains(body, "Send it to them") {
		t.Errorf("after sending: %d\n%s", code, body)
	}
	if code, _ := b.post(desk, page+"/broadcast", nil); code != http.StatusSeeOther {
		t.Errorf("sent again: %d", code)
	}
	if _, body := b.get(desk, page); !strings.Contains(body, "It was sent already") {
		t.Errorf("sent again, the page says:\n%s", body)
	}
	other := fmt.Sprintf("/staff/announcements/%d", meeting.ID)
	if _, body := b.get(desk, other); strings.Contains(body, "/broadcast") {
		t.Errorf("a meeting offers to be sent:\n%s", body)
	}
	b.post(desk, other+"/broadcast", nil)
	if _, body := b.get(desk, other); !strings.Contains(body, "Not sent: only emergency notices are sent to the subscribers.") {
		t.Errorf("a meeting sent, the page says:\n%s", body)
	}
	var n int
	if err := b.c.Pool().QueryRow(ctx, `SELECT count(*) FROM broadcasts`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d broadcasts, want 1: %v", n, err)
	}
}
