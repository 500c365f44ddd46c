package core

// A resident whose request was closed as done (or as needing no action)
// and who finds it is not may reopen it, for a while after it closed (the
// city file's reopen_within): by texting REOPEN (REABRIR), by replying
// REOPEN to the closing mail, or from its page, signed in. It goes back
// in progress; staff read why in its history.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// DefaultReopenWithin is how long after closing a request its reporter
// may reopen it, when the city file does not say.
const DefaultReopenWithin = 14 * 24 * time.Hour

// ErrCannotReopen is a request its reporter may not reopen: not closed,
// closed as another's duplicate or referred elsewhere, or closed too long
// ago.
var ErrCannotReopen = errors.New("this request cannot be reopened")

// reopenNote is the public note of a reopening: the resident's own words
// stay for staff, who may read a name or a number in them.
const reopenNote = "Reopened: the person who reported it says it is not fixed."

// reopenable says whether its reporter may reopen r now.
func (c *Core) reopenable(r Request, now time.Time) bool {
	return r.Status == StatusClosed && (r.CloseReason == ReasonResolved || r.CloseReason == ReasonNoAction) &&
		r.ClosedAt != nil && now.Before(r.ClosedAt.Add(c.city.ReopenWithin))
}

// reopen puts a request its reporter reopened back in progress, in the
// caller's transaction, with their words as a note for staff.
func (c *Core) reopen(ctx context.Context, t *txn, r Request, words string, by Actor) error {
	if !c.reopenable(r, time.Now()) {
		return ErrCannotReopen
	}
	if words = strings.TrimSpace(words); words != "" {
		if err := insertEvent(ctx, t, r.ID, by, "", "", "", Truncate(words, MaxDescription), false); err != nil {
			return err
		}
	}
	c.log.Info("request reopened by its reporter", "request", r.ID)
	return c.changeStatus(ctx, t, r.ID, StatusChange{To: StatusInProgress, Note: reopenNote, Public: true, By: by})
}

// ReopenByResident reopens a resident's own closed request from its page.
func (c *Core) ReopenByResident(ctx context.Context, id int64, res Resident, words string) error {
	if err := checkText("note", words, MaxDescription); err != nil {
		return err
	}
	return dbErr(c.tx(ctx, func(t *txn) error {
		r, err := c.requestOn(ctx, t.q, id)
		if err != nil {
			return err
		}
		if !c.ownedBy(ctx, t.q, r, res) {
			return ErrNotFound
		}
		return c.reopen(ctx, t, r, words, Actor{Name: fmt.Sprintf("its reporter, signed in (account %d)", res.ID)})
	}))
}

// ownedBy says whether res reported r: its contact has one of the
// account's verified addresses.
func (c *Core) ownedBy(ctx context.Context, q *db.Queries, r Request, res Resident) bool {
	if r.ContactID == nil {
		return false
	}
	ct, err := q.GetContact(ctx, *r.ContactID)
	return err == nil && ((res.Phone != "" && deref(ct.Phone) == res.Phone) || (res.Email != "" && deref(ct.Email) == res.Email))
}

// Reopenable says whether its reporter may reopen r now (the account
// page offers it on the resident's own requests; ReopenByResident checks
// they are).
func (c *Core) Reopenable(r Request) bool { return c.reopenable(r, time.Now()) }

// reopenByText reopens the request a resident's REOPEN means (id, or
// their last to close), and returns it; a request that is not theirs, or
// cannot be reopened, is answered so, and 0 returned.
func (c *Core) reopenByText(ctx context.Context, t *txn, conv *conversation, id int64, words string) (int64, error) {
	ct := conv.Contact
	if id == 0 {
		var err error
		if id, err = t.q.LatestClosedRequestOf(ctx, ct.ID); errors.Is(err, pgx.ErrNoRows) {
			_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: conv.Channel, Kind: "reopen.none", Auto: true})
			return 0, err
		} else if err != nil {
			return 0, err
		}
	}
	r, err := c.requestOn(ctx, t.q, id)
	if errors.Is(err, ErrNotFound) || (err == nil && (r.ContactID == nil || *r.ContactID != ct.ID)) {
		_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: conv.Channel, Kind: "status.none", Data: messageData{ID: id}, Auto: true})
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	// Their words, without the keyword, are the note staff read.
	_, rest, _ := strings.Cut(strings.TrimSpace(words), " ")
	err = c.reopen(ctx, t, r, rest, Actor{Name: "its reporter, by " + string(conv.Channel)})
	if errors.Is(err, ErrCannotReopen) {
		_, err = c.enqueueFor(ctx, t, ct, outMsg{RequestID: r.ID, Origin: conv.Channel, Kind: "reopen.no",
			Data: c.requestData(r, ct.Language), Auto: true})
		return 0, err
	}
	return r.ID, err
}
