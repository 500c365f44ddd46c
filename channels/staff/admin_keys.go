package staff

import (
	"errors"
	"net/http"

	"townline/core"
)

// Open311 API keys: listed by name, added (the key shown once), revoked.

type keysPage struct {
	page
	Keys   []core.APIKey
	Name   string // the add form, kept when it is refused
	Secret *secret
}

func (h *Handler) keysPage(r *http.Request) (keysPage, error) {
	p := keysPage{page: h.newPage(r)}
	p.Title = "API keys"
	var err error
	p.Keys, err = h.core.APIKeys(r.Context())
	return p, err
}

func (h *Handler) adminKeys(w http.ResponseWriter, r *http.Request) {
	p, err := h.keysPage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Flash = h.flash(r)
	h.render(w, r, http.StatusOK, "admin_keys", p)
}

// adminAddKey creates a key and shows it, this once.
func (h *Handler) adminAddKey(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	name := r.PostForm.Get("name")
	key, err := h.core.CreateAPIKey(r.Context(), name, actor(r))
	status := http.StatusOK
	var invalid *core.ValidationError
	switch {
	case errors.As(err, &invalid):
		status = http.StatusBadRequest
	case err != nil:
		h.fail(w, r, err)
		return
	}
	p, perr := h.keysPage(r)
	if perr != nil {
		h.fail(w, r, perr)
		return
	}
	if err != nil {
		p.Problem, p.Name = err.Error(), name
	} else {
		p.Flash = "Key added for " + name + "."
		p.Secret = &secret{For: name, Value: key}
	}
	h.render(w, r, status, "admin_keys", p)
}

func (h *Handler) adminRevokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.core.RevokeAPIKey(r.Context(), id, actor(r))
	h.done(w, r, err, "Revoked. Other server instances may accept it for up to a minute more.", "/staff/admin/keys", func(problem string) {
		h.fail(w, r, err)
	})
}
