package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
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

// CreateRequest validates a report, routes it, and stores it with its
// history, its inbound message and the reporter's acknowledgment in one
// transaction.
func (c *Core) CreateRequest(ctx context.Context, in NewRequest) (Request, error) {
	in, svc, err := c.validateNew(in)
	if err != nil {
		return Request{}, err
	}
	r := Request{
		ServiceCode: in.ServiceCode, ServiceName: svc.Name, Description: in.Description,
		Attributes: in.Attributes, Lat: in.Lat, Lng: in.Lng, Address: in.Address, AddressID: in.AddressID,
		Zipcode: in.Zipcode, MediaURL: in.MediaURL, Status: StatusNew, Channel: in.Channel,
		DeviceID: in.Reporter.DeviceID, Reports: 1,
	}
	fill := func(row insertedRow) {
		r.ID, r.Token, r.Department, r.ExpectedAt = row.ID, row.Token, row.Department, row.ExpectedAt
		r.RequestedAt, r.UpdatedAt = row.At, row.At
		if row.ContactID != 0 {
			r.ContactID = &row.ContactID
		}
	}
	// With nothing to attach and no channel to acknowledge over, the report
	// is one statement: no transaction round trips.
	if len(in.Photos) == 0 && !c.canAnswer(in.Channel) && (in.Reporter.Phone == "" || in.Reporter.Email == "") {
		row, err := c.insertRequest(ctx, c.pool, newRow{NewRequest: in})
		if err != nil {
			return Request{}, fmt.Errorf("create request: %w", dbErr(err))
		}
		fill(row)
		c.created(r.ID, in.Channel, in.ServiceCode, r.Department)
		return r, nil
	}
	err = c.tx(ctx, func(tx pgx.Tx) error {
		ct, err := upsertContact(ctx, tx, in.Reporter)
		if err != nil {
			return err
		}
		row, err := c.insertRequest(ctx, tx, newRow{NewRequest: in, ContactID: ct.ID})
		if err != nil {
			return err
		}
		fill(row)
		for _, u := range in.Photos {
			aid, err := insertAttachment(ctx, tx, 0, r.ID, u)
			if err != nil {
				return err
			}
			if r.PhotoID == 0 && (u.Blob.ContentType == "image/jpeg" || u.Blob.ContentType == "image/png") {
				r.PhotoID = aid
			}
		}
		if ct.ID == 0 {
			return nil
		}
		// The acknowledgment is built from what is in hand: no re-reading.
		_, err = c.enqueueFor(ctx, tx, ct, outMsg{
			RequestID: r.ID, Origin: r.Channel, Kind: "ack", Data: c.requestData(r), Auto: true,
		})
		return err
	})
	if err != nil {
		return Request{}, fmt.Errorf("create request: %w", err)
	}
	c.created(r.ID, in.Channel, in.ServiceCode, r.Department)
	return r, nil
}

// created counts and logs a committed new request.
func (c *Core) created(id int64, ch Channel, service, dept string) {
	c.metrics.requests.WithLabelValues(string(ch), service).Inc()
	c.log.Info("request created", "id", id, "service", service, "channel", ch, "department", dept)
}

// newRow is a validated report ready to be written.
type newRow struct {
	NewRequest
	ContactID int64
}

// insertedRow is what the database assigned to a new request.
type insertedRow struct {
	ID         int64
	Token      string
	Department string
	ExpectedAt *time.Time
	At         time.Time
	ContactID  int64
}

// querier runs a statement on the pool or within a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// insertRequest writes a request and its first history entry in one
// statement, routed to its department (or the triage queue when it has
// none). The service may be empty for a report no one could classify yet.
// When r.ContactID is 0 and the reporter gave one phone number or one
// email address, the same statement finds or creates their contact.
func (c *Core) insertRequest(ctx context.Context, q querier, r newRow) (insertedRow, error) {
	var at *orb.Point
	if r.Lat != nil {
		at = &orb.Point{*r.Lng, *r.Lat}
	}
	row := insertedRow{Department: c.city.Route(r.ServiceCode, at), Token: rand.Text()}
	attrs, err := json.Marshal(r.Attributes)
	if err != nil {
		return row, err
	}
	if svc, ok := c.city.Service(r.ServiceCode); ok && svc.SLA > 0 {
		t := time.Now().Add(svc.SLA)
		row.ExpectedAt = &t
	}
	note := "routed to " + row.Department
	if row.Department == "" {
		note = "no department: waiting in the triage queue"
	}
	if r.Actor == "" {
		r.Actor = string(r.Channel)
	}
	// $13 is the known contact's id, or the phone of the contact to upsert.
	contact := `c AS (SELECT NULLIF($13::bigint, 0) AS id)`
	var contactArgs []any
	switch key := ""; {
	case r.ContactID != 0:
	case r.Reporter.Email != "" && r.Reporter.Phone != "":
		return row, errors.New("insertRequest: a reporter with a phone and an email needs upsertContact")
	case r.Reporter.Email != "" || r.Reporter.Phone != "":
		key = "email"
		if r.Reporter.Phone != "" {
			key = "phone"
		}
		// A known contact is only written to when it gains a name; else it
		// is read. One created by a transaction our snapshot cannot see yet
		// leaves c empty: no request is written, and the caller retries.
		keyParam := "NULLIF($18, '')"
		if key == "phone" {
			keyParam = "NULLIF($13::text, '')"
		}
		contact = `c0 AS (
				INSERT INTO contacts (phone, email, name, language)
				VALUES (NULLIF($13::text, ''), NULLIF($18, ''), $19, COALESCE(NULLIF($20, ''), 'en'))
				ON CONFLICT (` + key + `) DO UPDATE SET name = EXCLUDED.name
					WHERE contacts.name = '' AND EXCLUDED.name <> ''
				RETURNING id),
			c AS (
				SELECT id FROM c0
				UNION ALL
				SELECT id FROM contacts WHERE ` + key + ` = ` + keyParam + ` AND NOT EXISTS (SELECT 1 FROM c0))`
		contactArgs = []any{r.Reporter.Email, r.Reporter.Name, r.Reporter.Language}
	}
	var contactParam any = r.ContactID
	if contactArgs != nil {
		contactParam = r.Reporter.Phone
	}
	needContact := "true OR" // a known contact's id, or none: nothing to wait for
	if contactArgs != nil {
		needContact = ""
	}
	args := append([]any{row.Token, r.ServiceCode, r.Description, attrs, r.Lat, r.Lng,
		r.Address, r.AddressID, r.Zipcode, r.MediaURL, row.Department, r.Channel,
		contactParam, r.Reporter.DeviceID, row.ExpectedAt, r.Actor, note}, contactArgs...)
	sql := `
		WITH ` + contact + `,
		r AS (
			INSERT INTO requests (token, service_code, description, attributes, lat, lng,
				address, address_id, zipcode, media_url, department_code, channel,
				contact_id, device_id, expected_at)
			SELECT $1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, ''), $12, (SELECT id FROM c LIMIT 1), $14, $15
			WHERE ` + needContact + ` EXISTS (SELECT 1 FROM c)
			RETURNING id, requested_at, contact_id),
		e AS (
			INSERT INTO request_events (request_id, actor, to_status, department_code, note)
			SELECT id, $16, 'new', NULLIF($11, ''), $17 FROM r)
		SELECT id, requested_at, COALESCE(contact_id, 0) FROM r`
	for try := 0; ; try++ {
		err = q.QueryRow(ctx, sql, args...).Scan(&row.ID, &row.At, &row.ContactID)
		if !errors.Is(err, pgx.ErrNoRows) || try == 2 {
			return row, err
		}
		// The contact appeared after the statement's snapshot: a fresh
		// statement sees it.
	}
}

func (c *Core) validateNew(in NewRequest) (NewRequest, Service, error) {
	svc, ok := c.city.Service(in.ServiceCode)
	switch {
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
	attrs, err := svc.ValidateAttributes(in.Attributes)
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

// requestColumns reads a request with its service name, report count,
// latest public note and first public photo.
const requestColumns = `r.id, r.token, COALESCE(r.service_code, ''), COALESCE(s.name, ''), r.description,
	r.attributes, r.lat, r.lng, r.address, r.address_id, r.zipcode, r.media_url, r.status,
	COALESCE(r.close_reason, ''), COALESCE(r.department_code, ''), r.assignee_id, r.duplicate_of,
	r.channel, r.contact_id, r.device_id, r.requested_at, r.updated_at, r.expected_at, r.closed_at,
	1 + (SELECT count(*) FROM requests d WHERE d.duplicate_of = r.id),
	COALESCE((SELECT e.note FROM request_events e WHERE e.request_id = r.id AND e.public AND e.note <> ''
		ORDER BY e.at DESC, e.id DESC LIMIT 1), ''),
	COALESCE((SELECT a.id FROM attachments a WHERE a.request_id = r.id AND a.public
		AND a.content_type IN ('image/jpeg', 'image/png') ORDER BY a.id LIMIT 1), 0)`

const requestFrom = ` FROM requests r LEFT JOIN services s ON s.code = r.service_code `

func scanRequest(row pgx.Row) (Request, error) {
	var r Request
	var attrs []byte
	err := row.Scan(&r.ID, &r.Token, &r.ServiceCode, &r.ServiceName, &r.Description,
		&attrs, &r.Lat, &r.Lng, &r.Address, &r.AddressID, &r.Zipcode, &r.MediaURL, &r.Status,
		&r.CloseReason, &r.Department, &r.AssigneeID, &r.DuplicateOf,
		&r.Channel, &r.ContactID, &r.DeviceID, &r.RequestedAt, &r.UpdatedAt, &r.ExpectedAt, &r.ClosedAt,
		&r.Reports, &r.StatusNotes, &r.PhotoID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(attrs, &r.Attributes); err != nil {
		return r, fmt.Errorf("request %d attributes: %w", r.ID, err)
	}
	return r, nil
}

// Request returns one request by id.
func (c *Core) Request(ctx context.Context, id int64) (Request, error) {
	r, err := scanRequest(c.pool.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, id))
	return r, dbErr(err)
}

// RequestByToken returns the request a creation token stands for.
func (c *Core) RequestByToken(ctx context.Context, token string) (Request, error) {
	r, err := scanRequest(c.pool.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.token = $1`, token))
	return r, dbErr(err)
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
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.IDs) > 0 {
		where = append(where, "r.id = ANY("+arg(f.IDs)+")")
	}
	if len(f.ServiceCodes) > 0 {
		where = append(where, "r.service_code = ANY("+arg(f.ServiceCodes)+")")
	}
	if f.Start != nil {
		where = append(where, "r.requested_at >= "+arg(*f.Start))
	}
	if f.End != nil {
		where = append(where, "r.requested_at <= "+arg(*f.End))
	}
	if f.Open != f.Closed {
		if f.Open {
			where = append(where, "r.status <> 'closed'")
		} else {
			where = append(where, "r.status = 'closed'")
		}
	}
	q := `SELECT ` + requestColumns + requestFrom
	if len(where) > 0 {
		q += "WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY r.requested_at DESC, r.id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := c.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, dbErr(rows.Err())
}

// TriageQueue lists open requests no department has taken yet, oldest first.
func (c *Core) TriageQueue(ctx context.Context) ([]Request, error) {
	rows, err := c.pool.Query(ctx, `SELECT `+requestColumns+requestFrom+`
		WHERE r.department_code IS NULL AND r.status <> 'closed' ORDER BY r.requested_at`)
	if err != nil {
		return nil, dbErr(err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Request, error) { return scanRequest(row) })
}
