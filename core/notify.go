package core

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"townline/templates"
)

// replyRoute picks how a reporter hears back: over the channel they used.
// Callers hear back by text (a later voice channel may call back); web and
// Open311 reporters by email when they gave one, else not at all.
func replyRoute(origin Channel, ct Contact) (Channel, string) {
	switch origin {
	case ChannelSMS, ChannelVoice:
		if ct.Phone != "" {
			return ChannelSMS, ct.Phone
		}
	case ChannelEmail, ChannelWeb, ChannelOpen311:
		if ct.Email != "" {
			return ChannelEmail, ct.Email
		}
	}
	return "", ""
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
}

// notifyReporter queues a message of the given kind to one reporter.
func (c *Core) notifyReporter(ctx context.Context, tx pgx.Tx, requestID, contactID int64, kind string, note *string) error {
	_, err := c.queueMessage(ctx, tx, requestID, contactID, kind, note, nil)
	return err
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

// queueMessage writes an outbound message and, when it can be sent, its
// delivery job, in the caller's transaction: both commit or neither does.
// It returns the message id, or 0 when the reporter cannot be reached.
func (c *Core) queueMessage(ctx context.Context, tx pgx.Tx, requestID, contactID int64, kind string, note *string, userID *int64) (int64, error) {
	return c.queueMessageAbout(ctx, tx, requestID, requestID, contactID, kind, note, userID)
}

// queueMessageAbout is queueMessage for a reporter of request own, telling
// them about issue (their own request, or the parent it duplicates).
func (c *Core) queueMessageAbout(ctx context.Context, tx pgx.Tx, own, issue, contactID int64, kind string, note *string, userID *int64) (int64, error) {
	ct, err := scanContact(tx.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = $1`, contactID))
	if err != nil {
		return 0, fmt.Errorf("contact %d: %w", contactID, err)
	}
	r, err := scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, own))
	if err != nil {
		return 0, fmt.Errorf("request %d: %w", own, err)
	}
	status := r.Status
	if issue != own {
		if err := tx.QueryRow(ctx, `SELECT status FROM requests WHERE id = $1`, issue).Scan(&status); err != nil {
			return 0, err
		}
	}
	ch, _ := replyRoute(r.Channel, ct)
	if ch == "" {
		return 0, nil
	}
	data := messageData{
		ID: own, Service: r.ServiceName, Address: r.Address, Status: status,
		URL: c.TrackingURL(own), City: c.city.Name,
	}
	if r.DuplicateOf != nil {
		data.Parent = *r.DuplicateOf
	}
	if note != nil {
		data.Note = *note
	}
	if r.ExpectedAt != nil {
		data.Expected = r.ExpectedAt.In(c.city.Location).Format("Monday, January 2")
	}
	subject, body, err := templates.Message(ct.Language, kind+"."+string(ch), data)
	if err != nil {
		return 0, err
	}

	state, why := "queued", ""
	switch {
	case c.opts.Senders[ch] == nil:
		state, why = "not_sent", fmt.Sprintf("the %s channel is not configured", ch)
	case ch == ChannelSMS && ct.OptedOut:
		state, why = "not_sent", "the number opted out (STOP)"
	case ch == ChannelEmail && ct.Bouncing:
		state, why = "not_sent", "mail to this address bounces"
	}
	var id int64
	err = tx.QueryRow(ctx, `
		INSERT INTO messages (request_id, contact_id, user_id, direction, channel, subject, body, language, state, error)
		VALUES ($1, $2, $3, 'out', $4, $5, $6, $7, $8, $9) RETURNING id`,
		own, contactID, userID, ch, subject, body, ct.Language, state, why).Scan(&id)
	if err != nil {
		return 0, err
	}
	if state != "queued" {
		c.log.Info("message not sent", "message", id, "request", own, "channel", ch, "reason", why)
		return id, nil
	}
	if _, err := c.river.InsertTx(ctx, tx, deliverArgs{MessageID: id}, nil); err != nil {
		return 0, fmt.Errorf("queue delivery: %w", err)
	}
	return id, nil
}

var _ river.JobArgs = deliverArgs{}
