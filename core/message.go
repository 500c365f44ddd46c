package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

func insertAttachment(ctx context.Context, tx pgx.Tx, messageID, requestID int64, u Upload) (int64, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO blobs (sha256, content_type, size) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, u.Blob.SHA256, u.Blob.ContentType, u.Blob.Size); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO attachments (message_id, request_id, blob_sha256, filename, content_type, size, public)
		VALUES (NULLIF($1, 0), NULLIF($2, 0), $3, $4, $5, $6, $7) RETURNING id`,
		messageID, requestID, u.Blob.SHA256, u.Filename, u.Blob.ContentType, u.Blob.Size,
		!u.Private && IsImage(u.Blob.ContentType)).Scan(&id)
	return id, err
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
	var a Attachment
	err := c.pool.QueryRow(ctx, `
		SELECT id, request_id, blob_sha256, filename, content_type, size, public
		FROM attachments
		WHERE id = $1 AND public AND request_id IS NOT NULL AND content_type IN ('image/jpeg', 'image/png')`, id).
		Scan(&a.ID, &a.RequestID, &a.SHA256, &a.Filename, &a.ContentType, &a.Size, &a.Public)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, dbErr(err)
}

// Messages returns a request's messages, oldest first. Staff only.
func (c *Core) Messages(ctx context.Context, requestID int64) ([]Message, error) {
	rows, err := c.pool.Query(ctx, `
		SELECT id, request_id, contact_id, user_id, direction, channel, COALESCE(provider_id, ''),
			subject, body, language, state, error, attempts, created_at, sent_at
		FROM messages WHERE request_id = $1 ORDER BY created_at, id`, requestID)
	if err != nil {
		return nil, dbErr(err)
	}
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Message])
	return ms, dbErr(err)
}

// Reply queues a staff member's message to a request's reporter, over the
// channel they used.
func (c *Core) Reply(ctx context.Context, requestID int64, body string, by Actor) (int64, error) {
	if body == "" {
		return 0, invalid("body", "is empty")
	}
	if err := checkText("body", body, MaxDescription); err != nil {
		return 0, err
	}
	var msgID int64
	err := c.tx(ctx, func(tx pgx.Tx) error {
		var contactID *int64
		err := tx.QueryRow(ctx, `SELECT contact_id FROM requests WHERE id = $1`, requestID).Scan(&contactID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if contactID == nil {
			return invalid("body", "request #%d has no reporter to reply to", requestID)
		}
		msgID, err = c.queueMessage(ctx, tx, requestID, *contactID, "reply", &body, by.UserID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reply to request %d: %w", requestID, err)
	}
	return msgID, nil
}
