package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"townline/core/internal/db"
)

// Media is a file an inbound message points at, downloaded later by the
// channel's MediaFetcher in a job.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// Inbound is one message from a resident, as a channel received it.
type Inbound struct {
	Channel    Channel
	From       string // phone number (any format) or email address
	To         string // the city's number or address it was sent to
	Text       string
	Media      []Media
	ProviderID string   // the provider's message id: redeliveries carry the same one
	Lat, Lng   *float64 // a location the message shared

	// Mail, and any channel that hands over whole files:
	Subject string
	Uploads []Upload // files the channel already stored (attachments)
	Refused []string // files refused, each with why; the resident is told
	Raw     *Upload  // the message as received, kept for staff
	// DedupeKeys are further names of this message ("imap:INBOX:7:42"):
	// if any was seen before, the message is a duplicate.
	DedupeKeys []string
	// InReplyTo lists the provider ids (Message-IDs) of earlier messages
	// this one answers; RequestRef a request the channel verified it is
	// about (a signed reply address). Either joins it to that request.
	InReplyTo  []string
	RequestRef int64
	// Automatic marks machine-made mail (out-of-office, lists): kept as a
	// flagged note, never answered, never a new request.
	Automatic bool
	// Unreadable says why a message could not be read: it goes to the
	// triage queue with its raw form attached.
	Unreadable string
}

// IntakeResult says what became of an inbound message.
type IntakeResult struct {
	MessageID int64
	RequestID int64 // the request it created or joined; 0 while a report is being completed
	Duplicate bool  // ProviderID was seen before: nothing changed
}

// MaxMedia is the most files one message may carry (the MMS limit).
const MaxMedia = 10

// conversation is one contact talking over one channel, as stored.
type conversation struct {
	ID          int64
	Channel     Channel
	Contact     Contact
	Draft       *draft
	ExpiresAt   *time.Time
	LastRequest int64
}

// Intake stores an inbound message and carries the conversation forward,
// all in one transaction: dedupe on the provider's id, find or create the
// contact, lock and load the conversation, let its rules decide, apply
// what they decided and save. Nothing is sent here; answers go out
// through the job queue.
func (c *Core) Intake(ctx context.Context, in Inbound) (IntakeResult, error) {
	rep := Reporter{}
	switch in.Channel {
	case ChannelSMS, ChannelVoice:
		rep.Phone = in.From
	case ChannelEmail:
		rep.Email = in.From
	default:
		return IntakeResult{}, invalid("channel", "%q does not converse", in.Channel)
	}
	rep, err := c.normalizeReporter(rep)
	if err != nil {
		return IntakeResult{}, err
	}
	if err := c.checkInbound(in); err != nil {
		return IntakeResult{}, err
	}
	in.Text = strings.TrimSpace(in.Text)

	var res IntakeResult
	errSeen := errors.New("seen under another key")
	err = c.tx(ctx, func(t *txn) error {
		ct, err := upsertContact(ctx, t.q, rep)
		if err != nil {
			return err
		}
		row, err := t.q.InsertInbound(ctx, db.InsertInboundParams{
			ContactID: ct.ID, Channel: string(in.Channel), ProviderID: in.ProviderID,
			Subject: Truncate(in.Subject, 500), Body: in.Text, FloodWindow: floodWindow,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			res.Duplicate = true
			seen, err := t.q.InboundByProviderID(ctx, db.InboundByProviderIDParams{Channel: string(in.Channel), ProviderID: in.ProviderID})
			res.MessageID, res.RequestID = seen.ID, seen.RequestID
			return err
		}
		if err != nil {
			return err
		}
		res.MessageID = row.MessageID
		if len(in.DedupeKeys) > 0 { // saves a query (so ">=", a mutant, survives): no keys insert none, and none were seen
			n, err := t.q.InsertInboundKeys(ctx, db.InsertInboundKeysParams{Keys: in.DedupeKeys, MessageID: row.MessageID})
			if err != nil {
				return err
			}
			if int(n) < len(in.DedupeKeys) {
				return errSeen
			}
		}
		for _, u := range append(in.Uploads, derefUpload(in.Raw)...) {
			if _, err := insertAttachment(ctx, t.q, row.MessageID, 0, u); err != nil {
				return err
			}
		}
		if len(in.Media) > 0 { // saves a job that would fetch nothing (">=" survives)
			if _, err := c.river.InsertTx(ctx, t.Tx, fetchMediaArgs{MessageID: row.MessageID, Media: in.Media}, nil); err != nil {
				return err
			}
		}
		conv := &conversation{ID: row.ConversationID, Channel: in.Channel, Contact: ct, ExpiresAt: row.ExpiresAt}
		if err := conv.load(row.Draft, row.RequestID); err != nil {
			return err
		}
		d, err := c.dialogue(ctx, t, conv)
		if err != nil {
			return err
		}
		if d.expired() {
			// A draft that waited too long is filed before the next message.
			d.expire()
			if _, err := c.apply(ctx, t, conv, d); err != nil {
				return err
			}
			if d, err = c.dialogue(ctx, t, conv); err != nil {
				return err
			}
		}
		d.traffic = traffic{int(row.Inbound), int(row.AutoHour), int(row.AutoDay)}
		d.msg = message{ID: row.MessageID, Text: in.Text, Subject: in.Subject, HasMedia: len(in.Media) > 0,
			Lat: in.Lat, Lng: in.Lng, Files: in.Uploads, Automatic: in.Automatic, Unreadable: in.Unreadable, Refused: in.Refused}
		if in.Channel == ChannelEmail {
			if err := c.loadThread(ctx, t, d, in); err != nil {
				return err
			}
			d.mail()
		} else {
			if refs := requestRefs(in.Text); len(refs) > 0 { // saves a query (">=" survives)
				if d.owned, err = t.q.ContactRequests(ctx, db.ContactRequestsParams{Ids: refs, ContactID: ct.ID}); err != nil {
					return err
				}
			}
			d.text()
		}
		res.RequestID, err = c.apply(ctx, t, conv, d)
		return err
	})
	if errors.Is(err, errSeen) {
		seen, err := c.q.InboundByKey(ctx, in.DedupeKeys)
		return IntakeResult{MessageID: seen.ID, RequestID: seen.RequestID, Duplicate: true}, dbErr(err)
	}
	if err != nil {
		return IntakeResult{}, fmt.Errorf("intake from %s: %w", in.Channel, err)
	}
	return res, nil
}

// checkInbound checks every text of an inbound message that is stored:
// none may reach the database unless it can be stored as text.
func (c *Core) checkInbound(in Inbound) error {
	if len(in.Media) > MaxMedia {
		return invalid("media", "%d files; at most %d", len(in.Media), MaxMedia)
	}
	fields := []textField{
		{"body", in.Text, MaxDescription},
		{"subject", in.Subject, 1000},
		{"provider_id", in.ProviderID, 200},
		{"unreadable", in.Unreadable, MaxDescription},
	}
	for _, m := range in.Media {
		fields = append(fields, textField{"media_url", m.URL, MaxMediaURL}, textField{"media_content_type", m.ContentType, 200})
	}
	for _, k := range in.DedupeKeys {
		fields = append(fields, textField{"dedupe_key", k, 200})
	}
	for _, id := range in.InReplyTo {
		fields = append(fields, textField{"in_reply_to", id, 250})
	}
	for _, r := range in.Refused {
		fields = append(fields, textField{"refused", r, 1000})
	}
	for _, u := range append(in.Uploads, derefUpload(in.Raw)...) {
		fields = append(fields, textField{"filename", u.Filename, 255})
	}
	return c.checkFields(fields...)
}

// load fills the conversation's draft and last request from their columns.
func (conv *conversation) load(draftJSON []byte, last *int64) error {
	conv.LastRequest = deref(last)
	conv.Draft = nil
	if draftJSON != nil {
		conv.Draft = &draft{}
		if err := json.Unmarshal(draftJSON, conv.Draft); err != nil {
			return fmt.Errorf("conversation %d draft: %w", conv.ID, err)
		}
	}
	return nil
}

// lockConversation returns the contact's conversation on a channel, locked
// for this transaction so that one resident's messages are handled one at
// a time, in order.
func (c *Core) lockConversation(ctx context.Context, t *txn, contactID int64, ch Channel) (*conversation, error) {
	row, err := t.q.LockConversation(ctx, db.LockConversationParams{ContactID: contactID, Channel: string(ch)})
	if err != nil {
		return nil, err
	}
	ct, err := t.q.GetContact(ctx, contactID)
	if err != nil {
		return nil, err
	}
	conv := &conversation{ID: row.ID, Channel: ch, Contact: contactFromDB(ct), ExpiresAt: row.ExpiresAt}
	return conv, conv.load(row.Draft, row.RequestID)
}

// dialogue reads what the conversation's rules weigh: the resident's open
// requests, the conversation's latest one among them.
func (c *Core) dialogue(ctx context.Context, t *txn, conv *conversation) (*dialogue, error) {
	d := &dialogue{city: c.city, now: time.Now(), channel: conv.Channel, contact: conv.Contact,
		draft: conv.Draft, expiresAt: conv.ExpiresAt, last: conv.LastRequest}
	rows, err := t.q.OpenRequestsOf(ctx, conv.Contact.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		b := requestBrief{ID: r.ID, Service: r.ServiceCode, ServiceName: r.ServiceName, Open: true, RequestedAt: r.RequestedAt,
			Offered: r.Offered}
		d.open = append(d.open, b)
		if b.ID == d.last {
			d.lastBrief = &b
		}
		if b.Offered != 0 && d.offered == nil {
			d.offered = &b
		}
	}
	id, err := t.q.AnsweredRequest(ctx, db.AnsweredRequestParams{ContactID: &conv.Contact.ID, Channel: string(conv.Channel), Within: answerWindow})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	d.answering = id
	return d, nil
}

// answerWindow is how long after staff wrote to a resident about a
// request the resident's answer is taken to be about it.
const answerWindow = 24 * time.Hour

// loadThread finds the request a mail answers: one the channel verified
// (a signed reply address), or the request of a message it replies to;
// and whether it came from that request's reporter.
func (c *Core) loadThread(ctx context.Context, t *txn, d *dialogue, in Inbound) error {
	if in.RequestRef != 0 {
		ok, err := t.q.RequestExists(ctx, in.RequestRef)
		if err != nil {
			return err
		}
		if ok {
			d.thread = in.RequestRef
		}
	}
	if d.thread == 0 && len(in.InReplyTo) > 0 { // saves a query (">=" survives): no ids find no thread
		id, err := t.q.ThreadRequest(ctx, db.ThreadRequestParams{Channel: string(d.channel), ProviderIds: in.InReplyTo})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		d.thread = id
	}
	if d.thread == 0 {
		return nil
	}
	var err error
	d.threadFromReporter, err = t.q.RequestReporterIs(ctx, db.RequestReporterIsParams{ID: d.thread, ContactID: d.contact.ID})
	return err
}

// apply carries out what the rules decided, in order, then saves the
// conversation. It returns the request the message made or joined, or 0.
func (c *Core) apply(ctx context.Context, t *txn, conv *conversation, d *dialogue) (int64, error) {
	ct := &conv.Contact
	conv.LastRequest = d.last
	var requestID int64
	for _, a := range d.actions {
		var err error
		switch a := a.(type) {
		case optOut:
			err = t.q.SetOptedOut(ctx, db.SetOptedOutParams{ID: ct.ID, OptedOut: a.out})
			ct.OptedOut = a.out
			c.log.Info("texts opt-out changed", "contact", ct.ID, "opted_out", a.out)
		case flagContact:
			if err = t.q.FlagContact(ctx, db.FlagContactParams{ID: ct.ID, Reason: a.reason}); err != nil {
				break
			}
			c.log.Warn("contact flagged; automatic answers paused", "contact", ct.ID, "reason", a.reason)
			// The one warning goes out before the flag takes effect.
			_, err = c.enqueueFor(ctx, t, *ct, outMsg{Origin: conv.Channel, Kind: "flood"})
			ct.Flagged, ct.FlagReason = true, a.reason
		case reopenReq:
			var id int64
			if id, err = c.reopenByText(ctx, t, conv, a.id, d.msg.Text); err == nil && id != 0 {
				err = t.q.AttachMessages(ctx, db.AttachMessagesParams{RequestID: id, ConversationID: conv.ID, MessageIds: []int64{d.msg.ID}})
				requestID = id
			}
		case subscribe:
			if a.request != 0 {
				err = c.followByText(ctx, t, conv, a.request)
				break
			}
			_, err = t.q.SubscribeByText(ctx, db.SubscribeByTextParams{ContactID: ct.ID, Token: rand.Text()})
			c.log.Info("subscribed to emergency notices by text", "contact", ct.ID)
		case useLanguage:
			err = t.q.SetLanguage(ctx, db.SetLanguageParams{ID: ct.ID, Language: a.lang, Chosen: a.chosen})
			ct.Language, ct.LanguageChosen = a.lang, ct.LanguageChosen || a.chosen
		case reply:
			_, err = c.enqueueFor(ctx, t, *ct, outMsg{RequestID: a.data.ID, Origin: conv.Channel, Kind: a.kind, Data: a.data, Auto: true})
		case replyStatus:
			err = c.replyStatus(ctx, t, conv, a.id)
		case answerOffer:
			var answered bool
			answered, err = c.answerSameOffer(ctx, t, a.request, a.follow, Actor{Name: string(conv.Channel)})
			if err == nil && answered && !a.follow {
				r, e := c.requestOn(ctx, t.q, a.request)
				if err = e; err == nil {
					_, err = c.enqueueFor(ctx, t, *ct, outMsg{RequestID: r.ID, Origin: conv.Channel, Kind: "kept",
						Data: c.requestData(r, ct.Language), Auto: true})
				}
			}
		case classify:
			if err = c.reclassify(ctx, t, a.request, a.service, "", Actor{Name: string(conv.Channel)}); err == nil {
				var r Request
				if r, err = c.requestOn(ctx, t.q, a.request); err == nil {
					data := c.requestData(r, ct.Language)
					if d, ok := c.city.Department(r.Department); ok {
						data.Department = d.NameIn(ct.Language)
					}
					_, err = c.enqueueFor(ctx, t, *ct, outMsg{RequestID: r.ID, Origin: conv.Channel, Kind: "classified", Data: data, Auto: true})
				}
			}
		case attach:
			err = t.q.AttachMessages(ctx, db.AttachMessagesParams{RequestID: a.request, ConversationID: conv.ID, MessageIds: a.messages})
			requestID = a.request
		case file:
			var r Request
			r, err = c.file(ctx, t, c.draftFiling(conv, a))
			requestID, conv.LastRequest = r.ID, r.ID
		case flagMessage:
			err = t.q.FlagMessage(ctx, db.FlagMessageParams{ID: d.msg.ID, Flag: a.why})
		case clearBounce:
			err = t.q.ClearBouncing(ctx, ct.ID)
			ct.Bouncing = false
		default:
			err = fmt.Errorf("unknown action %T", a)
		}
		if err != nil {
			return 0, err
		}
	}
	d.actions = nil
	conv.Draft = d.draft
	return requestID, c.saveConversation(ctx, t, conv, d.touched)
}

// draftFiling turns a finished draft into a filing.
func (c *Core) draftFiling(conv *conversation, a file) filing {
	dr := a.draft
	lat, lng := dr.Lat, dr.Lng
	if lat != nil && !c.city.Contains(orb.Point{*lng, *lat}) && !c.city.refers(orb.Point{*lng, *lat}) {
		lat, lng = nil, nil // outside the city, and no one to refer it to: keep the words, not the point
	}
	ct := conv.Contact
	return filing{
		NewRequest: NewRequest{
			Channel: conv.Channel, ServiceCode: dr.Service, Description: Truncate(dr.Description, MaxDescription),
			Lat: lat, Lng: lng, Address: Truncate(dr.Address, MaxAddress), Actor: string(conv.Channel),
		},
		contact: &ct, messages: dr.Messages, files: a.files, conversation: conv.ID, lenient: true, ack: a.ack, note: a.note,
	}
}

// saveConversation stores the draft (restarting its clock when it took a
// message) and the latest request.
func (c *Core) saveConversation(ctx context.Context, t *txn, conv *conversation, touched bool) error {
	var raw []byte
	expires := conv.ExpiresAt
	if conv.Draft != nil {
		var err error
		if raw, err = json.Marshal(conv.Draft); err != nil {
			return err
		}
		if touched || expires == nil {
			e := time.Now().Add(DraftTTL)
			expires = &e
		}
	} else {
		expires = nil
	}
	conv.ExpiresAt = expires
	return t.q.SaveConversation(ctx, db.SaveConversationParams{
		ID: conv.ID, Draft: raw, ExpiresAt: expires, RequestID: conv.LastRequest,
	})
}

// replyStatus answers STATUS (the latest request) or STATUS 1234 (any
// request: its status is public anyway). A duplicate answers with its
// parent's progress.
func (c *Core) replyStatus(ctx context.Context, t *txn, conv *conversation, id int64) error {
	ct := conv.Contact
	if id == 0 {
		var err error
		id, err = t.q.LatestRequestOf(ctx, ct.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: conv.Channel, Kind: "status.none", Auto: true})
			return err
		}
		if err != nil {
			return err
		}
	}
	r, err := c.requestOn(ctx, t.q, id)
	if errors.Is(err, ErrNotFound) {
		// Not tied to the request: there is none by that number.
		_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: conv.Channel, Kind: "status.none",
			Data: messageData{ID: id}, Auto: true})
		return err
	}
	if err != nil {
		return err
	}
	if r.DuplicateOf != nil {
		// The parent carries the progress.
		p, err := c.requestOn(ctx, t.q, *r.DuplicateOf)
		if err != nil {
			return err
		}
		r.Status, r.StatusNotes = p.Status, p.StatusNotes
	}
	_, err = c.enqueueFor(ctx, t, ct, outMsg{RequestID: r.ID, Origin: conv.Channel, Kind: "status.reply", Data: c.requestData(r, ct.Language), Auto: true})
	return err
}

func derefUpload(u *Upload) []Upload {
	if u == nil {
		return nil
	}
	up := *u
	up.Private = true
	return []Upload{up}
}
