package core_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// An announcement is checked field by field before anything is stored:
// each refusal names the field, and no row is written.
func TestAnnouncementChecks(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	at := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	later, earlier := at.Add(2*time.Hour), at.Add(-time.Minute)
	meeting := func(mod func(*core.Announcement)) core.Announcement {
		a := core.Announcement{Kind: core.KindMeeting, Title: "City Council", Starts: at}
		mod(&a)
		return a
	}
	emergency := func(mod func(*core.Announcement)) core.Announcement {
		a := core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning, Title: "Boil water",
			Area: "Citywide", Ends: &later}
		mod(&a)
		return a
	}
	for _, tc := range []struct {
		name  string
		a     core.Announcement
		field string
	}{
		{"an unknown kind", meeting(func(a *core.Announcement) { a.Kind = "party" }), "kind"},
		{"no kind", meeting(func(a *core.Announcement) { a.Kind = "" }), "kind"},
		{"no title", meeting(func(a *core.Announcement) { a.Title = "  " }), "title"},
		{"a title too long", meeting(func(a *core.Announcement) { a.Title = strings.Repeat("x", 201) }), "title"},
		{"a Spanish title too long", meeting(func(a *core.Announcement) { a.TitleES = strings.Repeat("x", 201) }), "title_es"},
		{"a place too long", meeting(func(a *core.Announcement) { a.Place = strings.Repeat("x", 501) }), "place"},
		{"a meeting without a start", meeting(func(a *core.Announcement) { a.Starts = time.Time{} }), "starts"},
		{"an end before the start", meeting(func(a *core.Announcement) { a.Ends = &earlier }), "ends"},
		{"an end at the start", meeting(func(a *core.Announcement) { a.Ends = &at }), "ends"},
		{"an agenda that is not a web link", meeting(func(a *core.Announcement) { a.AgendaURL = "javascript:alert(1)" }), "agenda_url"},
		{"a video link without a host", meeting(func(a *core.Announcement) { a.VideoURL = "https:///watch" }), "video_url"},
		{"a severity on a meeting", meeting(func(a *core.Announcement) { a.Severity = core.SeverityWatch }), "severity"},
		{"an emergency without a severity", emergency(func(a *core.Announcement) { a.Severity = "" }), "severity"},
		{"an unknown severity", emergency(func(a *core.Announcement) { a.Severity = "panic" }), "severity"},
		{"an emergency without an area", emergency(func(a *core.Announcement) { a.Area = "" }), "area"},
		{"an emergency that never expires", emergency(func(a *core.Announcement) { a.Ends = nil }), "ends"},
		{"an emergency expired before it starts", emergency(func(a *core.Announcement) { a.Starts = later.Add(time.Hour) }), "ends"},
	} {
		_, err := c.SaveAnnouncement(ctx, tc.a, core.CommandLine)
		var bad *core.ValidationError
		if !errors.As(err, &bad) || bad.Field != tc.field {
			t.Errorf("%s: %v, want a problem with %s", tc.name, err, tc.field)
		}
	}
	if list, err := c.RecentAnnouncements(ctx, 10); err != nil || len(list) != 0 {
		t.Errorf("refused announcements were stored: %v %v", list, err)
	}

	// What passes is stored trimmed, its links written one way; an
	// emergency with no start starts now; each is in the admin log.
	a, err := c.SaveAnnouncement(ctx, meeting(func(a *core.Announcement) {
		a.Title, a.AgendaURL, a.VideoURL, a.Place = " City Council ", "HTTPS://Oroville.Example/agenda.pdf", "", " Chambers "
	}), core.CommandLine)
	if err != nil || a.ID == 0 || a.Title != "City Council" || a.AgendaURL != "https://oroville.example/agenda.pdf" ||
		a.Place != "Chambers" || !a.Starts.Equal(at) || a.Ends != nil || a.Revision != 0 || a.Cancelled != nil {
		t.Errorf("saved %+v %v", a, err)
	}
	before := time.Now()
	e, err := c.SaveAnnouncement(ctx, emergency(func(*core.Announcement) {}), core.CommandLine)
	if err != nil || e.Starts.Before(before.Add(-time.Second)) || e.Starts.After(time.Now()) || e.Severity != core.SeverityWarning {
		t.Errorf("an emergency posted without a start: %+v %v", e, err)
	}
	log, err := c.AdminLog(ctx, 10)
	if err != nil || len(log) != 2 || log[0].Action != "announcement.post" || log[0].Subject != "Boil water" || log[0].Detail != "emergency" {
		t.Errorf("admin log: %+v %v", log, err)
	}
}

// Changing an announcement counts the change (a calendar's SEQUENCE);
// its kind stays; cancelling a meeting keeps it, marked, and ends an
// emergency at once, once.
func TestAnnouncementChangesAndCancels(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	now := time.Now()
	at, until := now.Add(72*time.Hour).Truncate(time.Second), now.Add(6*time.Hour).Truncate(time.Second)
	m, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindMeeting, Title: "Council", Starts: at}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	m.Title, m.TitleES = "City Council", "Concejo Municipal"
	changed, err := c.SaveAnnouncement(ctx, m, core.CommandLine)
	if err != nil || changed.ID != m.ID || changed.Revision != 1 || changed.TitleIn("es") != "Concejo Municipal" ||
		!changed.Updated.After(m.Updated) || !changed.Posted.Equal(m.Posted) {
		t.Errorf("changed: %+v %v", changed, err)
	}
	m.Kind = core.KindEvent
	if _, err := c.SaveAnnouncement(ctx, m, core.CommandLine); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a meeting changed into an event: %v", err)
	}
	if _, err := c.SaveAnnouncement(ctx, core.Announcement{ID: 999999, Kind: core.KindMeeting, Title: "x", Starts: at}, core.CommandLine); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("changing a missing announcement: %v", err)
	}

	e, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWatch,
		Title: "Red flag", Area: "Citywide", Ends: &until}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := c.Emergencies(ctx); err != nil || len(list) != 1 || list[0].ID != e.ID {
		t.Fatalf("in force: %+v %v", list, err)
	}
	for _, id := range []int64{m.ID, e.ID} {
		if err := c.CancelAnnouncement(ctx, id, core.CommandLine); err != nil {
			t.Fatal(err)
		}
		if err := c.CancelAnnouncement(ctx, id, core.CommandLine); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("cancelled twice: %v", err)
		}
	}
	if list, err := c.Emergencies(ctx); err != nil || len(list) != 0 {
		t.Errorf("an ended emergency is still in force: %+v %v", list, err)
	}
	got, err := c.GetAnnouncement(ctx, e.ID)
	if err != nil || got.Cancelled == nil || !got.Ends.Equal(until) || got.Revision != 1 {
		t.Errorf("the ended emergency: %+v %v", got, err)
	}
	got, err = c.GetAnnouncement(ctx, m.ID)
	if err != nil || got.Cancelled == nil || !got.Starts.Equal(at) || got.Ends != nil || got.Revision != 2 {
		t.Errorf("the cancelled meeting: %+v %v", got, err)
	}
	// Still listed among what is to come, marked cancelled.
	if list, err := c.Announcements(ctx, now, 10); err != nil || len(list) != 2 || list[1].ID != m.ID || list[1].Cancelled == nil {
		t.Errorf("to come: %+v %v", list, err)
	}
	if _, err := c.GetAnnouncement(ctx, 999999); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a missing announcement: %v", err)
	}
	log, err := c.AdminLog(ctx, 10)
	if err != nil || log[0].Action != "announcement.cancel" || log[0].Subject != "Red flag" {
		t.Errorf("admin log: %+v %v", log, err)
	}
}

// What is listed when: emergencies in force, the gravest and then the
// newest first; what is to come or going on, soonest first; the feed,
// the latest changed first.
func TestAnnouncementLists(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	now := time.Now()
	ptr := func(t time.Time) *time.Time { return &t }
	post := func(a core.Announcement) core.Announcement {
		t.Helper()
		saved, err := c.SaveAnnouncement(ctx, a, core.CommandLine)
		if err != nil {
			t.Fatal(err)
		}
		return saved
	}
	emergency := func(title string, s core.Severity, starts, ends time.Time) core.Announcement {
		return post(core.Announcement{Kind: core.KindEmergency, Severity: s, Title: title, Area: "Citywide", Starts: starts, Ends: &ends})
	}
	emergency("advisory", core.SeverityAdvisory, now.Add(-time.Hour), now.Add(time.Hour))
	emergency("older warning", core.SeverityWarning, now.Add(-2*time.Hour), now.Add(time.Hour))
	emergency("warning", core.SeverityWarning, now.Add(-time.Hour), now.Add(time.Hour))
	emergency("watch", core.SeverityWatch, now.Add(-time.Hour), now.Add(time.Hour))
	emergency("to come", core.SeverityWarning, now.Add(time.Hour), now.Add(2*time.Hour))
	emergency("expired", core.SeverityWarning, now.Add(-2*time.Hour), now.Add(-time.Hour))
	list, err := c.Emergencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range list {
		titles = append(titles, a.Title)
	}
	if got := strings.Join(titles, ", "); got != "warning, older warning, watch, advisory" {
		t.Errorf("in force: %s", got)
	}

	ended := post(core.Announcement{Kind: core.KindEvent, Title: "ended", Starts: now.Add(-3 * time.Hour), Ends: ptr(now.Add(-time.Hour))})
	started := post(core.Announcement{Kind: core.KindEvent, Title: "started", Starts: now.Add(-3 * time.Hour), Ends: ptr(now.Add(time.Hour))})
	past := post(core.Announcement{Kind: core.KindMeeting, Title: "past, no end", Starts: now.Add(-time.Hour)})
	soon := post(core.Announcement{Kind: core.KindMeeting, Title: "soon", Starts: now.Add(time.Hour)})
	list, err = c.Announcements(ctx, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	titles = nil
	for _, a := range list {
		if a.Kind != core.KindEmergency {
			titles = append(titles, a.Title)
		}
	}
	if got := strings.Join(titles, ", "); got != "started, soon" {
		t.Errorf("going on or to come: %s", got)
	}
	if list, err := c.Announcements(ctx, now.Add(-2*time.Hour), 2); err != nil || len(list) != 2 || list[0].Title != "ended" || list[1].Title != "started" {
		t.Errorf("from two hours ago, two: %+v %v", list, err)
	}
	if list, err := c.Announcements(ctx, now.Add(-4*time.Hour), 100); err != nil || !has(list, ended.ID) || !has(list, past.ID) {
		t.Errorf("from four hours ago, the ended ones too: %+v %v", list, err)
	}

	started.Title = "started, changed"
	if _, err := c.SaveAnnouncement(ctx, started, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	recent, err := c.RecentAnnouncements(ctx, 3)
	if err != nil || len(recent) != 3 || recent[0].ID != started.ID || recent[1].ID != soon.ID || recent[2].ID != past.ID {
		t.Errorf("the latest changed: %+v %v", recent, err)
	}
}

func has(list []core.Announcement, id int64) bool {
	return slices.ContainsFunc(list, func(a core.Announcement) bool { return a.ID == id })
}
