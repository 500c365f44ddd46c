package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"townline/core"
)

// Emergency notices by mail: a resident leaves an address at /alerts, a
// link mailed to it confirms it (double opt-in), and every notice carries
// a link to end it, which mail programs follow with one click. By text,
// residents send ALERTS (channels/sms).

// signupsPerHour is how many sign-ups one address may send an hour (core
// bounds the confirmation mails one mailbox gets, whoever asks).
const signupsPerHour = 10

// alertsView is /alerts and its answers: the form (Step ""), "check your
// mail" (sent), confirmed, the unsubscribe button (unsubscribe), done
// (unsubscribed), or a link that leads nowhere (gone). Following is the
// request a link's subscription follows (0: the emergency notices).
type alertsView struct {
	page
	Step, Email, Problem, Token string
	Following                   int64
	Digest                      bool // the weekly mail of meetings and events
}

func (h *Handler) alertsForm(w http.ResponseWriter, r *http.Request) {
	p := alertsView{page: h.newPage(w, r)}
	h.renderAny(w, r, http.StatusOK, "alerts", p)
}

func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) {
	h.signUp(w, r, 0)
}

// follow asks for a request's updates by mail (POST
// /requests/{id}/follow), as subscribe asks for the emergency notices.
func (h *Handler) follow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	h.signUp(w, r, id)
}

// signUp takes an address for the emergency notices (request 0) or for a
// request's updates, and mails it a link to confirm.
func (h *Handler) signUp(w http.ResponseWriter, r *http.Request, request int64) {
	p := alertsView{page: h.newPage(w, r), Following: request}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.Problem = "The form could not be read."
		h.renderAny(w, r, http.StatusBadRequest, "alerts", p)
		return
	}
	p.Email = strings.TrimSpace(r.PostForm.Get("email"))
	ok, err := h.core.Allow(r.Context(), "signup", clientAddr(r), signupsPerHour)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok {
		h.log.Warn("alert sign-ups refused: too many from one address", "addr", clientAddr(r))
		p.Problem = "Too many sign-ups from this connection. Please try again later."
		h.renderAny(w, r, http.StatusTooManyRequests, "alerts", p)
		return
	}
	confirmed := false
	if request == 0 {
		p.Digest = r.PostForm.Get("digest") == "1"
		err = h.core.SubscribeByMail(r.Context(), p.Email, p.Lang, p.Digest)
	} else {
		var res core.Resident // signed in, her own address follows at once
		if res, err = h.sessionResident(r); err == nil {
			var issue int64
			if issue, confirmed, err = h.core.FollowByMail(r.Context(), request, p.Email, p.Lang, res); err == nil {
				p.Following = issue // a duplicate's issue
			}
		}
	}
	var bad *core.ValidationError
	switch {
	case errors.As(err, &bad):
		p.Problem = "This is not an email address we can write to."
		h.renderAny(w, r, http.StatusBadRequest, "alerts", p)
	case errors.Is(err, core.ErrNotConnected):
		p.Problem = "The city does not send mail yet."
		h.renderAny(w, r, http.StatusBadRequest, "alerts", p)
	case err != nil:
		h.fail(w, r, err)
	case confirmed:
		p.Step = "confirmed"
		h.renderAny(w, r, http.StatusOK, "alerts", p)
	default:
		p.Step = "sent"
		h.renderAny(w, r, http.StatusOK, "alerts", p)
	}
}

func (h *Handler) confirmAlerts(w http.ResponseWriter, r *http.Request) {
	h.tokenStep(w, r, "confirmed", h.core.ConfirmSubscription)
}

// unsubscribeForm asks for a click: a link opened by a mail scanner must
// not end anything.
func (h *Handler) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	p := alertsView{page: h.newPage(w, r), Step: "unsubscribe", Token: r.URL.Query().Get("token")}
	h.renderAny(w, r, http.StatusOK, "alerts", p)
}

func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	h.tokenStep(w, r, "unsubscribed", h.core.Unsubscribe)
}

// tokenStep does what a link's token asks (?token=) and says so; a link
// that names nothing live says that.
func (h *Handler) tokenStep(w http.ResponseWriter, r *http.Request, done string,
	do func(ctx context.Context, token string) (core.Subscription, error)) {
	p := alertsView{page: h.newPage(w, r), Step: done}
	sub, err := do(r.Context(), r.URL.Query().Get("token"))
	p.Following, p.Digest = sub.Request, sub.Digest
	switch {
	case errors.Is(err, core.ErrNotFound):
		p.Step = "gone"
		h.renderAny(w, r, http.StatusNotFound, "alerts", p)
	case err != nil:
		h.fail(w, r, err)
	default:
		h.renderAny(w, r, http.StatusOK, "alerts", p)
	}
}
