// Package web serves the public site: the home page, each request's
// tracking page and its photos. Nothing here may show who reported what.
package web

import (
	"bytes"
	"cmp"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	textlang "golang.org/x/text/language"

	"townline/core"
	"townline/templates"
)

// Handler serves the public pages.
type Handler struct {
	core      *core.Core
	log       *slog.Logger
	pages     map[string]*template.Template
	tiles     string              // the maps' tile URL template; empty: maps without tiles
	residents *scs.SessionManager // residents signed in
}

// Config is how the city runs its public site.
type Config struct {
	MapTiles string // the maps' tile URL template (TOWNLINE_MAP_TILES)
	Secure   bool   // the public URL is https: the session cookie is Secure
}

var statusWords = map[core.Status]string{
	core.StatusNew:          "Received",
	core.StatusAcknowledged: "Acknowledged",
	core.StatusInProgress:   "In progress",
	core.StatusClosed:       "Closed",
}

var reasonWords = map[core.CloseReason]string{
	core.ReasonResolved:  "resolved",
	core.ReasonDuplicate: "same issue as another report",
	core.ReasonReferred:  "referred to another agency",
	core.ReasonNoAction:  "no action needed",
}

func New(c *core.Core, logger *slog.Logger, cfg Config) *Handler {
	city := c.City()
	funcs := template.FuncMap{
		"statusWords": func(s core.Status, lang string) string { return templates.Word(lang, statusWords[s]) },
		"reasonWords": func(r core.CloseReason, lang string) string { return templates.Word(lang, reasonWords[r]) },
		"deref":       func(f *float64) float64 { return *f },
		// when writes a time as the city reads it, in its own time zone.
		"when":          func(t time.Time, form, lang string) string { return templates.When(lang, t.In(city.Location), form) },
		"kindWords":     func(k core.AnnouncementKind, lang string) string { return templates.Word(lang, kindWords[k]) },
		"severityWords": func(s core.Severity, lang string) string { return templates.Word(lang, severityWords[s]) },
		"cancelledWord": func(a core.Announcement, lang string) string { return templates.Word(lang, cancelledWord(a)) },
		// inLang gives the announcement partials (base.html) their
		// announcement and the page's language.
		"inLang":     func(a core.Announcement, lang string) announcementIn { return announcementIn{a, lang} },
		"reopenable": c.Reopenable,
		"svcName": func(r core.Request, lang string) string {
			return cmp.Or(city.ServiceName(r.ServiceCode, r.ServiceName, lang), templates.Word(lang, "Unclassified"))
		},
	}
	h := &Handler{core: c, log: logger, pages: map[string]*template.Template{}, tiles: cfg.MapTiles,
		residents: residentSessions(c, cfg.Secure)}
	for _, name := range []string{"home", "request", "report", "list", "error", "announcements", "announcement", "alerts", "signin", "account"} {
		h.pages[name] = templates.Page(name, funcs)
	}
	return h
}

// Register mounts the public pages on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /requests/{id}", h.request)
	mux.HandleFunc("GET /media/{id}", h.media)
	mux.HandleFunc("GET /requests", h.list)
	mux.HandleFunc("GET /feeds/requests.atom", h.feed)
	mux.HandleFunc("GET /announcements", h.announcements)
	mux.HandleFunc("GET /announcements/{id}", h.announcement)
	mux.HandleFunc("GET /calendar.ics", h.calendar)
	mux.HandleFunc("GET /feeds/announcements.atom", h.announcementsFeed)
	mux.HandleFunc("GET /alerts", h.alertsForm)
	mux.Handle("POST /alerts", http.NewCrossOriginProtection().Handler(http.HandlerFunc(h.subscribe)))
	mux.HandleFunc("GET /alerts/confirm", h.confirmAlerts)
	mux.HandleFunc("GET /alerts/unsubscribe", h.unsubscribeForm)
	// A mail program's one-click unsubscribe (RFC 8058) posts from its
	// server, with no Origin: CrossOriginProtection lets it through.
	mux.Handle("POST /alerts/unsubscribe", http.NewCrossOriginProtection().Handler(http.HandlerFunc(h.unsubscribe)))
	// Only the residents' own pages load a session: the public pages are
	// the same for everyone.
	signed := func(f http.HandlerFunc) http.Handler { return h.residents.LoadAndSave(f) }
	posted := func(f http.HandlerFunc) http.Handler { return http.NewCrossOriginProtection().Handler(signed(f)) }
	mux.Handle("GET /signin", signed(h.signinForm))
	mux.Handle("POST /signin", posted(h.sendSignin))
	mux.Handle("POST /signin/code", posted(h.signinCode))
	mux.Handle("GET /signin/link", signed(h.signinLinkForm))
	mux.Handle("POST /signin/link", posted(h.signinLink))
	mux.Handle("GET /account", signed(h.account))
	mux.Handle("POST /signout", posted(h.signout))
	// A signed-in resident follows at her own mailbox with no link to confirm.
	mux.Handle("POST /requests/{id}/follow", posted(h.follow))
	mux.Handle("POST /account/unfollow", posted(h.accountAction(h.unfollow)))
	mux.Handle("POST /account/language", posted(h.accountAction(h.accountLanguage)))
	mux.Handle("POST /account/reopen", posted(h.accountAction(h.reopenOwn)))
	mux.Handle("POST /account/hear-back", posted(h.accountAction(h.hearBack)))
	mux.Handle("POST /account/alerts", posted(h.accountAction(h.alerts)))
	mux.Handle("POST /account/weekly", posted(h.accountAction(h.weekly)))
	mux.Handle("POST /account/delete", posted(h.accountAction(h.deleteAccount)))
	mux.HandleFunc("GET /report", h.reportForm)
	mux.Handle("POST /report", http.NewCrossOriginProtection().Handler(http.HandlerFunc(h.report)))
	mux.Handle("GET /static/", static())
}

type page struct {
	Lang, City, Contact string
	Title, Message      string // an error page's
	Services            []core.Service
	Requests            []core.Request
	Request             core.Request
	History             []core.Event
	Filed               bool   // the request page right after its resident filed it here
	Tiles               string // the maps' tile URL template
	Announcement        core.Announcement
	Emergencies         []core.Announcement // in force: a banner on every page
}

// newPage starts a page in the reader's language: ?lang=es or ?lang=en
// (remembered in a cookie for a year), else the cookie, else the first of
// the two their browser asks for.
func (h *Handler) newPage(w http.ResponseWriter, r *http.Request) page {
	city := h.core.City()
	p := page{Lang: language(w, r), City: city.Name, Contact: city.Contact, Tiles: h.tiles}
	var err error
	if p.Emergencies, err = h.core.Emergencies(r.Context()); err != nil && r.Context().Err() == nil {
		// The page itself may still be worth showing (or is the error);
		// a client that went away is no news (fail says so at debug). A
		// log line's condition: its mutants survive.
		h.log.Warn("emergency notices unavailable", "err", err)
	}
	return p
}

func language(w http.ResponseWriter, r *http.Request) string {
	switch q := r.URL.Query().Get("lang"); q {
	case "en", "es":
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
		return q
	}
	if c, err := r.Cookie("lang"); err == nil && (c.Value == "en" || c.Value == "es") {
		return c.Value
	}
	// "es-MX,es;q=0.9,en;q=0.8": the best of ours, by weight.
	tags, _, _ := textlang.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if _, i, conf := pageLanguages.Match(tags...); conf != textlang.No && i == 1 {
		return "es"
	}
	return "en"
}

// pageLanguages are the languages the public pages are written in.
var pageLanguages = textlang.NewMatcher([]textlang.Tag{textlang.English, textlang.Spanish})

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r)
	p.Services = h.core.City().Services
	since := time.Now().AddDate(0, 0, -90)
	reqs, err := h.core.Requests(r.Context(), core.Filter{Start: &since, Limit: 50})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Requests = reqs
	h.render(w, r, http.StatusOK, "home", p)
}

// pathID reads the id a path names; ok is false for anything that cannot
// be one.
func pathID(r *http.Request) (id int64, ok bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	// id <= 0 only spares the database a query: core finds no request or
	// photo 0 either, so "id < 0" answers the same 404 (an equivalent
	// mutant).
	return id, err == nil && id > 0
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	req, err := h.core.Request(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hist, err := h.core.History(r.Context(), id, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newPage(w, r)
	p.Request, p.History, p.Filed = req, hist, r.URL.Query().Get("filed") != ""
	h.render(w, r, http.StatusOK, "request", p)
}

// media serves a public photo with its metadata (GPS, camera, time)
// stripped, whatever the reporter's phone put in it.
func (h *Handler) media(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	a, err := h.core.PublicPhoto(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.core.Blobs().Open(a.SHA256)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	// A photo is read whole to be stripped, so never more than the upload
	// limit; one stored under a larger limit than today's is not served
	// cut short.
	max := h.core.Blobs().Max()
	raw, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if int64(len(raw)) > max {
		h.log.Warn("public photo is over the upload limit; not served", "attachment", id, "limit", max)
		h.notFound(w, r)
		return
	}
	clean, err := core.StripMetadata(raw)
	if err != nil {
		h.log.Warn("public photo cannot be stripped; not served", "attachment", id, "err", err)
		h.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(clean))
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r)
	p.Title, p.Message = "Not found", "There is no such page or request."
	h.render(w, r, http.StatusNotFound, "error", p)
}

// statusClientClosed is the status of a request whose client went away
// before its answer: nginx's 499, recorded in the metrics, never read.
const statusClientClosed = 499

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away, and whatever failed failed for that (a
		// query cancelled): no one reads a page, and it is no fault of ours.
		h.log.Debug("page abandoned: the client went away", "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosed)
		return
	}
	p := h.newPage(w, r)
	switch {
	case errors.Is(err, core.ErrNotFound):
		h.notFound(w, r)
		return
	case errors.Is(err, core.ErrUnavailable):
		h.log.Warn("page unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		p.Title, p.Message = "Temporarily unavailable", "Please try again in a moment."
		h.render(w, r, http.StatusServiceUnavailable, "error", p)
	default:
		h.log.Error("page failed", "path", r.URL.Path, "err", err)
		p.Title, p.Message = "Something went wrong", "Please try again later."
		h.render(w, r, http.StatusInternalServerError, "error", p)
	}
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	h.renderAny(w, r, status, name, p)
}

// renderAny renders a page whose data holds more than page does.
func (h *Handler) renderAny(w http.ResponseWriter, r *http.Request, status int, name string, p any) {
	var b bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&b, "base", p); err != nil {
		h.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	b.WriteTo(w)
}
