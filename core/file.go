package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"townline/core/internal/db"
)

// filing is a report ready to be filed, from any channel: what, where and
// who (NewRequest), and what it came from.
type filing struct {
	NewRequest
	// contact is the reporter's contact when the caller already holds it
	// (locked, in this transaction); nil finds or creates it from Reporter.
	contact *Contact
	// messages are the inbound messages that made the report: they, and
	// the files they brought, join the request. files are those of their
	// files already stored, which may place the report.
	messages     []int64
	files        []Upload
	conversation int64
	lenient      bool   // assembled by a conversation: see validateNew
	ack          bool   // acknowledge it to the reporter
	note         string // added to the acknowledgment: files refused, say
}

// file is the one way a report becomes a request, whatever the channel:
// validate, find or create the contact, place it by a photo's position
// when nothing else places it, route it, write it with its first history
// entry, attach its messages and photos, queue the acknowledgment, and
// count it once committed. With t nil it runs its own transaction, or,
// when there is nothing to attach and no one to answer, one statement.
func (c *Core) file(ctx context.Context, t *txn, f filing) (Request, error) {
	in, svc, err := c.validateNew(f.NewRequest, f.lenient)
	if err != nil {
		return Request{}, err
	}
	f.NewRequest = in
	if t == nil {
		// The one statement finds or creates a contact by one phone number
		// or one email address; a reporter known by both, or by a name
		// alone, or with an account at the client, needs upsertContact.
		rep := f.Reporter
		if len(f.Photos) > 0 || len(f.messages) > 0 || f.contact != nil ||
			(f.ack && c.canAnswer(f.Channel)) || (rep.Phone != "" && rep.Email != "") ||
			(rep.Name != "" && rep.Phone == "" && rep.Email == "") || rep.AccountID != "" {
			var r Request
			err := c.tx(ctx, func(t *txn) error {
				r, err = c.file(ctx, t, f)
				return err
			})
			return r, err
		}
		// One statement, no transaction: the fastest intake there is.
		r, err := c.insertRequest(ctx, c.q, f, svc)
		if err != nil {
			return Request{}, dbErr(err)
		}
		c.created(r)
		return r, nil
	}

	if f.contact == nil {
		ct, err := upsertContact(ctx, t.q, f.Reporter)
		if err != nil {
			return Request{}, err
		}
		f.contact = &ct
	}
	ct := *f.contact
	if f.Lat == nil {
		c.placeByPhoto(&f)
	}
	r, err := c.insertRequest(ctx, t.q, f, svc)
	if err != nil {
		return Request{}, err
	}
	if len(f.messages) > 0 {
		if err := t.q.LinkMessages(ctx, db.LinkMessagesParams{
			RequestID: r.ID, ConversationID: f.conversation, MessageIds: f.messages,
		}); err != nil {
			return Request{}, err
		}
	}
	for _, u := range f.Photos {
		aid, err := insertAttachment(ctx, t.q, 0, r.ID, u)
		if err != nil {
			return Request{}, err
		}
		if r.PhotoID == 0 && !u.Private && (u.Blob.ContentType == "image/jpeg" || u.Blob.ContentType == "image/png") {
			r.PhotoID = aid
		}
	}
	if f.ack && ct.ID != 0 {
		// The acknowledgment is built from what is in hand: no re-reading.
		data := c.requestData(r, ct.Language)
		data.Note = f.note
		if _, err := c.enqueueFor(ctx, t, ct, outMsg{
			RequestID: r.ID, Origin: r.Channel, Kind: "ack", Data: data, Auto: true,
		}); err != nil {
			return Request{}, err
		}
	}
	t.onCommit = append(t.onCommit, func() { c.created(r) })
	return r, nil
}

// created counts and logs a committed new request.
func (c *Core) created(r Request) {
	c.metrics.requests.WithLabelValues(string(r.Channel), r.ServiceCode).Inc()
	c.log.Info("request created", "id", r.ID, "service", r.ServiceCode, "channel", r.Channel, "department", r.Department)
}

// placeByPhoto places a report that nothing else placed at the position
// of its first photo (or shared location card) taken inside the city.
func (c *Core) placeByPhoto(f *filing) {
	for _, u := range append(f.Photos, f.files...) {
		if p := c.mediaPlace(u); p != nil {
			f.Lat, f.Lng = p.Lat, p.Lng
			if f.Address == "" {
				f.Address = p.Address
			}
			return
		}
	}
}

// insertRequest writes a routed request and its first history entry in
// one statement, which also finds or creates the contact of a reporter
// known by one phone number or one email address.
func (c *Core) insertRequest(ctx context.Context, q *db.Queries, f filing, svc Service) (Request, error) {
	var at *orb.Point
	if f.Lat != nil {
		at = &orb.Point{*f.Lng, *f.Lat}
	}
	r := Request{
		Token: rand.Text(), ServiceCode: f.ServiceCode, ServiceName: svc.Name, Description: f.Description,
		Attributes: f.Attributes, Lat: f.Lat, Lng: f.Lng, Address: f.Address, AddressID: f.AddressID,
		Zipcode: f.Zipcode, MediaURL: f.MediaURL, Status: StatusNew, Channel: f.Channel,
		Department: c.city.Route(f.ServiceCode, at), DeviceID: f.Reporter.DeviceID, Reports: 1,
	}
	if r.Attributes == nil {
		r.Attributes = map[string][]string{}
	}
	attrs, err := json.Marshal(r.Attributes)
	if err != nil {
		return r, err
	}
	if svc.SLA > 0 {
		t := time.Now().Add(svc.SLA)
		r.ExpectedAt = &t
	}
	note := "routed to " + r.Department
	if r.Department == "" {
		note = "no department: waiting in the triage queue"
	}
	actor := f.Actor
	if actor == "" {
		actor = string(f.Channel)
	}
	var row db.InsertRequestRow
	switch rep := f.Reporter; {
	case f.contact != nil || (rep.Phone == "" && rep.Email == ""):
		p := db.InsertRequestParams{
			Token: r.Token, ServiceCode: r.ServiceCode, Description: r.Description, Attributes: attrs,
			Lat: r.Lat, Lng: r.Lng, Address: r.Address, AddressID: r.AddressID, Zipcode: r.Zipcode,
			MediaUrl: r.MediaURL, Department: r.Department, Channel: string(r.Channel),
			DeviceID: r.DeviceID, ExpectedAt: r.ExpectedAt, Actor: actor, Note: note,
		}
		if f.contact != nil {
			p.ContactID = f.contact.ID
		}
		row, err = q.InsertRequest(ctx, p)
	case rep.Phone != "" && rep.Email != "":
		return r, errors.New("insertRequest: a reporter with a phone and an email needs upsertContact")
	default:
		// A contact created by a transaction this statement's snapshot
		// cannot see yet returns no row; a fresh statement sees it.
		for try := 0; ; try++ {
			if rep.Phone != "" {
				var x db.InsertRequestByPhoneRow
				x, err = q.InsertRequestByPhone(ctx, db.InsertRequestByPhoneParams{
					Phone: rep.Phone, Name: rep.Name, Language: rep.Language,
					Token: r.Token, ServiceCode: r.ServiceCode, Description: r.Description, Attributes: attrs,
					Lat: r.Lat, Lng: r.Lng, Address: r.Address, AddressID: r.AddressID, Zipcode: r.Zipcode,
					MediaUrl: r.MediaURL, Department: r.Department, Channel: string(r.Channel),
					DeviceID: r.DeviceID, ExpectedAt: r.ExpectedAt, Actor: actor, Note: note,
				})
				row = db.InsertRequestRow(x)
			} else {
				var x db.InsertRequestByEmailRow
				x, err = q.InsertRequestByEmail(ctx, db.InsertRequestByEmailParams{
					Email: rep.Email, Name: rep.Name, Language: rep.Language,
					Token: r.Token, ServiceCode: r.ServiceCode, Description: r.Description, Attributes: attrs,
					Lat: r.Lat, Lng: r.Lng, Address: r.Address, AddressID: r.AddressID, Zipcode: r.Zipcode,
					MediaUrl: r.MediaURL, Department: r.Department, Channel: string(r.Channel),
					DeviceID: r.DeviceID, ExpectedAt: r.ExpectedAt, Actor: actor, Note: note,
				})
				row = db.InsertRequestRow(x)
			}
			if !errors.Is(err, pgx.ErrNoRows) || try == 2 {
				break
			}
		}
	}
	if err != nil {
		return r, fmt.Errorf("insert request: %w", err)
	}
	r.ID, r.RequestedAt, r.UpdatedAt = row.ID, row.RequestedAt, row.RequestedAt
	if row.ContactID != 0 {
		r.ContactID = &row.ContactID
	}
	return r, nil
}
