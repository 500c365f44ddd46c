package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	// triaged: place, the referral and the same issue have been looked
	// for (once, though file runs again inside its transaction).
	triaged bool
	agency  Agency // the outside agency it is referred to; zero when it is the city's
	parent  int64  // the open request of the same issue it joins, or 0
	// offer is the open request, farther away, that it may repeat: its
	// reporter is asked whether to follow that one instead.
	offer Nearby
	// past is a request of the city's history (an import): filed as of
	// its own time, with the status it has there, and told to no one.
	past *Imported
}

// The same issue reported again joins the first report, without asking,
// when it is of the same service, this close, and that recent.
const (
	SameIssueRadius = 50 // meters
	SameIssueWindow = 30 * 24 * time.Hour
)

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
	if !f.triaged {
		q := c.q
		if t != nil {
			q = t.q
		}
		c.triage(ctx, q, &f)
	}
	if t == nil {
		// The one statement finds or creates a contact by one phone number
		// or one email address; a reporter known by both, or by a name
		// alone, or with an account at the client, needs upsertContact. A
		// referral, or a join, closes what it files. (A contact already
		// found, and messages to link, come only with a caller's t.) With
		// no photos, ">= 0" (a mutant) takes the transaction to the same end.
		rep := f.Reporter
		if f.agency.Code != "" || f.parent != 0 || f.past != nil || len(f.Photos) > 0 ||
			(f.ack && c.canAnswer(f.Channel)) || (rep.Phone != "" && rep.Email != "") ||
			(rep.Name != "" && rep.Phone == "" && rep.Email == "") || rep.AccountID != "" || rep.ReplyBy != "" {
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
	if f.past != nil {
		t.at = &f.past.At
		defer func() { t.at = nil }()
	}
	r, err := c.insertRequest(ctx, t.q, f, svc)
	if err != nil {
		return Request{}, err
	}
	if len(f.messages) > 0 { // saves a query: ">= 0" (a mutant) links none
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
	kind, issue := "ack", r
	switch {
	case f.agency.Code != "":
		// Kept, so that staff see it, and closed: it is the agency's.
		r.Status, r.CloseReason = StatusClosed, ReasonReferred
		if err := t.q.SetRequestStatus(ctx, db.SetRequestStatusParams{
			Dated: t.at, ID: r.ID, Status: string(r.Status), CloseReason: string(r.CloseReason),
		}); err != nil {
			return Request{}, err
		}
		r.StatusNotes = fmt.Sprintf("Referred to %s: %s.", f.agency.Name, f.agency.Contact)
		if err := insertEvent(ctx, t, r.ID, Actor{}, StatusNew, StatusClosed, ReasonReferred, r.StatusNotes, true); err != nil {
			return Request{}, err
		}
		kind = "referred"
	case f.parent != 0:
		if f.SameAs != 0 {
			if err := checkParent(ctx, t, f.SameAs); err != nil {
				return Request{}, err
			}
		}
		if issue, err = c.join(ctx, t, &r, f.parent); err != nil {
			return Request{}, err
		}
		kind = "joined"
	case f.offer.ID != 0:
		if err := t.q.InsertSameOffer(ctx, db.InsertSameOfferParams{
			RequestID: r.ID, ParentID: f.offer.ID, Meters: int32(f.offer.Meters),
		}); err != nil {
			return Request{}, err
		}
		kind = "maybe"
	case f.past != nil && f.past.Status != StatusNew:
		// Where the request stands in the history, as of its last change.
		if f.past.Status == StatusClosed {
			r.CloseReason = ReasonResolved
		}
		r.Status, r.StatusNotes, t.at = f.past.Status, f.past.Notes, &f.past.Changed
		if err := t.q.SetRequestStatus(ctx, db.SetRequestStatusParams{
			Dated: t.at, ID: r.ID, Status: string(r.Status), CloseReason: string(r.CloseReason),
		}); err != nil {
			return Request{}, err
		}
		if err := insertEvent(ctx, t, r.ID, Actor{Name: f.Actor}, StatusNew, r.Status, r.CloseReason, r.StatusNotes, true); err != nil {
			return Request{}, err
		}
	}
	if f.ack && ct.ID != 0 {
		// The acknowledgment is built from what is in hand: no re-reading.
		data := c.requestData(r, ct.Language)
		data.Note = f.note
		data.Agency, data.AgencyContact = f.agency.In(ct.Language)
		data.Reports, data.URL = issue.Reports, c.TrackingURL(issue.ID)
		if kind == "ack" && r.ServiceCode == "" && f.Channel == ChannelEmail {
			// A mail is filed at once, and the question which kind of
			// problem it is goes with its acknowledgment.
			_, data.Choices = c.city.menu(ct.Language)
		}
		if f.offer.ID != 0 {
			data.Parent, data.Meters = f.offer.ID, f.offer.Meters
			data.ParentService = c.city.ServiceName(f.offer.ServiceCode, f.offer.ServiceName, ct.Language)
		}
		if _, err := c.enqueueFor(ctx, t, ct, outMsg{
			RequestID: r.ID, Origin: r.Channel, Kind: kind, Data: data, Auto: true,
		}); err != nil {
			return Request{}, err
		}
	}
	if f.past == nil { // the city's history is not news: not counted, not logged
		t.onCommit = append(t.onCommit, func() { c.created(r) })
	}
	return r, nil
}

// created counts and logs a committed new request.
func (c *Core) created(r Request) {
	c.metrics.requests.WithLabelValues(string(r.Channel), r.ServiceCode).Inc()
	c.log.Info("request created", "id", r.ID, "service", r.ServiceCode, "channel", r.Channel, "department", r.Department)
}

// triage places f, and looks for the agency it is referred to or the
// open request of the same issue it joins.
func (c *Core) triage(ctx context.Context, q *db.Queries, f *filing) {
	f.triaged = true
	c.place(ctx, q, f)
	if f.SameAs != 0 {
		f.parent = f.SameAs // staff found it: nothing to look for
		return
	}
	if f.Lat == nil {
		return
	}
	if f.NotSame {
		// Staff looked: still the city's or an agency's, but no one's repeat.
		f.agency, _ = c.city.Referral(f.ServiceCode, &orb.Point{*f.Lng, *f.Lat})
		return
	}
	if f.agency, _ = c.city.Referral(f.ServiceCode, &orb.Point{*f.Lng, *f.Lat}); f.agency.Code != "" || f.ServiceCode == "" {
		return
	}
	var asOf *time.Time
	if f.past != nil {
		asOf = &f.past.At
	}
	var err error
	if f.parent, err = sameIssue(ctx, q, f.ServiceCode, *f.Lat, *f.Lng, asOf); err != nil { // a log line's condition: its mutant survives
		c.log.Warn("looking for the same issue failed; filed as a new one", "err", err)
	}
	if f.parent != 0 || !f.ack || !slices.Contains(askedChannels, f.Channel) {
		return
	}
	maybe, err := c.mayRepeat(ctx, q, f.ServiceCode, *f.Lat, *f.Lng)
	if err != nil { // a log line's condition: its mutant survives
		c.log.Warn("looking for a request the report may repeat failed", "err", err)
	}
	if len(maybe) > 0 {
		f.offer = maybe[0]
	}
}

// SameOfferRadius is how far the open request a report may repeat can
// be for its reporter to be asked whether to follow that one instead.
const SameOfferRadius = 150 // meters

// askedChannels are those whose reporters can answer whether their report
// repeats another: by text, by a reply to the acknowledgment, or on the
// call.
var askedChannels = []Channel{ChannelSMS, ChannelEmail, ChannelVoice}

// MayRepeat returns the open requests, of a service or another of its
// group, within SameOfferRadius of a place, reported within
// SameIssueWindow, nearest first: those a new report there may repeat.
func (c *Core) MayRepeat(ctx context.Context, service string, lat, lng float64) ([]Nearby, error) {
	return c.mayRepeat(ctx, c.q, service, lat, lng)
}

func (c *Core) mayRepeat(ctx context.Context, q *db.Queries, service string, lat, lng float64) ([]Nearby, error) {
	near, err := nearbyOpen(ctx, q, c.city.related(service), 0, lat, lng, SameOfferRadius)
	recent := near[:0]
	for _, n := range near {
		if n.RequestedAt.After(time.Now().Add(-SameIssueWindow)) {
			recent = append(recent, n)
		}
	}
	return recent, err
}

// SameIssue returns the open request of a service within SameIssueRadius
// of a place, reported within SameIssueWindow, the nearest: the issue a
// new report there joins. 0 when there is none.
func (c *Core) SameIssue(ctx context.Context, service string, lat, lng float64) (int64, error) {
	return sameIssue(ctx, c.q, service, lat, lng, nil)
}

// sameIssue looks among the requests open now, or, given a time of the
// city's history (an import), among those open then.
func sameIssue(ctx context.Context, q *db.Queries, service string, lat, lng float64, asOf *time.Time) (int64, error) {
	b := boxAround(lat, lng, SameIssueRadius)
	var same db.SameIssueRow
	var err error
	if asOf == nil {
		same, err = q.SameIssue(ctx, db.SameIssueParams{West: b.west, South: b.south, East: b.east, North: b.north,
			Service: service, Within: SameIssueWindow, Lat: lat, Lng: lng})
	} else {
		var then db.SameIssueAsOfRow
		then, err = q.SameIssueAsOf(ctx, db.SameIssueAsOfParams{West: b.west, South: b.south, East: b.east, North: b.north,
			Service: service, Since: asOf.Add(-SameIssueWindow), Until: *asOf, Lat: lat, Lng: lng})
		same = db.SameIssueRow(then)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, dbErr(err)
	case meters(lat, lng, same.Lat, same.Lng) > SameIssueRadius:
		return 0, nil // in the box's corner
	}
	return same.ID, nil
}

// join closes r, just filed, as a duplicate of parent, the open request
// of the same issue: from now on r's reporter hears the parent's
// updates. It returns the parent as it now is.
func (c *Core) join(ctx context.Context, t *txn, r *Request, parent int64) (Request, error) {
	if err := t.q.CloseAsDuplicate(ctx, db.CloseAsDuplicateParams{Dated: t.at, ID: r.ID, Parent: parent}); err != nil {
		return Request{}, err
	}
	r.Status, r.CloseReason, r.DuplicateOf = StatusClosed, ReasonDuplicate, &parent
	note := fmt.Sprintf("Same issue as request #%d, reported within %d m: joined to it.", parent, SameIssueRadius)
	if err := insertEvent(ctx, t, r.ID, Actor{}, StatusNew, StatusClosed, ReasonDuplicate, note, true); err != nil {
		return Request{}, err
	}
	if _, err := t.q.TouchRequest(ctx, db.TouchRequestParams{ID: parent, Dated: t.at}); err != nil {
		return Request{}, err
	}
	if err := insertEvent(ctx, t, parent, Actor{}, "", "", "", fmt.Sprintf("Request #%d joined: the same issue, reported again.", r.ID), false); err != nil {
		return Request{}, err
	}
	return c.requestOn(ctx, t.q, parent)
}

// checkParent checks that a request a new report is said to repeat can
// take it: open, and not itself a duplicate.
func checkParent(ctx context.Context, t *txn, id int64) error {
	got, err := t.q.LockRequestsForMerge(ctx, []int64{id})
	switch {
	case err != nil:
		return err
	case len(got) == 0:
		return invalid("same_as", "there is no request #%d", id)
	case got[0].Status == string(StatusClosed):
		return invalid("same_as", "#%d is closed: file a new request", id)
	case got[0].DuplicateOf != nil:
		return invalid("same_as", "#%d is a duplicate of #%d: join that one", id, *got[0].DuplicateOf)
	}
	return nil
}

// ReferredTo is the outside agency a request was referred to when it
// was filed, as the city file says now.
func (c *Core) ReferredTo(r Request) (Agency, bool) {
	if r.CloseReason != ReasonReferred || r.Lat == nil {
		return Agency{}, false
	}
	return c.city.Referral(r.ServiceCode, &orb.Point{*r.Lng, *r.Lat})
}

// place finds where a report is when its reporter gave no coordinates:
// the position of its first photo (or shared location card) taken inside
// the city, or else its address placed by the city's places and
// landmarks. A position without an address is named by the address
// nearest it ("near 1735 Montgomery Street"), or by its coordinates. A
// geocoder that fails leaves the report as it was: it is filed all the
// same.
func (c *Core) place(ctx context.Context, q *db.Queries, f *filing) {
	if f.Lat == nil {
		for _, u := range slices.Concat(f.Photos, f.files) {
			if p := c.mediaPlace(u); p != nil {
				f.Lat, f.Lng = p.Lat, p.Lng
				break
			}
		}
	}
	if f.Lat == nil && f.Address != "" {
		loc, ok, err := c.geocode(ctx, q, f.Address)
		if err != nil { // a log line's condition: its mutant survives
			c.log.Warn("geocoding failed; filed without a position", "address", f.Address, "err", err)
		}
		if p := (orb.Point{loc.Lng, loc.Lat}); ok && (c.city.Contains(p) || c.city.refers(p)) {
			f.Lat, f.Lng, f.Address = &loc.Lat, &loc.Lng, loc.Address
		}
	}
	if f.Lat == nil {
		return
	}
	coords := fmt.Sprintf("%.5f, %.5f", *f.Lat, *f.Lng)
	if f.Address != "" && f.Address != coords {
		return
	}
	f.Address = coords
	near, ok, err := nearAddress(ctx, q, *f.Lat, *f.Lng)
	if err != nil { // a log line's condition: its mutant survives
		c.log.Warn("naming the nearest address failed", "err", err)
	}
	if ok {
		f.Address = "near " + near
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
	now, dated, source := time.Now(), (*time.Time)(nil), ""
	if f.past != nil {
		now, dated, source = f.past.At, &f.past.At, f.past.Source
	}
	r.ExpectedAt = c.city.Due(now, svc)
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
			Dated: dated, Source: source,
		}
		if f.contact != nil {
			p.ContactID = f.contact.ID
		}
		row, err = q.InsertRequest(ctx, p)
	case rep.Phone != "" && rep.Email != "":
		return r, errors.New("insertRequest: a reporter with a phone and an email needs upsertContact")
	default:
		// A contact created by a transaction this statement's snapshot
		// cannot see yet returns no row; a fresh statement sees it. (So
		// "try--", a mutant, ends the same: the second try finds it.)
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
