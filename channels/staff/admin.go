package staff

// Admin pages: staff accounts, Open311 API keys, canned responses and the
// job queue. Only admins reach them: anyone else signed in gets "not
// found" on every page and action, exactly as for a page that does not
// exist, before any form is read.

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"townline/core"
	"townline/templates"
)

// registerAdmin parses the admin pages and mounts their routes.
func (h *Handler) registerAdmin(mux *http.ServeMux) {
	funcs := h.funcs()
	funcs["has"] = func(list []string, s string) bool { return slices.Contains(list, s) }
	funcs["deptNames"] = func(codes []string) string { return departmentNames(h.core.City(), codes) }
	for _, name := range []string{"admin_users", "admin_user", "admin_keys", "admin_canned"} {
		h.pages[name] = templates.StaffPage(name, funcs)
	}
	admin := func(f http.HandlerFunc) http.Handler { return h.wrap(h.signedIn(h.adminOnly(f))) }
	mux.Handle("GET /staff/admin/{$}", admin(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/staff/admin/users", http.StatusSeeOther)
	}))
	mux.Handle("GET /staff/admin/users", admin(h.adminUsers))
	mux.Handle("POST /staff/admin/users", admin(h.adminAddUser))
	mux.Handle("GET /staff/admin/users/{id}", admin(h.adminUser))
	mux.Handle("POST /staff/admin/users/{id}", admin(h.adminSetAccess))
	mux.Handle("POST /staff/admin/users/{id}/disable", admin(h.adminDisable(true)))
	mux.Handle("POST /staff/admin/users/{id}/enable", admin(h.adminDisable(false)))
	mux.Handle("POST /staff/admin/users/{id}/password", admin(h.adminResetPassword))
	mux.Handle("GET /staff/admin/keys", admin(h.adminKeys))
	mux.Handle("POST /staff/admin/keys", admin(h.adminAddKey))
	mux.Handle("POST /staff/admin/keys/{id}/revoke", admin(h.adminRevokeKey))
	mux.Handle("GET /staff/admin/canned", admin(h.adminCanned))
	mux.Handle("POST /staff/admin/canned", admin(h.adminSaveCanned))
	mux.Handle("GET /staff/admin/canned/{id}", admin(h.adminCannedEdit))
	mux.Handle("POST /staff/admin/canned/{id}", admin(h.adminSaveCanned))
	mux.Handle("POST /staff/admin/canned/{id}/delete", admin(h.adminDeleteCanned))
	jobs := admin(h.jobs())
	mux.Handle("/staff/jobs", jobs)
	mux.Handle("/staff/jobs/", jobs)
}

// adminOnly lets admins through; anyone else is told there is no such
// page, whatever the method.
func (h *Handler) adminOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !user(r).IsAdmin() {
			h.fail(w, r, core.ErrNotFound)
			return
		}
		next(w, r)
	}
}

// actor is the signed-in admin, as the admin log names them.
func actor(r *http.Request) core.Actor {
	u := user(r)
	return core.Actor{UserID: &u.ID, Name: u.Email}
}

// readForm reads a posted form of at most 64 KiB.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return false
	}
	return true
}

// pathID reads the {id} of the path; anything else is "not found".
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 { // no row has id 0: "< 0" (a mutant) answers the same
		return 0, core.ErrNotFound
	}
	return id, nil
}

// done ends an admin action: on success, a flash and a redirect; a
// refusal core explains shows the page again through again, with the
// problem; anything else fails.
func (h *Handler) done(w http.ResponseWriter, r *http.Request, err error, flash, to string, again func(problem string)) {
	var invalid *core.ValidationError
	switch {
	case errors.As(err, &invalid):
		again(invalid.Error())
	case err != nil:
		h.fail(w, r, err)
	default:
		h.sessions.Put(r.Context(), "flash", flash)
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// secret is a password or key shown once, on the answer to the post that
// made it: it is never stored where it could be shown again.
type secret struct{ For, Value string }

// accountForm is the add-user form, kept when it is refused.
type accountForm struct {
	Email, Name, Role string
	Departments       []string
}

type usersPage struct {
	page
	Accounts    []core.Account
	Log         []core.AdminEntry
	Roles       []string
	Departments []core.Department
	Form        accountForm
	Secret      *secret
}

func (h *Handler) usersPage(r *http.Request) (usersPage, error) {
	p := usersPage{page: h.newPage(r), Roles: core.Roles, Departments: h.core.City().Departments,
		Form: accountForm{Role: "staff"}}
	p.Title = "Users"
	var err error
	if p.Accounts, err = h.core.Accounts(r.Context()); err != nil {
		return p, err
	}
	p.Log, err = h.core.AdminLog(r.Context(), 50)
	return p, err
}

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) {
	p, err := h.usersPage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Flash = h.flash(r)
	h.render(w, r, http.StatusOK, "admin_users", p)
}

// adminAddUser creates an account with a generated password, shown once.
func (h *Handler) adminAddUser(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	f := accountForm{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"),
		Departments: r.PostForm["department"]}
	password := core.GeneratePassword()
	u, err := h.core.AddAccount(r.Context(), core.NewAccount{Email: f.Email, Name: f.Name, Role: f.Role,
		Departments: f.Departments, Password: password}, actor(r))
	status := http.StatusOK
	var invalid *core.ValidationError
	switch {
	case errors.As(err, &invalid):
		status = http.StatusBadRequest
	case err != nil:
		h.fail(w, r, err)
		return
	}
	p, perr := h.usersPage(r)
	if perr != nil {
		h.fail(w, r, perr)
		return
	}
	if err != nil {
		p.Problem, p.Form = err.Error(), f
	} else {
		p.Flash = "Account added for " + u.Email + "."
		p.Secret = &secret{For: u.Email, Value: password}
	}
	h.render(w, r, status, "admin_users", p)
}

type userPage struct {
	page
	Account     core.Account
	Self        bool
	Roles       []string
	Departments []core.Department
	Secret      *secret
}

func (h *Handler) userPage(r *http.Request) (userPage, error) {
	p := userPage{page: h.newPage(r), Roles: core.Roles, Departments: h.core.City().Departments}
	id, err := pathID(r)
	if err != nil {
		return p, err
	}
	if p.Account, err = h.core.Account(r.Context(), id); err != nil {
		return p, err
	}
	p.Title = cmp.Or(p.Account.Name, p.Account.Email)
	p.Self = p.Account.ID == user(r).ID
	return p, nil
}

func (h *Handler) adminUser(w http.ResponseWriter, r *http.Request) {
	p, err := h.userPage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Flash = h.flash(r)
	h.render(w, r, http.StatusOK, "admin_user", p)
}

// userAgain shows a user's page once more with what was refused.
func (h *Handler) userAgain(w http.ResponseWriter, r *http.Request) func(string) {
	return func(problem string) {
		p, err := h.userPage(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Problem = problem
		h.render(w, r, http.StatusBadRequest, "admin_user", p)
	}
}

func (h *Handler) adminSetAccess(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !readForm(w, r) {
		return
	}
	err = h.core.SetAccess(r.Context(), id, r.PostForm.Get("name"), r.PostForm.Get("role"), r.PostForm["department"], actor(r))
	h.done(w, r, err, "Saved: the change applies from their next page.", r.URL.Path, h.userAgain(w, r))
}

func (h *Handler) adminDisable(disabled bool) http.HandlerFunc {
	flash := map[bool]string{true: "Disabled: they are signed out and cannot sign in.", false: "Enabled: they can sign in again."}[disabled]
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		err = h.core.SetDisabled(r.Context(), id, disabled, actor(r))
		h.done(w, r, err, flash, "/staff/admin/users/"+strconv.FormatInt(id, 10), h.userAgain(w, r))
	}
}

// adminResetPassword gives an account a new password, shown once, and ends
// the account's sessions.
func (h *Handler) adminResetPassword(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	password, err := h.core.ResetPassword(r.Context(), id, actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A password is reset when it may be known to someone else: whoever
	// signed in with it is signed out.
	err = h.sessions.Iterate(r.Context(), func(ctx context.Context) error {
		if h.sessions.GetInt64(ctx, "user") == id {
			return h.sessions.Destroy(ctx)
		}
		return nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.userPage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Flash = "Password reset: the old one no longer works."
	p.Secret = &secret{For: p.Account.Email, Value: password}
	h.render(w, r, http.StatusOK, "admin_user", p)
}

// departmentNames is how a page names an account's departments.
func departmentNames(c *core.City, codes []string) string {
	names := make([]string, 0, len(codes))
	for _, code := range codes {
		if d, ok := c.Department(code); ok {
			names = append(names, d.Name)
		} else {
			names = append(names, code)
		}
	}
	return strings.Join(names, ", ")
}
