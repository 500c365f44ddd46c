package open311

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"townline/core"
)

// requestList is <service_requests><request>… in XML and a bare array in
// JSON: the shape of every response about requests.
type requestList[T any] struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests []T      `xml:"request"`
}

func (l requestList[T]) MarshalJSON() ([]byte, error) { return json.Marshal(nonNil(l.Requests)) }

// request is a service request as the spec shows it. It has no field for
// anything that could identify the reporter, so none can leak, and its
// free text is masked (core's Public methods) where a reporter may have
// typed a phone number or an email address.
type request struct {
	ID                string    `json:"service_request_id" xml:"service_request_id"`
	Status            string    `json:"status" xml:"status"`
	StatusNotes       string    `json:"status_notes" xml:"status_notes"`
	ServiceName       string    `json:"service_name" xml:"service_name"`
	ServiceCode       string    `json:"service_code" xml:"service_code"`
	Description       string    `json:"description" xml:"description"`
	AgencyResponsible string    `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string    `json:"service_notice" xml:"service_notice"`
	Requested         string    `json:"requested_datetime" xml:"requested_datetime"`
	Updated           string    `json:"updated_datetime" xml:"updated_datetime"`
	Expected          string    `json:"expected_datetime,omitempty" xml:"expected_datetime,omitempty"`
	Address           string    `json:"address" xml:"address"`
	AddressID         string    `json:"address_id" xml:"address_id"`
	Zipcode           string    `json:"zipcode" xml:"zipcode"`
	Lat               *float64  `json:"lat,omitempty" xml:"lat,omitempty"`
	Long              *float64  `json:"long,omitempty" xml:"long,omitempty"`
	MediaURL          string    `json:"media_url" xml:"media_url"`
	Extended          *extended `json:"extended_attributes,omitempty" xml:"extended_attributes,omitempty"`
}

// extended is the extensions=true part of a request (see the package doc).
type extended struct {
	DetailedStatus string  `json:"detailed_status" xml:"detailed_status"`
	Channel        string  `json:"channel" xml:"channel"`
	Department     string  `json:"department" xml:"department"`
	Reports        int     `json:"reports" xml:"reports"`
	DuplicateOf    *string `json:"duplicate_of" xml:"duplicate_of,omitempty"`
	Expected       *string `json:"expected_datetime" xml:"expected_datetime,omitempty"`
	Notes          []note  `json:"notes" xml:"notes>note"`
}

type note struct {
	Datetime    string `json:"datetime" xml:"datetime"`
	Status      string `json:"status" xml:"status"`
	Description string `json:"description" xml:"description"`
}

// view turns a core request into the spec's; with ext it adds the
// extended attributes, with the public notes from history (the request's
// public events, from core.PublicHistories).
func (h *Handler) view(r core.Request, ext bool, history map[int64][]core.Event) request {
	loc := h.location()
	v := request{
		ID:            strconv.FormatInt(r.ID, 10),
		Status:        "closed",
		StatusNotes:   r.StatusNotes,
		ServiceName:   r.ServiceName,
		ServiceCode:   r.ServiceCode,
		Description:   r.PublicDescription(),
		ServiceNotice: h.notice(r),
		Requested:     datetime(r.RequestedAt, loc),
		Updated:       datetime(r.UpdatedAt, loc),
		Address:       r.PublicAddress(),
		AddressID:     r.PublicAddressID(),
		Zipcode:       r.PublicZipcode(),
		Lat:           r.Lat,
		Long:          r.Lng,
		MediaURL:      r.MediaURL,
	}
	if r.Status.Open() {
		v.Status = "open"
	}
	if d, ok := h.core.City().Department(r.Department); ok {
		v.AgencyResponsible = d.Name
	}
	if r.ExpectedAt != nil {
		v.Expected = datetime(*r.ExpectedAt, loc)
	}
	if r.PhotoID > 0 {
		// Our own copy, served with its metadata stripped, wins over a link
		// the client gave.
		v.MediaURL = h.core.PublicURL("media", strconv.FormatInt(r.PhotoID, 10))
	}
	if !ext {
		return v
	}

	x := &extended{
		DetailedStatus: detailedStatus(r.Status, r.CloseReason),
		Channel:        string(r.Channel),
		Department:     r.Department,
		Reports:        r.Reports,
		Notes:          []note{},
	}
	if r.DuplicateOf != nil {
		parent := strconv.FormatInt(*r.DuplicateOf, 10)
		x.DuplicateOf = &parent
	}
	if r.ExpectedAt != nil {
		x.Expected = &v.Expected
	}
	events := history[r.ID]
	// Each note carries the status the request had when it was written.
	status := detailedStatus(core.StatusNew, "")
	for _, e := range events {
		if e.To != "" {
			status = detailedStatus(e.To, e.CloseReason)
		}
		if e.Public && e.Note != "" {
			x.Notes = append(x.Notes, note{Datetime: datetime(e.At, loc), Status: status, Description: e.Note})
		}
	}
	v.Extended = x
	return v
}

// views turns requests into the spec's, reading the public notes of all of
// them in one query when the extensions are asked for.
func (h *Handler) views(ctx context.Context, found []core.Request, ext bool) ([]request, error) {
	history, err := h.histories(ctx, found, ext)
	if err != nil {
		return nil, err
	}
	out := make([]request, 0, len(found))
	for _, r := range found {
		out = append(out, h.view(r, ext, history))
	}
	return out, nil
}

// listing is views as a listing: each request is turned into the spec's
// only as it is written (see format.go), never the whole list at once.
func (h *Handler) listing(ctx context.Context, found []core.Request, ext bool) (listing, error) {
	history, err := h.histories(ctx, found, ext)
	if err != nil {
		return listing{}, err
	}
	return listing{n: len(found), item: func(i int) request { return h.view(found[i], ext, history) }}, nil
}

// histories reads the public notes of found in one query, when the
// extensions are asked for.
func (h *Handler) histories(ctx context.Context, found []core.Request, ext bool) (map[int64][]core.Event, error) {
	if !ext || len(found) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(found))
	for i, r := range found {
		ids[i] = r.ID
	}
	return h.core.PublicHistories(ctx, ids)
}

// detailedStatus is the extension's status: the lifecycle status in upper
// case, with the reason appended for a closed request (CLOSED_RESOLVED).
func detailedStatus(s core.Status, reason core.CloseReason) string {
	out := strings.ToUpper(string(s))
	if s == core.StatusClosed && reason != "" {
		out += "_" + strings.ToUpper(string(reason))
	}
	return out
}

// notice is the service_notice of an open request: when the city aims to
// respond, in the words a resident reads.
func (h *Handler) notice(r core.Request) string {
	if r.ExpectedAt == nil || !r.Status.Open() {
		return ""
	}
	return "Expected response by " + r.ExpectedAt.In(h.location()).Format("Monday, January 2")
}

// datetime writes a time as the spec's W3C form, in the city's zone.
func datetime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339)
}
