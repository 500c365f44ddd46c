package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"

	"townline/core"
)

// Residents' accounts: sign in at /signin with a code texted to a phone
// or a link mailed to an address, no password; /account lists every
// request made from the account's phone and email, on any channel.

// residentSessions keeps residents signed in, in PostgreSQL (every
// instance reads them), apart from staff sessions.
func residentSessions(c *core.Core, secure bool) *scs.SessionManager {
	sm := scs.New()
	// How often expired sessions are deleted: no one can tell (a mutant
	// of it survives), an expired one is refused on reading anyway.
	sm.Store = pgxstore.NewWithCleanupInterval(c.Pool(), 10*time.Minute)
	sm.Lifetime, sm.IdleTimeout = 30*24*time.Hour, 7*24*time.Hour
	sm.Cookie.Name = "townline_resident"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	return sm
}

// signinView is the sign-in page: the address form (Step ""), the code
// form once sent (code), the button a mailed link opens (link).
type signinView struct {
	page
	Step, Address, Token, Problem string
	Mailed                        bool // the sign-in went by mail (a link, and its code)
	Adding                        bool // an address added to the signed-in account
}

type accountView struct {
	page
	Resident core.Resident
	Requests []core.Request
	Follows  []int64         // the requests followed
	Alerts   map[string]bool // how the emergency notices reach her, by channel
	Weekly   bool            // she gets the week's meetings and events by mail
}

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	p := signinView{page: h.newPage(w, r)}
	h.renderAny(w, r, http.StatusOK, "signin", p)
}

// sendSignin sends a code or link to the address typed; signed in, it
// adds that address to the account once verified.
func (h *Handler) sendSignin(w http.ResponseWriter, r *http.Request) {
	p := signinView{page: h.newPage(w, r)}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.Problem = "The form could not be read."
		h.renderAny(w, r, http.StatusBadRequest, "signin", p)
		return
	}
	p.Address = strings.TrimSpace(r.PostForm.Get("address"))
	account := h.residents.GetInt64(r.Context(), "resident")
	p.Adding = account != 0
	ch, addr, err := h.core.SendSignin(r.Context(), p.Address, p.Lang, clientAddr(r), account)
	var bad *core.ValidationError
	switch {
	case errors.As(err, &bad):
		p.Problem = "Type an email address or a mobile phone number."
		h.renderAny(w, r, http.StatusBadRequest, "signin", p)
	case errors.Is(err, core.ErrNotConnected):
		p.Problem = "The city cannot write to that kind of address yet: try the other kind."
		h.renderAny(w, r, http.StatusBadRequest, "signin", p)
	case errors.Is(err, core.ErrTooManySignins):
		h.log.Warn("sign-in refused: asked too often", "client", clientAddr(r))
		p.Problem = "Too many sign-ins asked. Please try again in a quarter of an hour."
		h.renderAny(w, r, http.StatusTooManyRequests, "signin", p)
	case err != nil:
		h.fail(w, r, err)
	default:
		p.Step, p.Address, p.Mailed = "code", addr, ch == core.ChannelEmail
		h.renderAny(w, r, http.StatusOK, "signin", p)
	}
}

// signinCode signs in with the code sent to an address.
func (h *Handler) signinCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	address := r.PostForm.Get("address")
	res, err := h.core.SigninWithCode(r.Context(), address, r.PostForm.Get("code"))
	h.signedIn(w, r, res, err, func(p *signinView) { p.Step, p.Address = "code", address })
}

// signinLinkForm is where a mailed link leads: a button, because mail
// scanners open links and must not sign anyone in.
func (h *Handler) signinLinkForm(w http.ResponseWriter, r *http.Request) {
	p := signinView{page: h.newPage(w, r), Step: "link", Token: r.URL.Query().Get("token")}
	h.renderAny(w, r, http.StatusOK, "signin", p)
}

func (h *Handler) signinLink(w http.ResponseWriter, r *http.Request) {
	res, err := h.core.SigninWithLink(r.Context(), r.URL.Query().Get("token"))
	h.signedIn(w, r, res, err, func(*signinView) {})
}

// signedIn ends a sign-in: the account in a new session and its page, or
// the form again with what went wrong.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, res core.Resident, err error, again func(*signinView)) {
	if errors.Is(err, core.ErrSigninRefused) || errors.As(err, new(*core.ValidationError)) {
		p := signinView{page: h.newPage(w, r)}
		p.Problem = "That code or link is wrong, used or expired. Ask for a new one."
		again(&p)
		h.renderAny(w, r, http.StatusUnauthorized, "signin", p)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A new session token on every sign-in: one planted before is useless.
	if err := h.residents.RenewToken(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	h.residents.Put(r.Context(), "resident", res.ID)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// resident is the signed-in resident's account; without one, the answer
// is a redirect to /signin and ok is false.
func (h *Handler) resident(w http.ResponseWriter, r *http.Request) (core.Resident, bool) {
	res, err := h.sessionResident(r)
	switch {
	case err != nil:
		h.fail(w, r, err)
		return res, false
	case res.ID == 0:
		h.residents.Remove(r.Context(), "resident")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return res, false
	}
	return res, true
}

// sessionResident is the signed-in resident's account, or none (ID 0) for
// a guest or an account since gone: its addresses went to another
// account, or it was deleted.
func (h *Handler) sessionResident(r *http.Request) (core.Resident, error) {
	id := h.residents.GetInt64(r.Context(), "resident")
	if id == 0 {
		return core.Resident{}, nil
	}
	res, err := h.core.GetResident(r.Context(), id)
	if errors.Is(err, core.ErrNotFound) {
		return core.Resident{}, nil
	}
	return res, err
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	res, ok := h.resident(w, r)
	if !ok {
		return
	}
	p := accountView{page: h.newPage(w, r), Resident: res}
	notices, err := h.core.ResidentNotices(r.Context(), res)
	if err == nil {
		p.Requests, err = h.core.ResidentRequests(r.Context(), res)
	}
	if err == nil {
		p.Follows, err = h.core.ResidentFollows(r.Context(), res)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Alerts, p.Weekly = map[string]bool{}, notices.Weekly
	for _, ch := range notices.Alerts {
		p.Alerts[string(ch)] = true
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderAny(w, r, http.StatusOK, "account", p)
}

// accountAction reads an account form and does what it asks, then shows
// the account again (or, deleted, the home page).
func (h *Handler) accountAction(do func(r *http.Request, res core.Resident) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, ok := h.resident(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		to, err := do(r, res)
		var bad *core.ValidationError
		switch {
		case errors.As(err, &bad):
			http.Error(w, bad.Error(), http.StatusBadRequest)
		case err != nil:
			h.fail(w, r, err)
		default:
			http.Redirect(w, r, to, http.StatusSeeOther)
		}
	}
}

func (h *Handler) unfollow(r *http.Request, res core.Resident) (string, error) {
	id, err := strconv.ParseInt(r.PostForm.Get("request"), 10, 64)
	if err != nil {
		return "", &core.ValidationError{Field: "request", Problem: "is not a request number"}
	}
	return "/account", h.core.ResidentUnfollow(r.Context(), res, id)
}

// reopenOwn reopens one of the resident's closed requests, with what
// they say is wrong.
func (h *Handler) reopenOwn(r *http.Request, res core.Resident) (string, error) {
	id, err := strconv.ParseInt(r.PostForm.Get("request"), 10, 64)
	if err != nil {
		return "", &core.ValidationError{Field: "request", Problem: "is not a request number"}
	}
	err = h.core.ReopenByResident(r.Context(), id, res, r.PostForm.Get("why"))
	if errors.Is(err, core.ErrCannotReopen) {
		return "", &core.ValidationError{Field: "request", Problem: "cannot be reopened now"}
	}
	return "/requests/" + strconv.FormatInt(id, 10), err
}

// alerts starts or stops the emergency notices to one of her addresses.
func (h *Handler) alerts(r *http.Request, res core.Resident) (string, error) {
	return "/account", h.core.SetResidentAlerts(r.Context(), res, core.Channel(r.PostForm.Get("channel")), r.PostForm.Get("on") == "1")
}

// weekly starts or stops the weekly mail of meetings and events.
func (h *Handler) weekly(r *http.Request, res core.Resident) (string, error) {
	return "/account", h.core.SetResidentWeekly(r.Context(), res, r.PostForm.Get("on") == "1")
}

func (h *Handler) hearBack(r *http.Request, res core.Resident) (string, error) {
	_, err := h.core.SetHearBack(r.Context(), res, core.Channel(r.PostForm.Get("hear_back")))
	return "/account", err
}

func (h *Handler) accountLanguage(r *http.Request, res core.Resident) (string, error) {
	lang := r.PostForm.Get("language")
	return "/account?lang=" + lang, h.core.SetResidentLanguage(r.Context(), res, lang)
}

// deleteAccount forgets the resident, once they tick that they mean it.
func (h *Handler) deleteAccount(r *http.Request, res core.Resident) (string, error) {
	if r.PostForm.Get("sure") != "yes" {
		return "/account", nil
	}
	if err := h.core.DeleteResident(r.Context(), res); err != nil {
		return "", err
	}
	return "/", h.residents.Destroy(r.Context())
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	if err := h.residents.Destroy(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
