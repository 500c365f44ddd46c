package core

// What a client that follows requests from its own system needs (an
// Open311 client such as FixMyStreet): every public change of a time
// window, and the comments its users write on a request, relayed to staff.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// Update is one public change of a request: a status change or a public
// note. Who made it is not part of it.
type Update struct {
	ID          int64 // the history entry's: unique, and the same on every read
	RequestID   int64
	At          time.Time
	Status      Status // where the request stood once the change was made
	CloseReason CloseReason
	Note        string // the public note, masked as every public text; "" for none
}

// Updates returns the public changes made from start to end, both
// included, oldest first, at most limit of them. complete is false when
// there were more: the caller asks for a shorter window rather than
// miss any.
func (c *Core) Updates(ctx context.Context, start, end time.Time, limit int) (ups []Update, complete bool, err error) {
	rows, err := c.q.PublicUpdates(ctx, db.PublicUpdatesParams{StartAt: start, EndAt: end, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, false, dbErr(err)
	}
	for _, r := range rows[:min(len(rows), limit)] {
		ups = append(ups, Update{ID: r.ID, RequestID: r.RequestID, At: r.At, Status: Status(r.Status),
			CloseReason: CloseReason(r.CloseReason), Note: PublicText(r.Note)})
	}
	return ups, len(rows) <= limit, nil
}

// Comment is what a resident wrote on a request through an API client.
type Comment struct {
	RequestID int64
	Client    string // the API client's name
	// ID is the client's own id for the comment: the same client sending
	// the same id again stores nothing more.
	ID       string
	Text     string
	MediaURL string   // a photo on the client's side, linked for staff
	Author   Reporter // who wrote it: staff only
	At       time.Time
	// Closed says the client holds the issue closed, in its words
	// (ClientStatus, such as FIXED), which staff read. A request is
	// closed by staff, never by a comment; the reporter's own comment
	// saying open reopens theirs where the city file allows it.
	Closed       bool
	ClientStatus string
}

// CommentResult says what became of a comment.
type CommentResult struct {
	MessageID int64
	Duplicate bool // the client sent this comment before: nothing changed
}

// maxCommentID bounds a client's comment id, which names the stored
// message together with the client's name.
const maxCommentID = 100

// AddComment stores a comment as an inbound message on its request, for
// staff to read in the request's timeline, flagged when it says the issue
// stands otherwise than the request does or comes from someone other
// than the reporter. The reporter's own comment on their closed request
// saying it is open reopens it, publicly and with word to its reporters,
// where the city file allows it (ReopenOnComment). The same client and ID
// give back the first comment's message, even when two deliveries race,
// and reopen nothing more.
func (c *Core) AddComment(ctx context.Context, cm Comment) (CommentResult, error) {
	cm.Text = strings.TrimSpace(cm.Text)
	cm.MediaURL = strings.TrimSpace(cm.MediaURL)
	if err := c.checkFields(
		textField{"update_id", cm.ID, maxCommentID},
		textField{"description", cm.Text, MaxDescription},
		textField{"media_url", cm.MediaURL, MaxMediaURL},
		textField{"status", cm.ClientStatus, 100},
	); err != nil {
		return CommentResult{}, err
	}
	switch {
	case cm.ID == "":
		return CommentResult{}, invalid("update_id", "is required")
	case cm.Text == "" && cm.MediaURL == "":
		return CommentResult{}, invalid("description", "is empty, and no media_url was given")
	}
	body := cm.Text
	if cm.MediaURL != "" {
		u, err := normalizeURL("media_url", cm.MediaURL, MaxMediaURL)
		if err != nil {
			return CommentResult{}, err
		}
		body = strings.TrimSpace(body + "\n\nPhoto: " + u)
	}
	author, err := c.normalizeReporter(cm.Author)
	if err != nil {
		return CommentResult{}, err
	}
	key := cm.Client + "/" + cm.ID
	subject := fmt.Sprintf("Comment via %s (its update %s, written %s)", cm.Client, cm.ID,
		cm.At.In(c.city.Location).Format("Jan 2, 2006 3:04 PM"))
	var res CommentResult
	err = c.tx(ctx, func(t *txn) error {
		r, err := c.requestOn(ctx, t.q, cm.RequestID)
		if err != nil {
			return err
		}
		ct, err := upsertContact(ctx, t.q, author)
		if err != nil {
			return err
		}
		var flags []string
		fromReporter := r.ContactID != nil && *r.ContactID == ct.ID
		reopen := false
		switch {
		case cm.Closed && r.Status.Open():
			flags = append(flags, "says the issue is closed ("+cm.ClientStatus+"); status not changed")
		case !cm.Closed && !r.Status.Open() && fromReporter && c.city.ReopenOnComment:
			reopen = true
		case !cm.Closed && !r.Status.Open():
			flags = append(flags, "says the issue is open ("+cm.ClientStatus+"); status not changed")
		}
		if !fromReporter {
			flags = append(flags, "not from the request's reporter")
		}
		res.MessageID, err = t.q.InsertComment(ctx, db.InsertCommentParams{RequestID: r.ID, ContactID: ct.ID,
			ProviderID: key, Subject: subject, Body: body, Flag: strings.Join(flags, "; ")})
		if err == nil && reopen {
			return c.changeStatus(ctx, t, r.ID, StatusChange{To: StatusInProgress, Public: true,
				Note: "Reopened: the reporter says it is not fixed.", By: Actor{Name: "open311:" + cm.Client}})
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		res.Duplicate = true
		seen, err := t.q.InboundByProviderID(ctx, db.InboundByProviderIDParams{Channel: string(ChannelOpen311), ProviderID: key})
		res.MessageID = seen.ID
		return err
	})
	if err != nil {
		return CommentResult{}, fmt.Errorf("comment %s on request %d: %w", key, cm.RequestID, err)
	}
	return res, nil
}
