package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
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

// Statuses are every status, in a request's order.
var Statuses = []Status{StatusNew, StatusAcknowledged, StatusInProgress, StatusClosed}

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

	// reporter is the reporter's name and email address, read from the
	// database only to mask them in what the public reads.
	reporter string
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
	// SameAs is the open request staff found it repeats: it joins that
	// one, as a report of the same issue does by itself when close.
	SameAs int64
	// NotSame: staff looked at the open requests nearby and found it
	// repeats none of them, however close: it is filed as a new one.
	NotSame bool
}

// Upload is a stored file to attach to a request or message.
type Upload struct {
	Blob     Blob
	Filename string
	Private  bool // staff only, never published (a raw email, a document)
	// Field is the form field it came in (an Open311 client's multipart
	// part, "photo1"), for naming it in an error; "" is "media".
	Field string
}

// CleanFilename keeps the last element of a file name a client sent, for
// staff to read: never a path.
func CleanFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	// Cut at 200 bytes, and whatever character that splits dropped.
	return strings.ToValidUTF8(name[:min(len(name), 200)], "")
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
	if err := c.checkFields(
		textField{"description", in.Description, MaxDescription},
		textField{"address_string", in.Address, MaxAddress},
		textField{"address_id", in.AddressID, 200},
		textField{"zipcode", in.Zipcode, 20},
		textField{"media_url", in.MediaURL, MaxMediaURL},
	); err != nil {
		return in, svc, err
	}
	if in.MediaURL != "" {
		var err error
		if in.MediaURL, err = normalizeURL("media_url", in.MediaURL, MaxMediaURL); err != nil {
			return in, svc, err
		}
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
		if p := (orb.Point{lng, lat}); !c.city.Contains(p) && !c.city.refers(p) {
			return in, svc, invalid("lat", "%v,%v is outside %s", lat, lng, c.city.Name)
		}
	}
	for code, vals := range in.Attributes {
		if err := c.checkField("attribute", code, 200); err != nil {
			return in, svc, err
		}
		for _, v := range vals {
			if err := c.checkField("attribute["+code+"]", v, attributeTextMax); err != nil {
				return in, svc, err
			}
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
	in.Attributes = attrs // nil stays nil: the insert stores none as {}
	in.Reporter, err = c.normalizeReporter(in.Reporter)
	if err != nil {
		return in, svc, err
	}
	for _, p := range in.Photos {
		if err := c.checkField("filename", p.Filename, 255); err != nil {
			return in, svc, err
		}
		if !IsImage(p.Blob.ContentType) {
			field := p.Field
			if field == "" {
				field = "media"
			}
			return in, svc, invalid(field, "is %s, not a photo (JPEG, PNG, GIF, WebP or HEIC)", p.Blob.ContentType)
		}
	}
	return in, svc, nil
}

// normalizeURL checks a link given for field (a photo's, a meeting's
// agenda), which is published as it is stored: an absolute http or https
// URL with a host and no user name or password, written the one way
// net/url writes it (scheme and host lower-cased), of at most max
// characters.
func normalizeURL(field, raw string, max int) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", invalid(field, "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https": // Parse lower-cases the scheme
		return "", invalid(field, "must be an http or https URL")
	case u.Opaque != "" || u.Hostname() == "":
		return "", invalid(field, "must be an absolute URL with a host, like https://example.org/page")
	case u.User != nil:
		return "", invalid(field, "must not carry a user name or password")
	}
	u.Host = strings.ToLower(u.Host)
	s := u.String()
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(field, "is %d characters long written out; the limit is %d", n, max)
	}
	return s, nil
}

// checkText refuses text that no text column can hold (bytes that are not
// UTF-8, a NUL) or that is over max characters, naming the field.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8 text")
	}
	if strings.ContainsRune(s, 0) {
		return invalid(field, "contains a NUL character")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "is %d characters long; the limit is %d", n, max)
	}
	return nil
}

// isText says whether s can be stored as text: UTF-8 without a NUL.
func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// textField is one text field as it enters core: its name as the caller
// knows it, its value and its limit in characters.
type textField struct {
	name, value string
	max         int
}

// checkField is checkText at the boundary of core, where text from outside
// comes in: every exported function checks its text fields with it before
// any reaches the database. A refusal for bytes no text may hold is logged
// too: such input comes from a broken or hostile client, and the channel
// answering it (a 400, or a webhook dropped) may not say why.
func (c *Core) checkField(name, value string, max int) error {
	err := checkText(name, value, max)
	if err != nil && !isText(value) {
		c.log.Warn("input refused: not text", "field", name, "err", err)
	}
	return err
}

// checkFields checks fields in order and returns the first refusal.
func (c *Core) checkFields(fields ...textField) error {
	for _, f := range fields {
		if err := c.checkField(f.name, f.value, f.max); err != nil {
			return err
		}
	}
	return nil
}

// noLimit is the limit of a text field whose length its column does not
// bound and no caller could make unreasonable (a row's key, say).
const noLimit = math.MaxInt

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
	if err := c.checkField("token", token, 100); err != nil {
		return Request{}, err
	}
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
	District     string     // a district's code: requests placed in it
	Limit        int
}

// Requests lists requests, newest first.
func (c *Core) Requests(ctx context.Context, f Filter) ([]Request, error) {
	for _, code := range f.ServiceCodes {
		if err := c.checkField("service_code", code, 100); err != nil {
			return nil, err
		}
	}
	p := db.ListRequestsParams{Start: f.Start, EndAt: f.End}
	if len(f.ServiceCodes) > 0 { // an empty list is no filter, as nil is
		p.ServiceCodes = f.ServiceCodes
	}
	if f.Open != f.Closed {
		p.Open = &f.Open
	}
	if f.Limit > 0 {
		n := int32(min(f.Limit, math.MaxInt32))
		p.MaxRows = &n
	}
	if f.District == "" {
		return c.listRequests(ctx, f.IDs, p)
	}
	d, ok := c.City().District(f.District)
	if !ok {
		return nil, invalid("district", "no district %q", f.District)
	}
	// The box is read from the database, the area's shape tested here,
	// page after page until the limit is met or the box has no more.
	b := d.Area.Bound()
	p.South, p.West, p.North, p.East = &b.Min[1], &b.Min[0], &b.Max[1], &b.Max[0]
	var in []Request
	for {
		reqs, err := c.listRequests(ctx, f.IDs, p)
		if err != nil {
			return nil, err
		}
		for _, r := range reqs {
			if cityAreaContains(d.Area, orb.Point{*r.Lng, *r.Lat}) {
				in = append(in, r)
			}
		}
		// "> f.Limit" for ">=" reads a page more and cuts it off: its
		// mutant survives, the list is the same.
		if p.MaxRows == nil || len(reqs) < int(*p.MaxRows) || len(in) >= f.Limit {
			if p.MaxRows != nil && len(in) > f.Limit { // ">=" survives: in[:len(in)] is in
				in = in[:f.Limit]
			}
			return in, nil
		}
		end := reqs[len(reqs)-1].RequestedAt.Add(-time.Microsecond) // strictly older
		p.EndAt = &end
	}
}

func (c *Core) listRequests(ctx context.Context, ids []int64, p db.ListRequestsParams) ([]Request, error) {
	var rows []db.RequestDetail
	var err error
	if len(ids) > 0 {
		rows, err = c.q.ListRequestsByID(ctx, db.ListRequestsByIDParams{Ids: ids, ServiceCodes: p.ServiceCodes,
			Start: p.Start, EndAt: p.EndAt, Open: p.Open, South: p.South, West: p.West, North: p.North, East: p.East,
			MaxRows: p.MaxRows})
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
	if len(r) <= n { // "<" survives: s[:len(s)] is s
		return s
	}
	return string(r[:n])
}
