package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"townline/core/internal/db"
)

// Message is one message in or out, over any channel.
type Message struct {
	ID         int64
	RequestID  *int64
	ContactID  *int64
	UserID     *int64
	Direction  string // "in" or "out"
	Channel    Channel
	ProviderID string
	Subject    string
	Body       string
	Language   string
	State      string
	Error      string
	Attempts   int
	CreatedAt  time.Time
	SentAt     *time.Time
	Flag       string // why staff should look at an inbound message, such as "voicemail"
}

// Outbound is what a Sender delivers: one message to one address.
type Outbound struct {
	MessageID int64
	RequestID int64
	Channel   Channel
	To        string // E.164 phone or email address
	Subject   string
	Body      string
	Language  string
	// Thread lists the provider ids (email Message-IDs) of the request's
	// earlier messages on this channel, oldest first, so that a reply can
	// name what it answers.
	Thread []string
	Auto   bool // an automatic answer (an acknowledgment), not a person's
	// Unsubscribe is where a subscriber to the city's notices ends their
	// subscription, on each notice sent to them: one click.
	Unsubscribe string
}

// Sender delivers outbound messages over one channel.
//
// Send returns the provider's id for the message. Any error means the
// message was certainly not accepted and may be retried, except:
// an error wrapping ErrOutcomeUnknown (the provider may have accepted it:
// it is never retried, so never sent twice), and one made with Permanent
// (it never will be accepted: not retried).
type Sender interface {
	Send(ctx context.Context, m Outbound) (providerID string, err error)
}

// Resolver is a Sender that can say whether an attempt which may have
// reached the provider did. Resolve looks for m at the provider, created
// since the attempt began, and returns its provider id, or "" when it is
// certainly not there and may be sent. A Sender that cannot ask the
// provider but can make a second send harmless (mail with the same
// Message-ID, which mail clients show once) answers "" too.
type Resolver interface {
	Resolve(ctx context.Context, m Outbound, since time.Time) (providerID string, err error)
}

// ErrOutcomeUnknown means a send timed out or broke after the provider may
// have accepted the message.
var ErrOutcomeUnknown = errors.New("outcome unknown: the provider may have accepted the message")

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks a send error that retrying cannot fix.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func insertAttachment(ctx context.Context, q *db.Queries, messageID, requestID int64, u Upload) (int64, error) {
	if err := q.InsertBlob(ctx, db.InsertBlobParams{Sha256: u.Blob.SHA256, ContentType: u.Blob.ContentType, Size: u.Blob.Size}); err != nil {
		return 0, err
	}
	return q.InsertAttachment(ctx, db.InsertAttachmentParams{
		MessageID: messageID, RequestID: requestID, BlobSha256: u.Blob.SHA256, Filename: u.Filename,
		ContentType: u.Blob.ContentType, Size: u.Blob.Size, Public: !u.Private && IsImage(u.Blob.ContentType),
	})
}

// Attachment is a file attached to a request or message.
type Attachment struct {
	ID          int64
	RequestID   int64
	SHA256      string
	Filename    string
	ContentType string
	Size        int64
	Public      bool
}

// PublicPhoto returns an attachment that may be shown to the public: a
// JPEG or PNG photo (whose metadata the caller strips) of a request.
func (c *Core) PublicPhoto(ctx context.Context, id int64) (Attachment, error) {
	a, err := c.q.PublicPhoto(ctx, id)
	if err != nil {
		return Attachment{}, dbErr(notFound(err))
	}
	return Attachment{ID: a.ID, RequestID: deref(a.RequestID), SHA256: a.BlobSha256, Filename: a.Filename,
		ContentType: a.ContentType, Size: a.Size, Public: a.Public}, nil
}

// Messages returns a request's messages, oldest first. Staff only.
func (c *Core) Messages(ctx context.Context, requestID int64) ([]Message, error) {
	rows, err := c.q.RequestMessages(ctx, requestID)
	if err != nil {
		return nil, dbErr(err)
	}
	ms := make([]Message, 0, len(rows))
	for _, m := range rows {
		ms = append(ms, messageFromDB(m))
	}
	return ms, nil
}

// Message returns one message by id. Staff only.
func (c *Core) Message(ctx context.Context, id int64) (Message, error) {
	m, err := c.q.GetMessage(ctx, id)
	if err != nil {
		return Message{}, dbErr(notFound(err))
	}
	return messageFromDB(m), nil
}

// Reply queues a staff member's message to a request's reporter: over
// the channel they used (via ""), or, reaching out to a resident who has
// not written that way, by text or by mail to the number or address they
// gave (via ChannelSMS or ChannelEmail; a text, as a call, waits for the
// daytime). Their answer joins the request.
func (c *Core) Reply(ctx context.Context, requestID int64, via Channel, body string, by Actor) (int64, error) {
	if body == "" {
		return 0, invalid("body", "is empty")
	}
	if err := checkText("body", body, MaxDescription); err != nil {
		return 0, err
	}
	if via != "" && via != ChannelSMS && via != ChannelEmail {
		return 0, invalid("via", "%q: reach out by text (sms) or by mail (email)", via)
	}
	var msgID int64
	err := c.tx(ctx, func(t *txn) error {
		r, err := c.requestOn(ctx, t.q, requestID)
		if err != nil {
			return err
		}
		if r.ContactID == nil {
			return invalid("body", "request #%d has no reporter to reply to", requestID)
		}
		if via != "" {
			ct, err := t.q.GetContact(ctx, *r.ContactID)
			if err != nil {
				return err
			}
			if to := contactFromDB(ct).address(via); to == "" {
				return invalid("via", "the reporter gave no %s", map[Channel]string{ChannelSMS: "phone number", ChannelEmail: "email address"}[via])
			}
		}
		msgID, err = c.queueMessage(ctx, t, r, *r.ContactID, "reply", &body, by.UserID, via)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reply to request %d: %w", requestID, err)
	}
	return msgID, nil
}
