package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"townline/core/internal/db"
)

// Status is where a request stands.
type Status string

const (
	StatusNew          Status = "new"
	StatusAcknowledged Status = "acknowledged"
	StatusInProgress   Status = "in_progress"
	StatusClosed       Status = "closed"
)

// CloseReason says why a closed request was closed.
type CloseReason string

const (
	ReasonResolved  CloseReason = "resolved"
	ReasonDuplicate CloseReason = "duplicate"
	ReasonReferred  CloseReason = "referred"
	ReasonNoAction  CloseReason = "no_action"
)

// Open reports whether the status counts as open in Open311's terms.
func (s Status) Open() bool { return s != StatusClosed }

// Limits on what a request may carry.
const (
	MaxDescription = 4000
	MaxAddress     = 500
	MaxMediaURL    = 2000
)

// Request is a service request. ContactID and DeviceID identify the
// reporter: staff only, never shown to the public.
type Request struct {
	ID          int64
	Token       string
	ServiceCode string
	ServiceName string
	Description string
	Attributes  map[string][]string
	Lat, Lng    *float64
	Address     string
	AddressID   string
	Zipcode     string
	MediaURL    string // an outside photo link given by an Open311 client
	Status      Status
	CloseReason CloseReason
	Department  string // "" while it waits in the triage queue
	AssigneeID  *int64
	DuplicateOf *int64
	Channel     Channel
	ContactID   *int64
	DeviceID    string
	RequestedAt time.Time
	UpdatedAt   time.Time
	ExpectedAt  *time.Time
	ClosedAt    *time.Time

	Reports     int    // reports of this issue: itself and its duplicates
	StatusNotes string // the latest public note
	PhotoID     int64  // the first public photo's attachment id, or 0
}

// NewRequest is a report as a channel received it.
type NewRequest struct {
	Channel     Channel
	ServiceCode string
	Description string
	Attributes  map[string][]string
	Lat, Lng    *float64
	Address     string
	AddressID   string
	Zipcode     string
	MediaURL    string
	Reporter    Reporter
	Photos      []Upload
	Actor       string // who filed it, for the history: "open311:NAME", "sms"
}

// Upload is a stored file to attach to a request or message.
type Upload struct {
	Blob     Blob
	Filename string
	Private  bool // staff only, never published (a raw email, a document)
}

// CreateRequest files a report made in one piece (an Open311 client's):
// validated, routed, stored with its history and photos, and acknowledged,
// in one transaction.
func (c *Core) CreateRequest(ctx context.Context, in NewRequest) (Request, error) {
	r, err := c.file(ctx, nil, filing{NewRequest: in, ack: true})
	if err != nil {
		return Request{}, fmt.Errorf("create request: %w", err)
	}
	return r, nil
}

// validateNew checks and normalises a report. A lenient one was put
// together by a conversation rather than given whole: it may lack its
// service (the triage queue classifies it) and the attributes an API
// client must give.
func (c *Core) validateNew(in NewRequest, lenient bool) (NewRequest, Service, error) {
	svc, ok := c.city.Service(in.ServiceCode)
	switch {
	case in.ServiceCode == "" && lenient:
	case in.ServiceCode == "":
		return in, svc, invalid("service_code", "is required")
	case !ok:
		return in, svc, invalid("service_code", "%q is not a service of %s", in.ServiceCode, c.city.Name)
	}
	in.Description = strings.TrimSpace(in.Description)
	if err := checkText("description", in.Description, MaxDescription); err != nil {
		return in, svc, err
	}
	if err := checkText("address_string", in.Address, MaxAddress); err != nil {
		return in, svc, err
	}
	if err := checkText("address_id", in.AddressID, 200); err != nil {
		return in, svc, err
	}
	if err := checkText("zipcode", in.Zipcode, 20); err != nil {
		return in, svc, err
	}
	if err := checkText("media_url", in.MediaURL, MaxMediaURL); err != nil {
		return in, svc, err
	}
	if in.MediaURL != "" && !strings.HasPrefix(in.MediaURL, "https://") && !strings.HasPrefix(in.MediaURL, "http://") {
		return in, svc, invalid("media_url", "must be an http or https URL")
	}
	if (in.Lat == nil) != (in.Lng == nil) {
		return in, svc, invalid("lat", "lat and long must be given together")
	}
	if in.Lat != nil {
		lat, lng := *in.Lat, *in.Lng
		if math.IsNaN(lat) || lat < -90 || lat > 90 {
			return in, svc, invalid("lat", "%v is not a latitude between -90 and 90", lat)
		}
		if math.IsNaN(lng) || lng < -180 || lng > 180 {
			return in, svc, invalid("long", "%v is not a longitude between -180 and 180", lng)
		}
		if !c.city.Contains(orb.Point{lng, lat}) {
			return in, svc, invalid("lat", "%v,%v is outside %s", lat, lng, c.city.Name)
		}
	}
	attrs, err := in.Attributes, error(nil)
	if !lenient {
		attrs, err = svc.ValidateAttributes(in.Attributes)
	}
	if err != nil {
		var ae *AttributeError
		if errors.As(err, &ae) {
			return in, svc, invalid("attribute["+ae.Code+"]", "%s", ae.Problem)
		}
		return in, svc, invalid("attribute", "%v", err)
	}
	in.Attributes = attrs
	if in.Attributes == nil {
		in.Attributes = map[string][]string{}
	}
	in.Reporter, err = c.normalizeReporter(in.Reporter)
	if err != nil {
		return in, svc, err
	}
	for _, p := range in.Photos {
		if !IsImage(p.Blob.ContentType) {
			return in, svc, invalid("media", "is %s, not a photo (JPEG, PNG, GIF, WebP or HEIC)", p.Blob.ContentType)
		}
	}
	if in.Actor == "" {
		in.Actor = string(in.Channel)
	}
	return in, svc, nil
}

func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "is %d characters long; the limit is %d", n, max)
	}
	if strings.ContainsRune(s, 0) {
		return invalid(field, "contains a NUL character")
	}
	return nil
}

// Request returns one request by id.
func (c *Core) Request(ctx context.Context, id int64) (Request, error) {
	return c.requestOn(ctx, c.q, id)
}

func (c *Core) requestOn(ctx context.Context, q *db.Queries, id int64) (Request, error) {
	row, err := q.GetRequest(ctx, id)
	if err != nil {
		return Request{}, dbErr(notFound(err))
	}
	return requestFromDB(row)
}

// RequestByToken returns the request a creation token stands for.
func (c *Core) RequestByToken(ctx context.Context, token string) (Request, error) {
	row, err := c.q.GetRequestByToken(ctx, token)
	if err != nil {
		return Request{}, dbErr(notFound(err))
	}
	return requestFromDB(row)
}

// Filter selects requests for a listing. Empty fields do not filter.
type Filter struct {
	IDs          []int64
	ServiceCodes []string
	Start, End   *time.Time // on requested_at
	Open, Closed bool       // both false means both
	Limit        int
}

// Requests lists requests, newest first.
func (c *Core) Requests(ctx context.Context, f Filter) ([]Request, error) {
	p := db.ListRequestsParams{Start: f.Start, EndAt: f.End}
	if len(f.ServiceCodes) > 0 {
		p.ServiceCodes = f.ServiceCodes
	}
	if f.Open != f.Closed {
		p.Open = &f.Open
	}
	if f.Limit > 0 {
		n := int32(min(f.Limit, math.MaxInt32))
		p.MaxRows = &n
	}
	var rows []db.RequestDetail
	var err error
	if len(f.IDs) > 0 {
		rows, err = c.q.ListRequestsByID(ctx, db.ListRequestsByIDParams{Ids: f.IDs, ServiceCodes: p.ServiceCodes,
			Start: p.Start, EndAt: p.EndAt, Open: p.Open, MaxRows: p.MaxRows})
	} else {
		rows, err = c.q.ListRequests(ctx, p)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return requestsFromDB(rows)
}

// TriageQueue lists open requests no department has taken yet, oldest first.
func (c *Core) TriageQueue(ctx context.Context) ([]Request, error) {
	rows, err := c.q.TriageQueue(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	return requestsFromDB(rows)
}

// Truncate cuts s to at most n characters.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
