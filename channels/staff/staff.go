// Package staff serves the staff workspace: sign-in, the shared inbox of
// every channel's requests, and each request's page, from which staff
// reply to the resident over the channel they used and move the work
// along. Every page and action checks who is signed in and whether they
// may see the request at hand.
package staff

import (
	"context"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"

	"townline/core"
	"townline/templates"
)

// Sessions: signed out after idleFor without a request, and after
// lifetime in any case.
const (
	idleFor  = 2 * time.Hour
	lifetime = 12 * time.Hour
)

// contentPolicy allows the pages only their own script, stylesheet,
// images, forms and live stream, and the map's tiles: nothing a resident
// wrote can run or load anything.
func contentPolicy(tiles string) string {
	img := "'self'"
	if u, err := url.Parse(strings.ReplaceAll(tiles, "{s}", "*")); err == nil && u.Host != "" {
		img += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src " + img +
		"; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// Config is how the city runs the workspace.
type Config struct {
	Secure   bool   // the public URL is https: the session cookie is Secure
	MapTiles string // the maps' tile URL template; empty: maps without tiles
}

// Handler serves the staff workspace.
type Handler struct {
	core     *core.Core
	log      *slog.Logger
	sessions *scs.SessionManager
	pages    map[string]*template.Template
	static   http.Handler
	cross    *http.CrossOriginProtection
	hub      *hub // live.go
	tiles    string
	policy   string // Content-Security-Policy
}

// New returns the workspace, with its sessions in PostgreSQL.
func New(c *core.Core, logger *slog.Logger, cfg Config) *Handler {
	sm := scs.New()
	// How often expired sessions are deleted: no one can tell (its mutants survive).
	sm.Store = pgxstore.NewWithCleanupInterval(c.Pool(), 10*time.Minute)
	sm.IdleTimeout, sm.Lifetime = idleFor, lifetime
	sm.Cookie.Name = "townline_staff"
	sm.Cookie.Path = "/staff"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.Secure
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		logger.Error("staff: session", "path", r.URL.Path, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
	}
	static, _ := fs.Sub(templates.Static, "static")
	h := &Handler{
		core: c, log: logger, sessions: sm, pages: map[string]*template.Template{},
		static: http.StripPrefix("/staff/static/", http.FileServerFS(static)),
		cross:  http.NewCrossOriginProtection(),
		hub:    newHub(c),
		tiles:  cfg.MapTiles, policy: contentPolicy(cfg.MapTiles),
	}
	for _, name := range []string{"login", "inbox", "request", "new", "numbers", "error"} {
		h.pages[name] = templates.StaffPage(name, h.funcs())
	}
	return h
}

// Register mounts the workspace on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /staff/static/", h.static)
	mux.Handle("GET /staff/login", h.wrap(h.loginForm))
	mux.Handle("POST /staff/login", h.wrap(h.login))
	mux.Handle("POST /staff/logout", h.wrap(h.signedIn(h.logout)))
	mux.Handle("GET /staff/{$}", h.wrap(h.signedIn(h.inbox)))
	mux.Handle("GET /staff/requests/new", h.wrap(h.signedIn(h.newRequestForm)))
	mux.Handle("POST /staff/requests/new", h.wrap(h.signedIn(h.newRequest)))
	mux.Handle("GET /staff/requests/{id}", h.wrap(h.signedIn(h.request)))
	mux.Handle("POST /staff/requests/{id}/reply", h.wrap(h.signedIn(h.reply)))
	mux.Handle("POST /staff/requests/{id}/note", h.wrap(h.signedIn(h.note)))
	mux.Handle("POST /staff/requests/{id}/status", h.wrap(h.signedIn(h.status)))
	mux.Handle("POST /staff/requests/{id}/assign", h.wrap(h.signedIn(h.assign)))
	mux.Handle("POST /staff/requests/{id}/duplicate", h.wrap(h.signedIn(h.duplicate)))
	mux.Handle("POST /staff/requests/{id}/reclassify", h.wrap(h.signedIn(h.reclassify)))
	mux.Handle("POST /staff/requests/{id}/flag", h.wrap(h.signedIn(h.flag)))
	mux.Handle("POST /staff/requests/{id}/unflag", h.wrap(h.signedIn(h.unflag)))
	mux.Handle("GET /staff/files/{id}", h.wrap(h.signedIn(h.file)))
	mux.Handle("GET /staff/recordings/{id}", h.wrap(h.signedIn(h.recording)))
	mux.Handle("GET /staff/numbers", h.wrap(h.signedIn(h.numbers)))
	mux.Handle("GET /staff/export.csv", h.wrap(h.signedIn(h.export)))
	mux.Handle("GET /staff/events", h.wrapStream(h.signedIn(h.events)))
	mux.Handle("POST /staff/segments", h.wrap(h.signedIn(h.segments)))
	h.registerAnnouncements(mux) // announce.go
	h.registerAdmin(mux)         // admin.go: users, API keys, canned responses, /staff/jobs
}

// wrap gives every staff route its headers, refuses cross-origin posts,
// and loads the session.
func (h *Handler) wrap(next http.HandlerFunc) http.Handler { return h.wrapWith(next, false) }

// wrapStream is wrap for the live stream: it only reads the session.
func (h *Handler) wrapStream(next http.HandlerFunc) http.Handler { return h.wrapWith(next, true) }

func (h *Handler) wrapWith(next http.HandlerFunc, stream bool) http.Handler {
	saved, peeked := h.cross.Handler(h.sessions.LoadAndSave(next)), h.cross.Handler(h.peekSession(next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every request saves the session as it answers (the idle timeout
		// moves on), writing back what it read when it began. The live
		// stream and the live script's fetches run beside the user's posts:
		// saving, they would undo what a post did meanwhile (the message it
		// left for the next page). They only read it.
		inner := saved
		if stream || r.Header.Get(liveHeader) != "" {
			inner = peeked
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", h.policy)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		inner.ServeHTTP(w, r)
	})
}

// peekSession loads the session for next and never saves it.
func (h *Handler) peekSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, err := r.Cookie(h.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, err := h.sessions.Load(r.Context(), token)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type userKey struct{}

// signedIn lets through only a signed-in, active user, and puts them in
// the request's context. Others go to the sign-in page (pages) or get 403
// (actions, and the live stream, which a browser would not follow to a
// page).
func (h *Handler) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := h.sessions.GetInt64(r.Context(), "user")
		var u core.User
		var err error
		if id != 0 {
			u, err = h.core.User(r.Context(), id)
		}
		switch {
		case id != 0 && err == nil:
			next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
		case id != 0 && !errors.Is(err, core.ErrNotFound):
			h.fail(w, r, err)
		case r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream":
			if id != 0 {
				h.sessions.Destroy(r.Context()) // the account was disabled
			}
			http.Redirect(w, r, "/staff/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			http.Error(w, "sign in first", http.StatusForbidden)
		}
	}
}

func user(r *http.Request) core.User { u, _ := r.Context().Value(userKey{}).(core.User); return u }

// page is what every staff page sees.
type page struct {
	City, Title, Problem, Flash string
	User                        core.User
	// Made is when the page was made, in Unix microseconds: its live
	// stream replays what changed after.
	Made int64
}

func (h *Handler) newPage(r *http.Request) page {
	return page{City: h.core.City().Name, User: user(r), Made: time.Now().UnixMicro()}
}

// liveHeader marks the live script's fetch of the page it shows
// (static/staff.js).
const liveHeader = "X-Townline-Live"

// flash takes the message an action left for the user's next page (a
// live fetch of it does not save the session: it stays for the page).
func (h *Handler) flash(r *http.Request) string {
	return h.sessions.PopString(r.Context(), "flash")
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	h.execute(w, r, status, name, h.pages[name], data)
}

// execute writes page name, made by t, with status.
func (h *Handler) execute(w http.ResponseWriter, r *http.Request, status int, name string, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "base", data); err != nil && r.Context().Err() == nil { // a log line's condition: its mutants survive
		h.log.Error("staff: page failed to render", "page", name, "err", err)
	}
}

// statusClientClosed is the status of a request whose client went away
// before its answer: nginx's 499, recorded in the metrics, never read.
const statusClientClosed = 499

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := h.newPage(r)
	var invalid *core.ValidationError
	switch {
	case r.Context().Err() != nil:
		h.log.Debug("staff: the client went away", "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosed)
	case errors.Is(err, core.ErrNotFound):
		p.Title, p.Problem = "Not found", "There is no such request, or it is not one of your departments'."
		h.render(w, r, http.StatusNotFound, "error", p)
	case errors.As(err, &invalid):
		p.Title, p.Problem = "Not possible", invalid.Error()
		h.render(w, r, http.StatusBadRequest, "error", p)
	case errors.Is(err, core.ErrUnavailable):
		h.log.Warn("staff: database unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		p.Title, p.Problem = "Temporarily unavailable", "Please try again in a moment."
		h.render(w, r, http.StatusServiceUnavailable, "error", p)
	default:
		h.log.Error("staff: page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p.Title, p.Problem = "Something went wrong", "The error is logged. Please try again."
		h.render(w, r, http.StatusInternalServerError, "error", p)
	}
}
