package open311

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

// maxResults is the spec's cap on one listing.
const maxResults = 1000

// window is how far back a listing reaches when a date is not given: the
// spec's default of the last 90 days.
const window = 90 * 24 * time.Hour

// requests answers GET requests: a filtered listing, newest first.
func (h *Handler) requests(r *http.Request, _ string) (any, error) {
	q := r.URL.Query()
	f, err := parseFilter(q, h.now(), h.location())
	if err != nil {
		return nil, err
	}
	found, err := h.core.Requests(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return h.listing(r.Context(), found, q.Get("extensions") == "true")
}

// parseFilter reads a listing's parameters. service_request_id, when given,
// selects those requests alone. Otherwise the dates default to a 90-day
// window: the last 90 days, or 90 days from start_date or up to end_date.
// Both dates given are taken as they are, however far apart.
func parseFilter(q url.Values, now time.Time, loc *time.Location) (core.Filter, error) {
	f := core.Filter{Limit: maxResults}
	for _, s := range splitList(q.Get("service_request_id")) {
		id, ok := parseID(s)
		if !ok {
			return f, badRequest("service_request_id: %q is not a request id", s)
		}
		f.IDs = append(f.IDs, id)
	}
	if len(f.IDs) > 0 {
		return f, nil
	}

	f.ServiceCodes = splitList(q.Get("service_code"))
	for _, s := range splitList(q.Get("status")) {
		switch strings.ToLower(s) {
		case "open":
			f.Open = true
		case "closed":
			f.Closed = true
		default:
			return f, badRequest("status: %q is not open or closed", s)
		}
	}

	start, end, err := parseWindow(q, now, loc, window)
	if err != nil {
		return f, err
	}
	f.Start, f.End = start, end
	return f, nil
}

// parseWindow reads start_date and end_date. Without either, the window
// is the span up to now (end nil: no end); with one, the span from or up
// to it. Both given are taken as they are, however far apart.
func parseWindow(q url.Values, now time.Time, loc *time.Location, span time.Duration) (start, end *time.Time, err error) {
	if start, err = parseDate("start_date", q.Get("start_date"), loc, false); err != nil {
		return nil, nil, err
	}
	if end, err = parseDate("end_date", q.Get("end_date"), loc, true); err != nil {
		return nil, nil, err
	}
	switch {
	case start == nil && end == nil:
		s := now.Add(-span)
		start = &s
	case end == nil:
		e := start.Add(span)
		end = &e
	case start == nil:
		s := end.Add(-span)
		start = &s
	case end.Before(*start):
		return nil, nil, badRequest("end_date: %s is before start_date %s", q.Get("end_date"), q.Get("start_date"))
	}
	return start, end, nil
}

// dateLayouts are the W3C datetime forms accepted: full RFC 3339, RFC 3339
// without seconds, and a bare date, read in the city's zone.
var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02"}

// parseDate reads a date parameter; "" gives nil. A bare date as end_date
// means the end of that day, so that start_date=end_date=D lists day D.
func parseDate(name, v string, loc *time.Location, end bool) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	for _, layout := range dateLayouts {
		t, err := time.ParseInLocation(layout, v, loc)
		if err != nil {
			continue
		}
		if layout == "2006-01-02" && end {
			t = t.AddDate(0, 0, 1).Add(-time.Microsecond)
		}
		return &t, nil
	}
	return nil, badRequest("%s: %q is not a date and time like 2026-05-01T14:30:00-07:00", name, v)
}

// splitList splits a comma-separated parameter, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseID reads a request id: a positive decimal number, nothing else (no
// sign, no spaces).
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// request answers GET requests/{id}: a list of one, as the spec has it.
func (h *Handler) request(r *http.Request, arg string) (any, error) {
	id, ok := parseID(arg)
	if !ok {
		return nil, notFound("service_request_id: %q is not a request id", arg)
	}
	req, err := h.core.Request(r.Context(), id)
	if errors.Is(err, core.ErrNotFound) {
		return nil, notFound("service_request_id: request %d does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	views, err := h.views(r.Context(), []core.Request{req}, r.URL.Query().Get("extensions") == "true")
	if err != nil {
		return nil, err
	}
	return requestList[request]{Requests: views}, nil
}

// tokenReply is a token resolved to the request it stands for.
type tokenReply struct {
	ID    string `json:"service_request_id" xml:"service_request_id"`
	Token string `json:"token" xml:"token"`
}

// maxToken bounds a token before it reaches the database; ours are 26
// characters.
const maxToken = 100

// token answers GET tokens/{token}.
func (h *Handler) token(r *http.Request, token string) (any, error) {
	// Only spares the database a long string: no token is maxToken long,
	// so ">= maxToken" answers the same (an equivalent mutant).
	if len(token) > maxToken {
		return nil, notFound("token: no request has this token")
	}
	req, err := h.core.RequestByToken(r.Context(), token)
	if errors.Is(err, core.ErrNotFound) {
		return nil, notFound("token: no request has this token")
	}
	if err != nil {
		return nil, err
	}
	return requestList[tokenReply]{Requests: []tokenReply{{ID: strconv.FormatInt(req.ID, 10), Token: req.Token}}}, nil
}
