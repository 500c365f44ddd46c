package staff

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"townline/core"
	"townline/templates"
)

// Announcements: dispatchers and admins post public meetings, events and
// emergency notices, change them and cancel them. The public site shows
// them (channels/web), and the phone menu reads them.

// localMinute is how a datetime-local field writes a time, in the city's
// time zone.
const localMinute = "2006-01-02T15:04"

// announcementsPage lists what is coming and in force with a form to post
// another, or, with Form.ID set, shows one to change.
type announcementsPage struct {
	page
	Announcements []core.Announcement
	Form          core.Announcement
	Problems      map[string]string // by field, beside it
	Kinds         []core.AnnouncementKind
	Severities    []core.Severity
	// An emergency notice's page: who would hear it, and, once sent, how
	// far the sending has come.
	Subscribers int64
	Sent        bool
	Progress    core.BroadcastProgress
}

var kindNames = map[core.AnnouncementKind]string{
	core.KindMeeting:   "Public meeting",
	core.KindEvent:     "Event",
	core.KindEmergency: "Emergency notice",
}

func (h *Handler) registerAnnouncements(mux *http.ServeMux) {
	funcs := h.funcs()
	loc := h.core.City().Location
	// local writes a time for a datetime-local field; zero is empty.
	funcs["local"] = func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.In(loc).Format(localMinute)
	}
	funcs["ptr"] = func(t time.Time) *time.Time { return &t }
	funcs["kindName"] = func(k core.AnnouncementKind) string { return kindNames[k] }
	h.pages["announcements"] = templates.StaffPage("announcements", funcs)
	announcer := func(f http.HandlerFunc) http.Handler { return h.wrap(h.signedIn(h.announcersOnly(f))) }
	mux.Handle("GET /staff/announcements", announcer(h.announcements))
	mux.Handle("POST /staff/announcements", announcer(h.saveAnnouncement))
	mux.Handle("GET /staff/announcements/{id}", announcer(h.editAnnouncement))
	mux.Handle("POST /staff/announcements/{id}", announcer(h.saveAnnouncement))
	mux.Handle("POST /staff/announcements/{id}/cancel", announcer(h.cancelAnnouncement))
	mux.Handle("POST /staff/announcements/{id}/broadcast", announcer(h.broadcast))
}

// announcersOnly lets those who speak for the city through; anyone else
// is told there is no such page.
func (h *Handler) announcersOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !user(r).Announces() {
			h.fail(w, r, core.ErrNotFound)
			return
		}
		next(w, r)
	}
}

func (h *Handler) announcements(w http.ResponseWriter, r *http.Request) {
	h.announcementsPage(w, r, http.StatusOK, core.Announcement{Kind: core.KindMeeting}, nil)
}

func (h *Handler) editAnnouncement(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.core.GetAnnouncement(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.announcementsPage(w, r, http.StatusOK, a, nil)
}

func (h *Handler) announcementsPage(w http.ResponseWriter, r *http.Request, status int, form core.Announcement, problems map[string]string) {
	p := announcementsPage{page: h.newPage(r), Form: form, Problems: problems,
		Kinds: core.AnnouncementKinds, Severities: core.Severities}
	p.Title, p.Flash = "Announcements", h.flash(r)
	var err error
	switch {
	case form.ID == 0:
		// What is going on or to come, and what ended in the last day.
		p.Announcements, err = h.core.Announcements(r.Context(), time.Now().AddDate(0, 0, -1), 500)
	case form.Kind == core.KindEmergency:
		if p.Progress, p.Sent, err = h.core.Broadcasted(r.Context(), form.ID); err == nil && !p.Sent {
			p.Subscribers, err = h.core.EmergencySubscribers(r.Context())
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, status, "announcements", p)
}

// saveAnnouncement posts one (POST /staff/announcements) or changes one
// (POST /staff/announcements/{id}).
func (h *Handler) saveAnnouncement(w http.ResponseWriter, r *http.Request) {
	var a core.Announcement
	if r.PathValue("id") != "" {
		var err error
		if a.ID, err = pathID(r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if !readForm(w, r) {
		return
	}
	f := r.PostForm
	a.Kind, a.Severity = core.AnnouncementKind(f.Get("kind")), core.Severity(f.Get("severity"))
	a.Title, a.TitleES, a.Body, a.BodyES = f.Get("title"), f.Get("title_es"), f.Get("body"), f.Get("body_es")
	a.Place, a.Area, a.AgendaURL, a.VideoURL = f.Get("place"), f.Get("area"), f.Get("agenda_url"), f.Get("video_url")
	if a.Kind != core.KindEmergency {
		a.Severity = "" // the form offers it to every kind; it is an emergency's
	}
	problems := map[string]string{}
	loc := h.core.City().Location
	if s := f.Get("starts"); s != "" {
		if t, err := time.ParseInLocation(localMinute, s, loc); err == nil {
			a.Starts = t
		} else {
			problems["starts"] = "is not a date and time"
		}
	}
	if s := f.Get("ends"); s != "" {
		if t, err := time.ParseInLocation(localMinute, s, loc); err == nil {
			a.Ends = &t
		} else {
			problems["ends"] = "is not a date and time"
		}
	}
	if len(problems) > 0 {
		h.announcementsPage(w, r, http.StatusBadRequest, a, problems)
		return
	}
	saved, err := h.core.SaveAnnouncement(r.Context(), a, actor(r))
	var bad *core.ValidationError
	if errors.As(err, &bad) {
		h.announcementsPage(w, r, http.StatusBadRequest, a, map[string]string{bad.Field: bad.Problem})
		return
	}
	verb := "Posted"
	if a.ID != 0 {
		verb = "Saved"
	}
	h.done(w, r, err, verb+" “"+saved.Title+"”.", "/staff/announcements/"+strconv.FormatInt(saved.ID, 10), nil)
}

func (h *Handler) cancelAnnouncement(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.core.CancelAnnouncement(r.Context(), id, actor(r))
	h.done(w, r, err, "Cancelled.", "/staff/announcements/"+strconv.FormatInt(id, 10), nil)
}

// broadcast sends an emergency notice to every subscriber, once.
func (h *Handler) broadcast(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.core.Broadcast(r.Context(), id, actor(r))
	var bad *core.ValidationError
	switch {
	case errors.Is(err, core.ErrAlreadySent):
		h.sessions.Put(r.Context(), "flash", "It was sent already: its progress is below.")
		http.Redirect(w, r, "/staff/announcements/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	case errors.As(err, &bad):
		h.sessions.Put(r.Context(), "flash", "Not sent: "+bad.Problem+".")
		http.Redirect(w, r, "/staff/announcements/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	default:
		h.done(w, r, err, "Sending it to the subscribers.", "/staff/announcements/"+strconv.FormatInt(id, 10), nil)
	}
}
