package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"townline/core"
	"townline/templates"
)

// The city's announcements: public meetings, events and emergency notices
// on a page, in a calendar feed that calendar apps subscribe to, and in
// an Atom feed. An emergency in force is also a banner on every page.

const (
	// announcementsShown is the most listed on the page and in the feeds.
	announcementsShown = 200
	// calendarPast is how far back the calendar reaches: subscribed
	// calendars keep what they saw, and a meeting's page stays findable.
	calendarPast = 180 * 24 * time.Hour
)

// announcementIn is an announcement and the language it is shown in.
type announcementIn struct {
	Of   core.Announcement
	Lang string
}

type announcementsView struct {
	page
	Meetings, Events []core.Announcement
	// Calendar is the calendar feed for calendar apps: webcal://, which
	// html/template would refuse as an unknown scheme from a string.
	Calendar template.URL
}

func (h *Handler) announcements(w http.ResponseWriter, r *http.Request) {
	list, err := h.core.Announcements(r.Context(), time.Now(), announcementsShown)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := announcementsView{page: h.newPage(w, r)}
	for _, a := range list {
		switch a.Kind {
		case core.KindMeeting:
			p.Meetings = append(p.Meetings, a)
		case core.KindEvent:
			p.Events = append(p.Events, a)
		}
	}
	cal, _ := url.Parse(h.core.PublicURL("calendar.ics"))
	cal.Scheme = "webcal"
	if p.Lang == "es" {
		cal.RawQuery = "lang=es"
	}
	p.Calendar = template.URL(cal.String())
	h.renderAny(w, r, http.StatusOK, "announcements", p)
}

func (h *Handler) announcement(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	a, err := h.core.GetAnnouncement(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newPage(w, r)
	p.Announcement = a
	h.render(w, r, http.StatusOK, "announcement", p)
}

// calendar is /calendar.ics: the meetings and events as an iCalendar
// feed (RFC 5545) in the reader's language (?lang=es), with the city's
// time zone, and a UID and SEQUENCE per announcement so a subscribed
// calendar updates an entry, or cancels it, rather than adding another.
func (h *Handler) calendar(w http.ResponseWriter, r *http.Request) {
	list, err := h.core.Announcements(r.Context(), time.Now().Add(-calendarPast), announcementsShown)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lang, city := language(w, r), h.core.City()
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, "-//townline//"+city.Name+" 311//EN")
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText("X-WR-CALNAME", city.Name+": "+templates.Word(lang, "meetings and events"))
	cal.Props.SetText("X-WR-TIMEZONE", city.Location.String())
	now := time.Now()
	cal.Children = append(cal.Children, vtimezone(city.Location, now.Add(-calendarPast).Year(), now.Year()+2))
	host := h.core.PublicHost()
	for _, a := range list {
		if a.Kind == core.KindEmergency {
			continue
		}
		e := ical.NewEvent()
		e.Props.SetText(ical.PropUID, fmt.Sprintf("announcement-%d@%s", a.ID, host))
		e.Props.SetDateTime(ical.PropDateTimeStamp, a.Updated.UTC())
		e.Props.SetDateTime(ical.PropCreated, a.Posted.UTC())
		e.Props.SetDateTime(ical.PropLastModified, a.Updated.UTC())
		seq := ical.NewProp(ical.PropSequence)
		seq.Value = fmt.Sprint(a.Revision)
		e.Props.Set(seq)
		e.Props.SetDateTime(ical.PropDateTimeStart, a.Starts.In(city.Location))
		if a.Ends != nil {
			e.Props.SetDateTime(ical.PropDateTimeEnd, a.Ends.In(city.Location))
		}
		e.Props.SetText(ical.PropSummary, a.TitleIn(lang))
		if d := calendarDescription(a, lang); d != "" {
			e.Props.SetText(ical.PropDescription, d)
		}
		if a.Place != "" {
			e.Props.SetText(ical.PropLocation, a.Place)
		}
		page, _ := url.Parse(h.core.PublicURL("announcements", strconv.FormatInt(a.ID, 10)))
		e.Props.SetURI(ical.PropURL, page)
		if a.Cancelled != nil {
			e.SetStatus(ical.EventCancelled)
		} else {
			e.SetStatus(ical.EventConfirmed)
		}
		cal.Children = append(cal.Children, e.Component)
	}
	var b bytes.Buffer
	if err := ical.NewEncoder(&b).Encode(cal); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	b.WriteTo(w)
}

// calendarDescription is an entry's text with its links, which calendar
// apps show beneath the title.
func calendarDescription(a core.Announcement, lang string) string {
	parts := []string{a.BodyIn(lang)}
	if a.AgendaURL != "" {
		parts = append(parts, templates.Word(lang, "Agenda")+": "+a.AgendaURL)
	}
	if a.VideoURL != "" {
		parts = append(parts, templates.Word(lang, "Watch the video")+": "+a.VideoURL)
	}
	return strings.TrimSpace(strings.Join(parts, "\n\n"))
}

// vtimezone describes loc from the start of one year to the end of
// another, each change of offset listed as it happens rather than as a
// rule: RFC 5545 asks every TZID a calendar uses to be defined in it, and
// Go's zone data gives the changes, not the rules.
func vtimezone(loc *time.Location, from, to int) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	observe := func(at time.Time, offsetFrom int) {
		name, offset := at.Zone()
		kind := ical.CompTimezoneStandard
		if at.IsDST() {
			kind = ical.CompTimezoneDaylight
		}
		c := ical.NewComponent(kind)
		start := ical.NewProp(ical.PropDateTimeStart)
		// An observance begins at the local time of the offset before it.
		start.Value = at.In(time.FixedZone("", offsetFrom)).Format("20060102T150405")
		c.Props.Set(start)
		c.Props.SetText(ical.PropTimezoneOffsetFrom, utcOffset(offsetFrom))
		c.Props.SetText(ical.PropTimezoneOffsetTo, utcOffset(offset))
		c.Props.SetText(ical.PropTimezoneName, name)
		tz.Children = append(tz.Children, c)
	}
	at, end := time.Date(from, 1, 1, 0, 0, 0, 0, loc), time.Date(to+1, 1, 1, 0, 0, 0, 0, loc)
	_, offset := at.Zone()
	observe(at, offset)
	for {
		_, next := at.ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			return tz
		}
		observe(next, offset)
		at = next
		_, offset = at.Zone()
	}
}

// utcOffset writes seconds east of UTC as iCalendar does: -0800, +0530.
func utcOffset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	return fmt.Sprintf("%s%02d%02d", sign, seconds/3600, seconds%3600/60)
}

// announcementsFeed is /feeds/announcements.atom: the announcements posted
// or changed last, newest first.
func (h *Handler) announcementsFeed(w http.ResponseWriter, r *http.Request) {
	list, err := h.core.RecentAnnouncements(r.Context(), announcementsShown)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lang, city := language(w, r), h.core.City()
	self := h.core.PublicURL("feeds", "announcements.atom")
	updated := time.Now()
	if len(list) > 0 {
		updated = list[0].Updated
	}
	feed := atomFeed{Title: city.Name + ": " + templates.Word(lang, "Announcements"), ID: self,
		Updated: updated.UTC().Format(time.RFC3339),
		Link:    []atomLink{{Href: h.core.PublicURL("announcements")}, {Href: self, Rel: "self"}}}
	for _, a := range list {
		page := h.core.PublicURL("announcements", strconv.FormatInt(a.ID, 10))
		feed.Entries = append(feed.Entries, atomEntry{Title: announcementHeading(a, lang), ID: page,
			Updated: a.Updated.UTC().Format(time.RFC3339), Link: atomLink{Href: page},
			Summary: announcementSummary(a, city.Location, lang)})
	}
	h.writeFeed(w, feed)
}

// announcementHeading is an announcement's title with what it is:
// "Meeting: City Council", "Warning: Boil water".
func announcementHeading(a core.Announcement, lang string) string {
	what := kindWords[a.Kind]
	if a.Kind == core.KindEmergency {
		what = severityWords[a.Severity]
	}
	heading := templates.Word(lang, what) + ": " + a.TitleIn(lang)
	if a.Cancelled != nil {
		heading += " (" + templates.Word(lang, cancelledWord(a)) + ")"
	}
	return heading
}

// announcementSummary is when and where, then the text.
func announcementSummary(a core.Announcement, loc *time.Location, lang string) string {
	when := templates.When(lang, a.Starts.In(loc), "full")
	if a.Ends != nil {
		when += " – " + templates.When(lang, a.Ends.In(loc), "full")
	}
	parts := []string{when}
	if a.Place != "" {
		parts = append(parts, a.Place)
	}
	if a.Area != "" {
		parts = append(parts, a.Area)
	}
	summary := strings.Join(parts, " · ")
	if body := a.BodyIn(lang); body != "" {
		summary += "\n\n" + body
	}
	return summary
}

var kindWords = map[core.AnnouncementKind]string{
	core.KindMeeting:   "Public meeting",
	core.KindEvent:     "Event",
	core.KindEmergency: "Emergency",
}

var severityWords = map[core.Severity]string{
	core.SeverityAdvisory: "Advisory",
	core.SeverityWatch:    "Watch",
	core.SeverityWarning:  "Warning",
}

// cancelledWord is what a cancelled announcement is now: an emergency
// notice ended early, a meeting or event called off.
func cancelledWord(a core.Announcement) string {
	if a.Kind == core.KindEmergency {
		return "Ended"
	}
	return "Cancelled"
}
