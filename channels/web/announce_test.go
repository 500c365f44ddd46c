package web_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"townline/core"
	"townline/internal/testenv"
)

// announce posts an announcement for a test.
func announce(t *testing.T, c *core.Core, a core.Announcement) core.Announcement {
	t.Helper()
	saved, err := c.SaveAnnouncement(context.Background(), a, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

// The announcements page lists the meetings and events to come, with
// their links and whether they were cancelled, in the reader's language;
// an emergency in force is a banner on every page, until it ends.
func TestAnnouncementsPage(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	la := c.City().Location
	starts := time.Date(time.Now().Year()+1, 3, 10, 18, 0, 0, 0, la) // a Wednesday
	council := announce(t, c, core.Announcement{Kind: core.KindMeeting, Title: "City Council", TitleES: "Concejo Municipal",
		Body: "Budget hearing.", Place: "Council Chambers", Starts: starts,
		AgendaURL: "https://oroville.example/agenda.pdf", VideoURL: "https://oroville.example/live"})
	fair := announce(t, c, core.Announcement{Kind: core.KindEvent, Title: "Spring fair", Starts: starts.AddDate(0, 0, 3)})
	if err := c.CancelAnnouncement(ctx, fair.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	announce(t, c, core.Announcement{Kind: core.KindEvent, Title: "Last year's fair", Starts: starts.AddDate(-2, 0, 0)})
	until := time.Now().Add(6 * time.Hour)
	flood := announce(t, c, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning, Title: "Flood warning",
		TitleES: "Advertencia de inundación", Area: "Thermalito", Ends: &until})
	srv := serve(t, c)

	code, page := get(t, srv.URL+"/announcements")
	for _, want := range []string{"City Council", "Council Chambers", "Budget hearing.", `href="https://oroville.example/agenda.pdf"`,
		`href="https://oroville.example/live"`, "Wednesday, March 10", "Spring fair", "Cancelled", "Flood warning", "Thermalito",
		`href="webcal://311.test/calendar.ics"`, `href="/feeds/announcements.atom"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the announcements page (%d) lacks %q:\n%s", code, want, page)
		}
	}
	if bytes.Contains(page, []byte("Last year's fair")) {
		t.Errorf("the page lists a past event")
	}
	_, page = get(t, srv.URL+"/announcements?lang=es")
	for _, want := range []string{"Concejo Municipal", "Reuniones públicas", "miércoles 10 de marzo", "Advertencia de inundación",
		"Orden del día", `href="webcal://311.test/calendar.ics?lang=es"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the Spanish page lacks %q:\n%s", want, page)
		}
	}
	_, page = get(t, srv.URL+fmt.Sprintf("/announcements/%d", council.ID))
	if !bytes.Contains(page, []byte("Budget hearing.")) || !bytes.Contains(page, []byte("<h3><a href=\"/announcements/")) {
		t.Errorf("the meeting's page:\n%s", page)
	}
	for _, path := range []string{"/announcements/999999", "/announcements/x", "/announcements/0"} {
		if code, _ := get(t, srv.URL+path); code != http.StatusNotFound {
			t.Errorf("%s = %d, want 404", path, code)
		}
	}

	banner := fmt.Sprintf(`<div class="emergency warning" role="alert"><strong>Warning:</strong>
<a href="/announcements/%d">Flood warning</a> · Thermalito`, flood.ID)
	for _, path := range []string{"/", "/requests", "/report", "/requests/999999", fmt.Sprintf("/announcements/%d", council.ID)} {
		if _, page := get(t, srv.URL+path); !bytes.Contains(page, []byte(banner)) {
			t.Errorf("%s has no emergency banner:\n%s", path, page)
		}
	}
	if err := c.CancelAnnouncement(ctx, flood.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	if _, page := get(t, srv.URL+"/"); bytes.Contains(page, []byte(`class="emergency`)) {
		t.Errorf("the banner stays after the emergency ended:\n%s", page)
	}
}

// The calendar feed loads in a real iCalendar parser: the meetings and
// events (not the emergencies) of the last six months and to come, in the
// city's time zone (defined in the feed), each with a UID that stays and
// a SEQUENCE that counts its changes, cancelled ones marked.
func TestCalendarFeed(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	la := c.City().Location
	now := time.Now()
	starts := time.Date(now.Year(), now.Month()+1, 14, 18, 30, 0, 0, la)
	ends := starts.Add(2 * time.Hour)
	council := announce(t, c, core.Announcement{Kind: core.KindMeeting, Title: "City Council", TitleES: "Concejo Municipal",
		Body: "Budget hearing; agenda, too.", Place: "Council Chambers, 1735 Montgomery Street", Starts: starts, Ends: &ends,
		AgendaURL: "https://oroville.example/agenda.pdf"})
	council.Title = "City Council (budget)"
	council = announce(t, c, council)
	fair := announce(t, c, core.Announcement{Kind: core.KindEvent, Title: "Spring fair", Starts: starts.AddDate(0, 0, 3)})
	if err := c.CancelAnnouncement(ctx, fair.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	recent := announce(t, c, core.Announcement{Kind: core.KindEvent, Title: "Tree planting", Starts: now.AddDate(0, 0, -100)})
	announce(t, c, core.Announcement{Kind: core.KindEvent, Title: "Old fair", Starts: now.AddDate(0, 0, -200)})
	until := now.Add(time.Hour)
	announce(t, c, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWatch, Title: "Red flag", Area: "Citywide", Ends: &until})
	srv := serve(t, c)

	resp, err := http.Get(srv.URL + "/calendar.ics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/calendar; charset=utf-8" {
		t.Fatalf("calendar.ics = %d %s", resp.StatusCode, ct)
	}
	cal, err := ics.ParseCalendar(resp.Body)
	if err != nil {
		t.Fatalf("the calendar does not parse: %v", err)
	}
	events := map[string]*ics.VEvent{}
	for _, e := range cal.Events() {
		events[e.Id()] = e
	}
	uid := func(a core.Announcement) string { return fmt.Sprintf("announcement-%d@311.test", a.ID) }
	if len(events) != 3 || events[uid(council)] == nil || events[uid(fair)] == nil || events[uid(recent)] == nil {
		t.Fatalf("the events: %v", events)
	}
	e := events[uid(council)]
	prop := func(e *ics.VEvent, name ics.ComponentProperty) string {
		if p := e.GetProperty(name); p != nil {
			return p.Value
		}
		return ""
	}
	if got, err := e.GetStartAt(); err != nil || !got.Equal(starts) || got.Location().String() != "America/Los_Angeles" {
		t.Errorf("DTSTART = %v %v, want %v in the city's zone", got, err, starts)
	}
	if got, err := e.GetEndAt(); err != nil || !got.Equal(ends) {
		t.Errorf("DTEND = %v %v", got, err)
	}
	if got := e.GetProperty(ics.ComponentPropertyDtStart).ICalParameters["TZID"]; len(got) != 1 || got[0] != "America/Los_Angeles" {
		t.Errorf("DTSTART's TZID = %v", got)
	}
	for name, want := range map[ics.ComponentProperty]string{
		ics.ComponentPropertySummary:     "City Council (budget)",
		ics.ComponentPropertyLocation:    "Council Chambers, 1735 Montgomery Street",
		ics.ComponentPropertyDescription: "Budget hearing; agenda, too.\n\nAgenda: https://oroville.example/agenda.pdf",
		ics.ComponentPropertySequence:    "1",
		ics.ComponentPropertyStatus:      "CONFIRMED",
		ics.ComponentPropertyUrl:         fmt.Sprintf("http://311.test/announcements/%d", council.ID),
	} {
		if got := prop(e, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := prop(events[uid(fair)], ics.ComponentPropertyStatus); got != "CANCELLED" {
		t.Errorf("the cancelled fair's STATUS = %q", got)
	}
	if got := prop(events[uid(fair)], ics.ComponentPropertySequence); got != "1" {
		t.Errorf("the cancelled fair's SEQUENCE = %q", got)
	}

	// The zone the events name is defined: Pacific time, its changes in
	// the feed's years at 2 AM local on the second Sunday of March and the
	// first of November.
	zones := cal.Timezones()
	if len(zones) != 1 || zones[0].GetProperty(ics.ComponentPropertyTzid).Value != "America/Los_Angeles" {
		t.Fatalf("time zones: %v", zones)
	}
	var changes []string
	for _, sub := range zones[0].SubComponents() {
		var base *ics.ComponentBase
		switch o := sub.(type) {
		case *ics.Standard:
			base = &o.ComponentBase
		case *ics.Daylight:
			base = &o.ComponentBase
		}
		if base != nil {
			changes = append(changes, base.GetProperty(ics.ComponentPropertyDtStart).Value+" "+
				base.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom)).Value+" "+base.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto)).Value)
		}
	}
	joined := strings.Join(changes, "\n")
	y := now.Year()
	for _, want := range []string{
		fmt.Sprintf("%d%s -0800 -0700", y, secondSunday(y, time.March)+"T020000"),
		fmt.Sprintf("%d%s -0700 -0800", y, firstSunday(y, time.November)+"T020000"),
		// to the end of the last year the calendar reaches, two ahead
		fmt.Sprintf("%d%s -0700 -0800", y+2, firstSunday(y+2, time.November)+"T020000"),
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no change %q among:\n%s", want, joined)
		}
	}

	// In Spanish, by the link a Spanish page gives.
	resp, err = http.Get(srv.URL + "/calendar.ics?lang=es")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cal, err = ics.ParseCalendar(resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, e := range cal.Events() {
		if e.Id() == uid(council) && prop(e, ics.ComponentPropertySummary) != "Concejo Municipal" {
			t.Errorf("the Spanish summary: %q", prop(e, ics.ComponentPropertySummary))
		}
	}
}

// secondSunday and firstSunday write a month's second or first Sunday as
// MMDD.
func secondSunday(year int, m time.Month) string { return nthSunday(year, m, 2) }
func firstSunday(year int, m time.Month) string  { return nthSunday(year, m, 1) }

func nthSunday(year int, m time.Month, n int) string {
	d := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7*(n-1)).Format("0102")
}

// The Atom feed lists the announcements changed last first, what they are
// in their titles.
func TestAnnouncementsFeed(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	now := time.Now()
	srv := serve(t, c)
	var feed struct {
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Entries []struct {
			Title   string `xml:"title"`
			ID      string `xml:"id"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	read := func(path string) {
		t.Helper()
		code, body := get(t, srv.URL+path)
		feed.Entries = nil
		if err := xml.Unmarshal(body, &feed); code != 200 || err != nil {
			t.Fatalf("%s = %d %v:\n%s", path, code, err, body)
		}
	}
	// Nothing announced yet: an empty feed, updated now.
	read("/feeds/announcements.atom")
	if at, err := time.Parse(time.RFC3339, feed.Updated); len(feed.Entries) != 0 || err != nil || time.Since(at) > time.Minute {
		t.Errorf("the empty feed: %+v", feed)
	}
	council := announce(t, c, core.Announcement{Kind: core.KindMeeting, Title: "City Council", TitleES: "Concejo Municipal",
		Place: "Council Chambers", Starts: now.Add(48 * time.Hour)})
	until := now.Add(time.Hour)
	flood := announce(t, c, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning, Title: "Flood",
		Area: "Thermalito", Body: "Move to higher ground.", Ends: &until})
	// Changed yesterday, both: the feed was last updated then.
	var yesterday time.Time
	if err := c.Pool().QueryRow(context.Background(), `WITH moved AS (UPDATE announcements SET updated_at = updated_at - interval '1 day' RETURNING updated_at)
		SELECT max(updated_at) FROM moved`).Scan(&yesterday); err != nil {
		t.Fatal(err)
	}
	read("/feeds/announcements.atom")
	if want := yesterday.UTC().Format(time.RFC3339); feed.Updated != want {
		t.Errorf("the feed updated %s, want %s, when its newest entry changed", feed.Updated, want)
	}
	if feed.Title != "Oroville: Announcements" || len(feed.Entries) != 2 ||
		feed.Entries[0].Title != "Warning: Flood" || feed.Entries[0].ID != fmt.Sprintf("http://311.test/announcements/%d", flood.ID) ||
		!strings.Contains(feed.Entries[0].Summary, "Thermalito") || !strings.HasSuffix(feed.Entries[0].Summary, "Move to higher ground.") ||
		feed.Entries[1].Title != "Public meeting: City Council" || !strings.Contains(feed.Entries[1].Summary, "Council Chambers") {
		t.Errorf("the feed: %+v", feed)
	}
	if err := c.CancelAnnouncement(context.Background(), council.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	read("/feeds/announcements.atom?lang=es")
	if len(feed.Entries) != 2 || feed.Entries[0].Title != "Reunión pública: Concejo Municipal (Cancelado)" {
		t.Errorf("the Spanish feed, after cancelling: %+v", feed)
	}
}
