package core

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"townline/templates"
)

// replyRoute picks how a reporter hears back: over the channel they used.
// Callers hear back by text when they accepted texts, else by a call; web
// and Open311 reporters by email when they gave one, else not at all.
func replyRoute(origin Channel, ct Contact) (Channel, string) {
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
	case ChannelEmail, ChannelWeb, ChannelOpen311:
		if ct.Email != "" {
			return ChannelEmail, ct.Email
		}
	}
	return "", ""
}

// answerChannels are the channels replyRoute may pick for a reporter who
// came by each channel.
var answerChannels = map[Channel][]Channel{
	ChannelSMS:     {ChannelSMS},
	ChannelVoice:   {ChannelSMS, ChannelVoice},
	ChannelEmail:   {ChannelEmail},
	ChannelWeb:     {ChannelEmail},
	ChannelOpen311: {ChannelEmail},
}

// canAnswer reports whether a reporter who came by origin could be sent
// anything at all: whether a sender is configured for a channel replyRoute
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
	Kind      string  // the template, without its channel: "ack", "ask.place"
	Data      messageData
	Auto      bool // an automatic answer, subject to the per-contact cap
}

// notifyIssue queues a message for every reporter of an issue: the request
// itself and its duplicates, one message per person. A "duplicate" notice
// goes to the request's own reporter only.
func (c *Core) notifyIssue(ctx context.Context, tx pgx.Tx, requestID int64, kind string, note *string) error {
	q := `SELECT DISTINCT ON (contact_id) id, contact_id FROM requests
		WHERE (id = $1 OR duplicate_of = $1) AND contact_id IS NOT NULL ORDER BY contact_id, id`
	if kind == "duplicate" {
		q = `SELECT id, contact_id FROM requests WHERE id = $1 AND contact_id IS NOT NULL`
	}
	rows, err := tx.Query(ctx, q, requestID)
	if err != nil {
		return err
	}
	type reporter struct{ RequestID, ContactID int64 }
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[reporter])
	if err != nil {
		return err
	}
	for _, r := range rs {
		// Reporters of a duplicate hear about the issue under their own number.
		if _, err := c.queueMessageAbout(ctx, tx, r.RequestID, requestID, r.ContactID, kind, note, nil); err != nil {
			return err
		}
	}
	return nil
}

// queueMessage queues a message about a request to one of its reporters.
func (c *Core) queueMessage(ctx context.Context, tx pgx.Tx, requestID, contactID int64, kind string, note *string, userID *int64) (int64, error) {
	return c.queueMessageAbout(ctx, tx, requestID, requestID, contactID, kind, note, userID)
}

// queueMessageAbout is queueMessage for a reporter of request own, telling
// them about issue (their own request, or the parent it duplicates).
func (c *Core) queueMessageAbout(ctx context.Context, tx pgx.Tx, own, issue, contactID int64, kind string, note *string, userID *int64) (int64, error) {
	r, err := scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, own))
	if err != nil {
		return 0, fmt.Errorf("request %d: %w", own, err)
	}
	data := c.requestData(r)
	if issue != own {
		if err := tx.QueryRow(ctx, `SELECT status FROM requests WHERE id = $1`, issue).Scan(&data.Status); err != nil {
			return 0, err
		}
	}
	if note != nil {
		data.Note = *note
	}
	return c.enqueue(ctx, tx, contactID, outMsg{
		RequestID: own, UserID: userID, Origin: r.Channel, Kind: kind, Data: data,
		Auto: kind == "ack" || kind == "added",
	})
}

// requestData fills the template data that describes a request.
func (c *Core) requestData(r Request) messageData {
	d := messageData{
		ID: r.ID, Service: r.ServiceName, Address: r.Address, Status: r.Status,
		URL: c.TrackingURL(r.ID), City: c.city.Name, Note: r.StatusNotes,
	}
	if d.Service == "" {
		d.Service = "Report"
	}
	if r.DuplicateOf != nil {
		d.Parent = *r.DuplicateOf
	}
	if r.ExpectedAt != nil {
		d.Expected = r.ExpectedAt.In(c.city.Location).Format("Jan 2")
	}
	return d
}

// enqueue writes an outbound message and, when it can be sent, its
// delivery job, in the caller's transaction: both commit or neither does.
// It returns the message id, or 0 when the contact cannot be reached over
// the route their channel implies.
func (c *Core) enqueue(ctx context.Context, tx pgx.Tx, contactID int64, m outMsg) (int64, error) {
	ct, err := scanContact(tx.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = $1`, contactID))
	if err != nil {
		return 0, fmt.Errorf("contact %d: %w", contactID, err)
	}
	return c.enqueueFor(ctx, tx, ct, m)
}

// enqueueFor is enqueue for a contact already read in this transaction.
func (c *Core) enqueueFor(ctx context.Context, tx pgx.Tx, ct Contact, m outMsg) (int64, error) {
	contactID := ct.ID
	ch, _ := replyRoute(m.Origin, ct)
	if ch == "" {
		return 0, nil
	}
	if c.opts.Senders[ch] == nil {
		return 0, nil // the city has not connected this channel: nothing to write
	}
	if ch == ChannelVoice && m.Kind == "ack" {
		return 0, nil // the caller heard their number on the call
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
	var id int64
	err = tx.QueryRow(ctx, `
		INSERT INTO messages (request_id, contact_id, user_id, direction, channel, subject, body, language, state, error, auto)
		VALUES (NULLIF($1, 0), $2, $3, 'out', $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		m.RequestID, contactID, m.UserID, ch, subject, body, ct.Language, state, why, m.Auto).Scan(&id)
	if err != nil {
		return 0, err
	}
	if state != "queued" {
		c.log.Info("message not sent", "message", id, "request", m.RequestID, "channel", ch, "reason", why)
		return id, nil
	}
	var opts *river.InsertOpts
	if ch == ChannelVoice {
		// Nobody wants a call from the city at night.
		opts = &river.InsertOpts{ScheduledAt: c.daytime(time.Now())}
	}
	if _, err := c.river.InsertTx(ctx, tx, deliverArgs{MessageID: id}, opts); err != nil {
		return 0, fmt.Errorf("queue delivery: %w", err)
	}
	return id, nil
}

// Abuse limits: more inbound messages than floodLimit in floodWindow, or
// more automatic answers than the channel's hourly or daily cap, flag the
// contact: one warning, then silence for a day (contactColumns), and staff
// see the flag. Mail gets fewer answers: an auto-responder loop by mail
// costs more than one by text.
const (
	floodLimit  = 20
	floodWindow = 10 * time.Minute
)

var autoLimits = map[Channel]struct{ hour, day int }{
	ChannelSMS:   {10, 50},
	ChannelEmail: {5, 20},
}

// abuseCounts are a contact's recent messages: inbound in floodWindow
// (this one included), automatic answers in the last hour and day.
type abuseCounts struct{ inbound, hour, day int }

// checkAbuse flags a contact that floods the city or keeps drawing
// automatic answers (another bot, most likely) and warns it once. It
// reports whether the contact is flagged.
func (c *Core) checkAbuse(ctx context.Context, tx pgx.Tx, ct *Contact, origin Channel, known *abuseCounts) (bool, error) {
	if ct.Flagged {
		return true, nil
	}
	var inbound, hour, day int
	if known != nil {
		inbound, hour, day = known.inbound, known.hour, known.day
	} else if err := tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE direction = 'in' AND created_at > now() - $2::interval),
		       count(*) FILTER (WHERE direction = 'out' AND auto AND created_at > now() - interval '1 hour'),
		       count(*) FILTER (WHERE direction = 'out' AND auto)
		FROM messages WHERE contact_id = $1 AND created_at > now() - interval '1 day'`,
		ct.ID, floodWindow).Scan(&inbound, &hour, &day); err != nil {
		return false, err
	}
	limit, ok := autoLimits[origin]
	if !ok {
		limit = autoLimits[ChannelSMS]
	}
	reason := ""
	switch {
	case inbound > floodLimit:
		reason = fmt.Sprintf("more than %d messages in %v", floodLimit, floodWindow)
	case hour >= limit.hour:
		reason = fmt.Sprintf("%d automatic answers in an hour", hour)
	case day >= limit.day:
		reason = fmt.Sprintf("%d automatic answers in a day", day)
	default:
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE contacts SET flagged_at = now(), flag_reason = $2 WHERE id = $1`, ct.ID, reason); err != nil {
		return false, err
	}
	c.log.Warn("contact flagged; automatic answers paused", "contact", ct.ID, "reason", reason)
	// The one warning goes out before the flag takes effect on enqueue.
	if _, err := c.enqueue(ctx, tx, ct.ID, outMsg{Origin: origin, Kind: "flood"}); err != nil {
		return false, err
	}
	ct.Flagged, ct.FlagReason = true, reason
	return true, nil
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
	_, err = c.pool.Exec(ctx, `INSERT INTO contacts (phone, texts_ok) VALUES ($1, $2)
		ON CONFLICT (phone) DO UPDATE SET texts_ok = $2`, phone, ok)
	return dbErr(err)
}
