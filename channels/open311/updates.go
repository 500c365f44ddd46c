package open311

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

// updateList is mySociety's list of updates: in XML under root (GET
// service_requests_updates, POST service_request_updates, as FixMyStreet
// has them), one request_update each; in JSON a bare array.
type updateList[T any] struct {
	XMLName xml.Name
	Updates []T `xml:"request_update"`
}

func (l updateList[T]) MarshalJSON() ([]byte, error) { return json.Marshal(nonNil(l.Updates)) }

// requestUpdate is one public change of a request. It has no field for
// who reported the request or who made the change.
type requestUpdate struct {
	ID        string `json:"update_id" xml:"update_id"`
	RequestID string `json:"service_request_id" xml:"service_request_id"`
	Status    string `json:"status" xml:"status"`
	Updated   string `json:"updated_datetime" xml:"updated_datetime"`
	// Description is the public note, "" for a change without one.
	Description string `json:"description" xml:"description"`
	// ExternalStatusCode is the detailed status (CLOSED_REFERRED), finer
	// than status where the extension's words and townline's differ.
	ExternalStatusCode string `json:"external_status_code" xml:"external_status_code"`
}

// maxUpdates bounds one answer. A window holding more is refused rather
// than cut short: a client that polls the same window would never see
// the rest.
const maxUpdates = 10000

// updatesWindow is the window when no date is given: a day. FixMyStreet
// asks for the last two hours every few minutes.
const updatesWindow = 24 * time.Hour

// updates answers GET servicerequestupdates: the public changes of every
// request in the window. Every request's changes, not only those of the
// requests the client filed: they are public already (requests with
// extensions=true shows them), and a client skips updates of requests it
// does not know, as FixMyStreet does. The key is still required, as the
// extension has it: the city knows who follows.
func (h *Handler) updates(r *http.Request, _ string) (any, error) {
	q := r.URL.Query()
	if _, err := h.client(r.Context(), q); err != nil {
		return nil, err
	}
	now := h.now()
	start, end, err := parseWindow(q, now, h.location(), updatesWindow)
	if err != nil {
		return nil, err
	}
	if end == nil {
		end = &now
	}
	ups, complete, err := h.core.Updates(r.Context(), *start, *end, maxUpdates)
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, badRequest("more than %d updates from start_date to end_date: ask for a shorter window", maxUpdates)
	}
	loc := h.location()
	out := make([]requestUpdate, 0, len(ups))
	for _, u := range ups {
		out = append(out, requestUpdate{
			ID:                 strconv.FormatInt(u.ID, 10),
			RequestID:          strconv.FormatInt(u.RequestID, 10),
			Status:             updateStatus(u.Status, u.CloseReason),
			Updated:            datetime(u.At, loc),
			Description:        u.Note,
			ExternalStatusCode: detailedStatus(u.Status, u.CloseReason),
		})
	}
	return updateList[requestUpdate]{XMLName: xml.Name{Local: "service_requests_updates"}, Updates: out}, nil
}

// updateStatus is the extension's word for where a request stands.
func updateStatus(s core.Status, reason core.CloseReason) string {
	switch s {
	case core.StatusNew:
		return "open"
	case core.StatusAcknowledged:
		return "investigating"
	case core.StatusInProgress:
		return "in_progress"
	}
	switch reason {
	case core.ReasonResolved:
		return "fixed"
	case core.ReasonDuplicate:
		return "duplicate"
	case core.ReasonReferred:
		return "not_councils_responsibility"
	case core.ReasonNoAction:
		return "no_further_action"
	}
	return "closed"
}

// client checks the api_key parameter of form and returns the client's
// name, as POST requests does.
func (h *Handler) client(ctx context.Context, form url.Values) (string, error) {
	p := &postParse{h: h, form: form}
	if err := p.authenticate(ctx); err != nil {
		return "", err
	}
	return p.client, nil
}

// commentStatuses are the statuses a client may send with a comment,
// lower-cased, and whether each holds the issue closed: FixMyStreet sends
// OPEN or CLOSED, or with extended statuses one of the others.
var commentStatuses = map[string]bool{
	"open": false, "investigating": false, "in_progress": false, "action_scheduled": false, "reopen": false,
	"closed": true, "fixed": true, "duplicate": true, "not_councils_responsibility": true,
	"no_further_action": true, "internal_referral": true,
}

// maxCommentForm bounds the body of a comment's POST: text fields only.
const maxCommentForm = 64 << 10

// commentReply is the id of a stored comment.
type commentReply struct {
	ID string `json:"update_id" xml:"update_id"`
}

// postUpdate serves POST servicerequestupdates in format f: a resident's
// comment, which staff read on the request.
func (h *Handler) postUpdate(f format) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, id, err := h.comment(w, r)
		if err != nil {
			status, desc := h.writeError(w, r, f, err)
			if status < http.StatusInternalServerError && status != statusClientClosed {
				h.log.Info("open311 comment refused", "client", client, "status", status, "reason", desc)
			}
			return
		}
		h.respond(w, r, f, updateList[commentReply]{XMLName: xml.Name{Local: "service_request_updates"},
			Updates: []commentReply{{ID: id}}}, nil)
	})
}

// comment reads, checks and stores a comment, and returns the client's
// name and the comment's id. The id is "c" and the message's number: a
// client keeps it with its copy of the comment, and FixMyStreet skips a
// fetched update whose update_id is one its comments on that request
// already have, so it must never equal a status update's id (a history
// entry's number).
func (h *Handler) comment(w http.ResponseWriter, r *http.Request) (client, id string, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCommentForm)
	form, err := commentForm(r)
	if err != nil {
		return "", "", err
	}
	if client, err = h.client(r.Context(), form); err != nil {
		return "", "", err
	}
	if err := h.checkJurisdiction(form.Get("jurisdiction_id")); err != nil {
		return client, "", err
	}
	for _, name := range []string{"service_request_id", "update_id", "updated_datetime", "status"} {
		if strings.TrimSpace(form.Get(name)) == "" {
			return client, "", badRequest("%s: is required", name)
		}
	}
	reqID, ok := parseID(form.Get("service_request_id"))
	if !ok {
		return client, "", badRequest("service_request_id: %q is not a request id", form.Get("service_request_id"))
	}
	at, err := parseDate("updated_datetime", form.Get("updated_datetime"), h.location(), false)
	if err != nil {
		return client, "", err
	}
	status := form.Get("status")
	closed, ok := commentStatuses[strings.ToLower(status)]
	if !ok {
		return client, "", badRequest("status: %q is not one of %s", status, statusList())
	}
	res, err := h.core.AddComment(r.Context(), core.Comment{
		RequestID: reqID, Client: client, ID: form.Get("update_id"), Text: form.Get("description"),
		MediaURL: form.Get("media_url"), At: *at, Closed: closed, ClientStatus: status,
		Author: core.Reporter{
			Name:  strings.TrimSpace(form.Get("first_name") + " " + form.Get("last_name")),
			Email: strings.TrimSpace(form.Get("email")),
			Phone: strings.TrimSpace(form.Get("phone")),
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return client, "", notFound("service_request_id: request %d does not exist", reqID)
	}
	if err != nil {
		return client, "", err
	}
	h.log.Info("open311 comment stored", "client", client, "request", reqID, "message", res.MessageID, "again", res.Duplicate)
	return client, "c" + strconv.FormatInt(res.MessageID, 10), nil
}

// commentForm reads a comment's fields, form-encoded or multipart. A
// comment's photo is a media_url: a file part is refused by name, never
// dropped unread.
func commentForm(r *http.Request) (url.Values, error) {
	// ParseForm first: ParseMultipartForm would drop its error on a body
	// that is not multipart, and it checks the Content-Type parsed below.
	if err := r.ParseForm(); err != nil {
		return nil, formError(err)
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "", "application/x-www-form-urlencoded":
		return r.Form, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxCommentForm); err != nil {
			return nil, formError(err)
		}
		for name := range r.MultipartForm.File {
			return nil, badRequest("%s: a comment takes no file; send its photo's address as media_url", name)
		}
		return r.Form, nil
	}
	return nil, &httpError{http.StatusUnsupportedMediaType,
		"Content-Type " + mediaType + " is not supported: send application/x-www-form-urlencoded or multipart/form-data"}
}

// statusList names the statuses a comment may carry, for an error.
func statusList() string {
	names := make([]string, 0, len(commentStatuses))
	for s := range commentStatuses {
		names = append(names, strings.ToUpper(s))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
