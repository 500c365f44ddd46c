package staff

import (
	"net/http"

	"townline/core"
)

// flag flags the request's sender, saying why: their automatic answers
// pause and they show in the Flagged senders queue until cleared.
func (h *Handler) flag(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "", func(req core.Request, by core.Actor) (string, error) {
		return "Sender flagged.", h.core.FlagSender(r.Context(), req.ID, r.PostForm.Get("reason"), by)
	})
}

// unflag clears the flag on the request's sender.
func (h *Handler) unflag(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "", func(req core.Request, by core.Actor) (string, error) {
		return "Flag cleared.", h.core.UnflagSender(r.Context(), req.ID, r.PostForm.Get("reason"), by)
	})
}
