package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"townline/core/internal/db"
	"townline/templates"
)

// ReplyRoute picks how a reporter hears back: over the channel they used,
// and the address it goes to.
// Residents staff filed for hear back the way they chose at the front
// desk, or not at all. Callers hear back by text when they accepted texts,
// else by a call; web
// and Open311 reporters, and those of an imported request, by email when
// they gave one, else not at all.
func ReplyRoute(origin Channel, ct Contact) (Channel, string) {
	if slices.Contains(FrontDesk, origin) || (origin == ChannelWeb && ct.ReplyBy != "") {
		// Staff filed it, and asked how the resident wants to hear back;
		// or the resident said so on the web form.
		switch {
		case (ct.ReplyBy == ChannelSMS || ct.ReplyBy == ChannelVoice) && ct.Phone != "":
			return ct.ReplyBy, ct.Phone
		case ct.ReplyBy == ChannelEmail && ct.Email != "":
			return ChannelEmail, ct.Email
		}
		return "", ""
	}
	switch origin {
	case ChannelSMS:
		if ct.Phone != "" {
			return ChannelSMS, ct.Phone
		}
	case ChannelVoice:
		switch {
		case ct.Phone != "" && ct.TextsOK && !ct.OptedOut:
			return ChannelSMS, ct.Phone
		case ct.Phone != "":
			return ChannelVoice, ct.Phone
		}
	case ChannelEmail, ChannelWeb, ChannelOpen311, ChannelImport:
		if ct.Email != "" {
			return ChannelEmail, ct.Email
		}
	}
	return "", ""
}

// A ReplyFrame is how a reply reaches a request's reporter: the channel
// and address, the subject (mail), and the words the message puts before
// and after what staff write (a text's "Oroville 311 #1234: ").
type ReplyFrame struct {
	Channel                    Channel
	To, Subject, Before, After string
}

// ReplyFrame returns how a reply to r would reach its reporter ct, over
// their usual way or via another (see Reply): a zero Channel when it would
// not be sent (no way to reach them, or the city has not connected the
// channel).
func (c *Core) ReplyFrame(r Request, ct Contact, via Channel) (ReplyFrame, error) {
	ch, to := ReplyRoute(r.Channel, ct)
	if via != "" {
		ch, to = via, ct.address(via)
	}
	if ch == "" || to == "" || c.opts.Senders[ch] == nil {
		return ReplyFrame{}, nil
	}
	const words = "\x00"
	data := c.requestData(r, ct.Language)
	data.City, data.Note = c.city.Name, words
	subject, body, err := templates.Message(ct.Language, "reply."+string(ch), data)
	if err != nil {
		return ReplyFrame{}, err
	}
	before, after, _ := strings.Cut(body, words)
	return ReplyFrame{Channel: ch, To: to, Subject: subject, Before: before, After: after}, nil
}

// answerChannels are the channels ReplyRoute may pick for a reporter who
// came by each channel.
var answerChannels = map[Channel][]Channel{
	ChannelSMS:     {ChannelSMS},
	ChannelVoice:   {ChannelSMS, ChannelVoice},
	ChannelEmail:   {ChannelEmail},
	ChannelWeb:     {ChannelEmail, ChannelSMS},
	ChannelOpen311: {ChannelEmail},
	ChannelImport:  {ChannelEmail},
	ChannelPhone:   {ChannelSMS, ChannelEmail, ChannelVoice},
	ChannelWalkIn:  {ChannelSMS, ChannelEmail, ChannelVoice},
	ChannelStaff:   {ChannelSMS, ChannelEmail, ChannelVoice},
}

// canAnswer reports whether a reporter who came by origin could be sent
// anything at all: whether a sender is configured for a channel ReplyRoute
// may pick.
func (c *Core) canAnswer(origin Channel) bool {
	for _, ch := range answerChannels[origin] {
		if c.opts.Senders[ch] != nil {
			return true
		}
	}
	return false
}

// messageData is what message templates see.
type messageData struct {
	ID       int64
	Service  string
	Address  string
	Status   Status
	Note     string
	URL      string
	Expected string
	City     string
	Parent   int64
	Choices  []choice // numbered options offered in a question
	// Agency handles a referred report; AgencyContact is how to reach it.
	Agency, AgencyContact string
	Reports               int // people who reported the issue
	// A request the report may repeat (Parent): how far, and its service.
	Meters        int
	ParentService string
	Department    string // the department a request went to
	// An emergency notice (alert.*): its title, where and until when,
	// and how grave (Severity: advisory, watch or warning); Note holds
	// its text and URL its page.
	Title, Area, Until, Severity string
	// Coming are the week's meetings and events (digest.email).
	Coming []comingEvent
	// ReopenDays is how many days its reporter may reopen a closed
	// request by answering REOPEN; 0 when they may not.
	ReopenDays int
}

// choice is one numbered option: "1 Pothole", "2 for #1234 Pothole".
type choice struct {
	Key   string
	Label string
}

// outMsg is one message to queue for one contact.
type outMsg struct {
	RequestID int64 // 0 for a message about no request (HELP, a question)
	UserID    *int64
	Origin    Channel // the channel the contact used; the reply route follows it
	Via       Channel // else the channel staff reach out by (SMS or email)
	Kind      string  // the template, without its channel: "ack", "ask.place"
	Data      messageData
	Auto      bool // an automatic answer, subject to the per-contact cap
	// Subscription is the follow or subscription it goes out under, whose
	// link it carries to stop.
	Subscription *int64
}

// notifyIssue queues a message for every reporter of an issue: the request
// itself and its duplicates, one message per person. A "duplicate" notice
// goes to the request's own reporter only.
func (c *Core) notifyIssue(ctx context.Context, t *txn, requestID int64, kind string, note *string) error {
	issue, err := c.requestOn(ctx, t.q, requestID)
	if err != nil {
		return err
	}
	type reporter struct{ request, contact int64 }
	var rs []reporter
	if kind == "duplicate" {
		if issue.ContactID != nil {
			rs = append(rs, reporter{issue.ID, *issue.ContactID})
		}
	} else {
		rows, err := t.q.IssueReporters(ctx, requestID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			rs = append(rs, reporter{r.ID, r.ContactID})
		}
	}
	told := map[int64]bool{} // the contacts a message went to
	for _, rep := range rs {
		// Reporters of a duplicate hear about the issue under their own number.
		own := issue
		if rep.request != issue.ID {
			if own, err = c.requestOn(ctx, t.q, rep.request); err != nil {
				return fmt.Errorf("request %d: %w", rep.request, err)
			}
			own.Status = issue.Status
		}
		to, via, quiet, err := c.hearBack(ctx, t, rep.contact)
		if err != nil {
			return err
		}
		if quiet {
			told[rep.contact] = true // nor as a follower
			continue
		}
		id, err := c.queueMessage(ctx, t, own, to, kind, note, nil, via)
		if err != nil {
			return err
		}
		told[rep.contact] = id != 0
	}
	if kind == "duplicate" {
		return nil
	}
	// And those who follow it, each by the way they asked, with their way
	// to stop: a reporter who follows it too, once.
	followers, err := t.q.Followers(ctx, &issue.ID)
	if err != nil {
		return err
	}
	for _, f := range followers {
		if told[f.ContactID] {
			continue
		}
		row, err := t.q.GetContact(ctx, f.ContactID)
		if err != nil {
			return err
		}
		ct := contactFromDB(row)
		data := c.requestData(issue, ct.Language)
		data.Note = deref(note)
		if _, err := c.enqueueFor(ctx, t, ct, outMsg{RequestID: issue.ID, Origin: Channel(f.Channel), Via: Channel(f.Channel),
			Kind: "followed." + kind, Data: data, Subscription: &f.ID}); err != nil {
			return err
		}
	}
	return nil
}

// hearBack is where a reporter's updates go: as their request came
// (their contact, no channel), or as their account says: by text to its
// phone, by mail to its address, or not at all (quiet).
func (c *Core) hearBack(ctx context.Context, t *txn, contact int64) (to int64, via Channel, quiet bool, err error) {
	a, err := t.q.HearBackOf(ctx, contact)
	if errors.Is(err, pgx.ErrNoRows) {
		return contact, "", false, nil
	}
	if err != nil {
		return 0, "", false, err
	}
	addr := a.Phone
	switch Channel(deref(a.HearBack)) {
	case ReplyNone:
		return 0, "", true, nil
	case ChannelEmail:
		addr = a.Email
	}
	if addr == nil {
		return contact, "", false, nil // the account has no such address yet
	}
	ct, err := t.q.ContactByAddress(ctx, *addr)
	if errors.Is(err, pgx.ErrNoRows) {
		return contact, "", false, nil
	}
	return ct.ID, Channel(deref(a.HearBack)), false, err
}

// queueMessage queues a message about a request to one of its reporters.
func (c *Core) queueMessage(ctx context.Context, t *txn, r Request, contactID int64, kind string, note *string, userID *int64, via Channel) (int64, error) {
	ct, err := t.q.GetContact(ctx, contactID)
	if err != nil {
		return 0, fmt.Errorf("contact %d: %w", contactID, notFound(err))
	}
	data := c.requestData(r, ct.Language)
	// The change's own note, or none: not the last public note, which an
	// update without one would otherwise repeat.
	data.Note = deref(note)
	return c.enqueueFor(ctx, t, contactFromDB(ct), outMsg{
		RequestID: r.ID, UserID: userID, Origin: r.Channel, Via: via, Kind: kind, Data: data,
		Auto: kind == "ack" || kind == "added",
	})
}

// requestData fills the template data that describes a request to a
// reader of lang.
func (c *Core) requestData(r Request, lang string) messageData {
	d := messageData{
		ID: r.ID, Service: c.city.ServiceName(r.ServiceCode, r.ServiceName, lang), Address: r.Address, Status: r.Status,
		URL: c.TrackingURL(r.ID), City: c.city.Name, Note: r.StatusNotes,
	}
	if d.Service == "" {
		d.Service = unclassified(lang)
	}
	if r.DuplicateOf != nil {
		d.Parent = *r.DuplicateOf
	}
	if r.ExpectedAt != nil {
		d.Expected = r.ExpectedAt.In(c.city.Location).Format("Jan 2")
	}
	if c.reopenable(r, time.Now()) {
		d.ReopenDays = int(c.city.ReopenWithin / (24 * time.Hour))
	}
	return d
}

// enqueueFor writes an outbound message to ct and, when it can be sent,
// its delivery job, in the caller's transaction: both commit or neither
// does. It returns the message id, or 0 when the contact cannot be reached
// over the route their channel implies.
func (c *Core) enqueueFor(ctx context.Context, t *txn, ct Contact, m outMsg) (int64, error) {
	ch, _ := ReplyRoute(m.Origin, ct)
	if m.Via != "" {
		ch = m.Via
	}
	if ch == "" || ct.address(ch) == "" {
		return 0, nil
	}
	if c.opts.Senders[ch] == nil {
		return 0, nil // the city has not connected this channel: nothing to write
	}
	if ch == ChannelVoice && (m.Kind == "ack" || m.Kind == "referred" || m.Kind == "joined" || m.Kind == "maybe") {
		return 0, nil // the caller heard their number, and what became of it, on the call
	}
	m.Data.City = c.city.Name
	subject, body, err := templates.Message(ct.Language, m.Kind+"."+string(ch), m.Data)
	if err != nil {
		return 0, err
	}

	state, why := "queued", ""
	switch {
	case ch == ChannelSMS && ct.OptedOut:
		state, why = "not_sent", "the number opted out (STOP)"
	case ch == ChannelEmail && ct.Bouncing:
		state, why = "not_sent", "mail to this address bounces"
	case m.Auto && ct.Flagged:
		state, why = "not_sent", "automatic answers are paused for this contact: "+ct.FlagReason
	}
	id, err := t.q.InsertOutbound(ctx, db.InsertOutboundParams{
		RequestID: m.RequestID, ContactID: ct.ID, UserID: m.UserID, Channel: string(ch), Subject: subject,
		Body: body, Language: ct.Language, State: state, Error: why, Auto: m.Auto, SubscriptionID: m.Subscription,
	})
	if err != nil {
		return 0, err
	}
	if state != "queued" {
		c.log.Info("message not sent", "message", id, "request", m.RequestID, "channel", ch, "reason", why)
		return id, nil
	}
	var opts *river.InsertOpts
	if ch == ChannelVoice || (m.Via == ChannelSMS && m.Origin != ChannelSMS) {
		// Nobody wants a call from the city at night, nor a first text.
		opts = &river.InsertOpts{ScheduledAt: c.daytime(time.Now())}
	}
	if _, err := c.river.InsertTx(ctx, t.Tx, deliverArgs{MessageID: id}, opts); err != nil {
		return 0, fmt.Errorf("queue delivery: %w", err)
	}
	return id, nil
}

// Abuse limits: more inbound messages than floodLimit in floodWindow, or
// more automatic answers than the channel's hourly or daily cap, flag the
// contact: one warning, then silence for a day (flagFor), and staff see
// the flag. Mail gets fewer answers: an auto-responder loop by mail costs
// more than one by text.
const (
	floodLimit  = 20
	floodWindow = 10 * time.Minute
)

var autoLimits = map[Channel]struct{ hour, day int }{
	ChannelSMS:   {10, 50},
	ChannelEmail: {5, 20},
}

// traffic is a contact's recent messages: inbound in floodWindow (this
// one included), automatic answers in the last hour and day.
type traffic struct{ inbound, hour, day int }

// abuse says why a contact that floods the city or keeps drawing
// automatic answers (another bot, most likely) must be flagged, or "".
func abuse(origin Channel, n traffic) string {
	limit, ok := autoLimits[origin]
	if !ok {
		limit = autoLimits[ChannelSMS]
	}
	switch {
	case n.inbound > floodLimit:
		return fmt.Sprintf("more than %d messages in %v", floodLimit, floodWindow)
	case n.hour >= limit.hour:
		return fmt.Sprintf("%d automatic answers in an hour", n.hour)
	case n.day >= limit.day:
		return fmt.Sprintf("%d automatic answers in a day", n.day)
	}
	return ""
}

// Calls to residents go out between these hours, city time.
const callFrom, callUntil = 9, 19

// daytime returns t if it is within calling hours in the city, else the
// start of the next calling window.
func (c *Core) daytime(t time.Time) time.Time {
	local := t.In(c.city.Location)
	if h := local.Hour(); h >= callFrom && h < callUntil {
		return t
	}
	next := time.Date(local.Year(), local.Month(), local.Day(), callFrom, 0, 0, 0, c.city.Location)
	if local.Hour() >= callUntil {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// SetTextsOK records whether a caller accepted updates by text.
func (c *Core) SetTextsOK(ctx context.Context, phone string, ok bool) error {
	phone, err := NormalizePhone(phone, c.city.PhoneRegion)
	if err != nil {
		return invalid("phone", "%v", err)
	}
	return dbErr(c.q.UpsertTextsOK(ctx, db.UpsertTextsOKParams{Phone: phone, TextsOk: ok}))
}
