package core

// What the city tells the public: public meetings, events, and emergency
// notices. Staff post them in English and, when they can, Spanish; the
// public site, its calendar and feed, and the phone menu read them.

import (
	"cmp"
	"context"
	"strings"
	"time"

	"townline/core/internal/db"
)

// AnnouncementKind is what an announcement is.
type AnnouncementKind string

const (
	KindMeeting   AnnouncementKind = "meeting"   // a public meeting: agenda and video links
	KindEvent     AnnouncementKind = "event"     // a calendar entry
	KindEmergency AnnouncementKind = "emergency" // in force until it expires
)

// AnnouncementKinds are the kinds, in the order staff pick them.
var AnnouncementKinds = []AnnouncementKind{KindMeeting, KindEvent, KindEmergency}

// Severity is how grave an emergency notice is, in the National Weather
// Service's words, which residents already know.
type Severity string

const (
	SeverityAdvisory Severity = "advisory" // be aware
	SeverityWatch    Severity = "watch"    // be prepared
	SeverityWarning  Severity = "warning"  // act now
)

// Severities are the severities, the mildest first.
var Severities = []Severity{SeverityAdvisory, SeverityWatch, SeverityWarning}

// Announcement is a meeting, an event or an emergency notice.
type Announcement struct {
	ID              int64
	Kind            AnnouncementKind
	Title, TitleES  string // TitleES "": Spanish readers get the English
	Body, BodyES    string
	Place           string
	Starts          time.Time  // an emergency: in force from; zero when posted: now
	Ends            *time.Time // an emergency: its expiry (required); otherwise nil: no set end
	AgendaURL       string     // meetings
	VideoURL        string     // meetings: where to watch
	Severity        Severity   // emergencies only
	Area            string     // emergencies: where it applies
	Revision        int        // the number of changes since it was posted
	Posted, Updated time.Time
	Cancelled       *time.Time
}

// TitleIn is the title in lang, or the English one.
func (a Announcement) TitleIn(lang string) string {
	if lang == "es" {
		return cmp.Or(a.TitleES, a.Title)
	}
	return a.Title
}

// BodyIn is the text in lang, or the English one.
func (a Announcement) BodyIn(lang string) string {
	if lang == "es" {
		return cmp.Or(a.BodyES, a.Body)
	}
	return a.Body
}

// Limits of an announcement's fields, in characters.
const (
	maxAnnouncementTitle = 200
	maxAnnouncementLine  = 500 // a place, an area, a link
)

func announcementFromDB(r db.Announcement) Announcement {
	return Announcement{ID: r.ID, Kind: AnnouncementKind(r.Kind), Title: r.TitleEn, TitleES: r.TitleEs,
		Body: r.BodyEn, BodyES: r.BodyEs, Place: r.Place, Starts: r.StartsAt, Ends: r.EndsAt,
		AgendaURL: r.AgendaUrl, VideoURL: r.VideoUrl, Severity: Severity(deref(r.Severity)), Area: r.Area,
		Revision: int(r.Revision), Posted: r.PostedAt, Updated: r.UpdatedAt, Cancelled: r.CancelledAt}
}

func announcementsFromDB(rows []db.Announcement) []Announcement {
	out := make([]Announcement, 0, len(rows))
	for _, r := range rows {
		out = append(out, announcementFromDB(r))
	}
	return out
}

// checkAnnouncement trims a and says what is wrong with it, by the form's
// field names.
func (c *Core) checkAnnouncement(a *Announcement) error {
	for _, s := range []*string{&a.Title, &a.TitleES, &a.Body, &a.BodyES, &a.Place, &a.AgendaURL, &a.VideoURL, &a.Area} {
		*s = strings.TrimSpace(*s)
	}
	switch a.Kind {
	case KindMeeting, KindEvent, KindEmergency:
	default:
		return invalid("kind", "%q is not a meeting, an event or an emergency", a.Kind)
	}
	if a.Title == "" {
		return invalid("title", "is empty")
	}
	if err := c.checkFields(textField{"title", a.Title, maxAnnouncementTitle}, textField{"title_es", a.TitleES, maxAnnouncementTitle},
		textField{"body", a.Body, MaxDescription}, textField{"body_es", a.BodyES, MaxDescription},
		textField{"place", a.Place, maxAnnouncementLine}, textField{"area", a.Area, maxAnnouncementLine}); err != nil {
		return err
	}
	for field, link := range map[string]*string{"agenda_url": &a.AgendaURL, "video_url": &a.VideoURL} {
		if *link == "" {
			continue
		}
		var err error
		if *link, err = normalizeURL(field, *link, maxAnnouncementLine); err != nil {
			return err
		}
	}
	if a.Starts.IsZero() {
		if a.Kind != KindEmergency {
			return invalid("starts", "is missing: when does it begin?")
		}
		a.Starts = time.Now()
	}
	if a.Ends != nil && !a.Ends.After(a.Starts) {
		return invalid("ends", "is not after it begins")
	}
	if a.Kind != KindEmergency {
		if a.Severity != "" {
			return invalid("severity", "is for emergency notices only")
		}
		return nil
	}
	switch a.Severity {
	case SeverityAdvisory, SeverityWatch, SeverityWarning:
	default:
		return invalid("severity", "%q is not an advisory, a watch or a warning", a.Severity)
	}
	if a.Area == "" {
		return invalid("area", "is empty: say where it applies (the whole city, or which part)")
	}
	if a.Ends == nil {
		return invalid("ends", "is missing: every emergency notice expires")
	}
	return nil
}

// SaveAnnouncement posts an announcement (ID 0) or changes one (its kind
// stays), and returns it as stored.
func (c *Core) SaveAnnouncement(ctx context.Context, a Announcement, by Actor) (Announcement, error) {
	if err := c.checkAnnouncement(&a); err != nil {
		return Announcement{}, err
	}
	var severity *string
	if a.Severity != "" {
		severity = (*string)(&a.Severity)
	}
	var saved db.Announcement
	err := c.tx(ctx, func(t *txn) error {
		var err error
		if a.ID == 0 {
			saved, err = t.q.InsertAnnouncement(ctx, db.InsertAnnouncementParams{Kind: string(a.Kind), TitleEn: a.Title,
				TitleEs: a.TitleES, BodyEn: a.Body, BodyEs: a.BodyES, Place: a.Place, StartsAt: a.Starts, EndsAt: a.Ends,
				AgendaUrl: a.AgendaURL, VideoUrl: a.VideoURL, Severity: severity, Area: a.Area})
			if err != nil {
				return err
			}
			return adminLog(ctx, t, by, "announcement.post", a.Title, string(a.Kind))
		}
		saved, err = t.q.UpdateAnnouncement(ctx, db.UpdateAnnouncementParams{ID: a.ID, Kind: string(a.Kind), TitleEn: a.Title,
			TitleEs: a.TitleES, BodyEn: a.Body, BodyEs: a.BodyES, Place: a.Place, StartsAt: a.Starts, EndsAt: a.Ends,
			AgendaUrl: a.AgendaURL, VideoUrl: a.VideoURL, Severity: severity, Area: a.Area})
		if err != nil {
			return notFound(err)
		}
		return adminLog(ctx, t, by, "announcement.change", a.Title, string(a.Kind))
	})
	if err != nil {
		return Announcement{}, dbErr(err)
	}
	return announcementFromDB(saved), nil
}

// CancelAnnouncement cancels a meeting or an event, or ends an emergency
// notice now. Cancelling twice is ErrNotFound the second time.
func (c *Core) CancelAnnouncement(ctx context.Context, id int64, by Actor) error {
	return dbErr(c.tx(ctx, func(t *txn) error {
		a, err := t.q.CancelAnnouncement(ctx, id)
		if err != nil {
			return notFound(err)
		}
		return adminLog(ctx, t, by, "announcement.cancel", a.TitleEn, a.Kind)
	}))
}

// GetAnnouncement returns one announcement.
func (c *Core) GetAnnouncement(ctx context.Context, id int64) (Announcement, error) {
	r, err := c.q.GetAnnouncement(ctx, id)
	if err != nil {
		return Announcement{}, dbErr(notFound(err))
	}
	return announcementFromDB(r), nil
}

// Announcements lists, soonest first, up to limit announcements going on
// or to come after a moment (cancelled ones too, marked).
func (c *Core) Announcements(ctx context.Context, after time.Time, limit int) ([]Announcement, error) {
	rows, err := c.q.AnnouncementsEndingAfter(ctx, db.AnnouncementsEndingAfterParams{After: after, Max: int32(limit)})
	if err != nil {
		return nil, dbErr(err)
	}
	return announcementsFromDB(rows), nil
}

// Emergencies lists the emergency notices in force now, the gravest
// first.
func (c *Core) Emergencies(ctx context.Context) ([]Announcement, error) {
	rows, err := c.q.ActiveEmergencies(ctx, time.Now())
	if err != nil {
		return nil, dbErr(err)
	}
	return announcementsFromDB(rows), nil
}

// RecentAnnouncements lists the announcements posted or changed last,
// the newest first.
func (c *Core) RecentAnnouncements(ctx context.Context, limit int) ([]Announcement, error) {
	rows, err := c.q.RecentAnnouncements(ctx, int32(limit))
	if err != nil {
		return nil, dbErr(err)
	}
	return announcementsFromDB(rows), nil
}
