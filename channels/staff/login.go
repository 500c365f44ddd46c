package staff

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"townline/core"
)

type loginPage struct {
	page
	Email, Next string
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login", loginPage{page: h.newPage(r), Next: localNext(r.URL.Query().Get("next"))})
}

// login signs a staff member in. A failure says only that the email and
// password do not match, never which was wrong.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	p := loginPage{page: h.newPage(r), Email: r.PostForm.Get("email"), Next: localNext(r.PostForm.Get("next"))}
	addr, _, _ := net.SplitHostPort(r.RemoteAddr)
	u, err := h.core.SignIn(r.Context(), p.Email, r.PostForm.Get("password"), addr)
	var invalid *core.ValidationError
	switch {
	case errors.Is(err, core.ErrNotFound) || errors.As(err, &invalid):
		p.Problem = "That email and password do not match an account."
		h.render(w, r, http.StatusUnauthorized, "login", p)
		return
	case errors.Is(err, core.ErrLockedOut):
		p.Problem = "Too many failed attempts. Wait 15 minutes, then try again."
		h.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	// A new token on sign-in: a session id planted before it is worthless.
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), "user", u.ID)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.Destroy(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}

// localNext keeps a post-sign-in destination inside the workspace: never
// another site ("//evil.example", "/\\evil.example"), which begins with
// something other than /staff/ or, a browser reading \ as /, holds one.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/staff/") || strings.ContainsAny(next, "\\\r\n") {
		return "/staff/"
	}
	return next
}
