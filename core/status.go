package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"townline/core/internal/db"
)

// ErrTransition is returned for a status change the lifecycle forbids.
var ErrTransition = errors.New("status change not allowed")

// transitions lists the allowed moves: forward through the lifecycle, and
// back to in_progress when a closed request turns out not to be done.
var transitions = map[Status][]Status{
	StatusNew:          {StatusAcknowledged, StatusInProgress, StatusClosed},
	StatusAcknowledged: {StatusInProgress, StatusClosed},
	StatusInProgress:   {StatusClosed},
	StatusClosed:       {StatusInProgress},
}

// CheckTransition reports whether a request may move from one status to
// another with the given close reason.
func CheckTransition(from, to Status, reason CloseReason) error {
	allowed := false
	for _, s := range transitions[from] {
		allowed = allowed || s == to
	}
	if !allowed {
		return fmt.Errorf("%w: from %s to %s", ErrTransition, from, to)
	}
	switch {
	case to == StatusClosed && reason == "":
		return fmt.Errorf("%w: closing needs a reason (resolved, duplicate, referred, no_action)", ErrTransition)
	case to == StatusClosed && reason == ReasonDuplicate:
		return fmt.Errorf("%w: close as duplicate by marking the request a duplicate of another", ErrTransition)
	case to == StatusClosed:
		switch reason {
		case ReasonResolved, ReasonReferred, ReasonNoAction:
		default:
			return fmt.Errorf("%w: %q is not a close reason", ErrTransition, reason)
		}
	case reason != "":
		return fmt.Errorf("%w: only closing takes a reason", ErrTransition)
	}
	return nil
}

// Actor is who makes a change: a staff user, or the system on behalf of a
// channel or an API client.
type Actor struct {
	UserID *int64
	Name   string // the user's email, "system", "open311:NAME"
}

// StatusChange moves a request along its lifecycle.
type StatusChange struct {
	To     Status
	Reason CloseReason
	Note   string // shown to the public and sent to reporters when Public
	Public bool
	By     Actor
}

// ChangeStatus applies a status change, records it in the history and, in
// the same transaction, queues an update for every reporter of the issue:
// this request's and those of its duplicates.
func (c *Core) ChangeStatus(ctx context.Context, id int64, ch StatusChange) error {
	if err := checkText("note", ch.Note, MaxDescription); err != nil {
		return err
	}
	err := c.tx(ctx, func(t *txn) error { return c.changeStatus(ctx, t, id, ch) })
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

// changeStatus is ChangeStatus in the caller's transaction.
func (c *Core) changeStatus(ctx context.Context, t *txn, id int64, ch StatusChange) error {
	s, err := t.q.LockRequestStatus(ctx, id)
	if err != nil {
		return notFound(err)
	}
	from := Status(s)
	if err := CheckTransition(from, ch.To, ch.Reason); err != nil {
		return err
	}
	if err := t.q.SetRequestStatus(ctx, db.SetRequestStatusParams{
		Dated: t.at, ID: id, Status: string(ch.To), CloseReason: string(ch.Reason),
	}); err != nil {
		return err
	}
	if err := insertEvent(ctx, t, id, ch.By, from, ch.To, ch.Reason, ch.Note, ch.Public); err != nil {
		return err
	}
	return c.notifyIssue(ctx, t, id, "status", ch.publicNote())
}

func (ch StatusChange) publicNote() *string {
	if ch.Public && ch.Note != "" {
		return &ch.Note
	}
	return nil
}

// MarkDuplicate closes a request as a duplicate of parent. From then on the
// parent's updates reach this request's reporter too.
func (c *Core) MarkDuplicate(ctx context.Context, id, parent int64, by Actor) error {
	if id == parent {
		return fmt.Errorf("request %d: %w: a request cannot duplicate itself", id, ErrTransition)
	}
	err := c.tx(ctx, func(t *txn) error { return c.markDuplicate(ctx, t, id, parent, by) })
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

// markDuplicate is MarkDuplicate in the caller's transaction.
func (c *Core) markDuplicate(ctx context.Context, t *txn, id, parent int64, by Actor) error {
	got, err := t.q.LockRequestsForMerge(ctx, []int64{id, parent})
	if err != nil {
		return err
	}
	if len(got) != 2 {
		return ErrNotFound
	}
	child, par := got[0], got[1]
	if child.ID != id {
		child, par = par, child
	}
	if par.DuplicateOf != nil {
		return fmt.Errorf("%w: %d is itself a duplicate of %d; use that one", ErrTransition, parent, *par.DuplicateOf)
	}
	if Status(child.Status) == StatusClosed {
		return fmt.Errorf("%w: request %d is already closed", ErrTransition, id)
	}
	if err := t.q.MoveDuplicates(ctx, db.MoveDuplicatesParams{ID: id, Parent: parent}); err != nil {
		return err
	}
	if err := t.q.CloseAsDuplicate(ctx, db.CloseAsDuplicateParams{Dated: t.at, ID: id, Parent: parent}); err != nil {
		return err
	}
	note := fmt.Sprintf("Same issue as request #%d.", parent)
	if err := insertEvent(ctx, t, id, by, Status(child.Status), StatusClosed, ReasonDuplicate, note, true); err != nil {
		return err
	}
	if _, err := t.q.TouchRequest(ctx, db.TouchRequestParams{ID: parent, Dated: t.at}); err != nil {
		return err
	}
	return c.notifyIssue(ctx, t, id, "duplicate", nil)
}

// AddNote records a note on a request: a private one for staff, or a public
// one that the tracking page, Open311 and every reporter of the issue see.
func (c *Core) AddNote(ctx context.Context, id int64, note string, public bool, by Actor) error {
	if note == "" {
		return invalid("note", "is empty")
	}
	if err := checkText("note", note, MaxDescription); err != nil {
		return err
	}
	err := c.tx(ctx, func(t *txn) error {
		n, err := t.q.TouchRequest(ctx, db.TouchRequestParams{ID: id, Dated: t.at})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if err := insertEvent(ctx, t, id, by, "", "", "", note, public); err != nil {
			return err
		}
		if public {
			return c.notifyIssue(ctx, t, id, "note", &note)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

// insertEventDept records a change of department (and assignee).
func insertEventDept(ctx context.Context, t *txn, id int64, by Actor, department, note string) error {
	if by.Name == "" {
		by.Name = "system"
	}
	return t.q.InsertEvent(ctx, db.InsertEventParams{RequestID: id, Dated: t.at, UserID: by.UserID, Actor: by.Name,
		Department: department, Note: note})
}

func insertEvent(ctx context.Context, t *txn, id int64, by Actor, from, to Status, reason CloseReason, note string, public bool) error {
	if by.Name == "" {
		by.Name = "system"
	}
	return t.q.InsertEvent(ctx, db.InsertEventParams{
		RequestID: id, Dated: t.at, UserID: by.UserID, Actor: by.Name, FromStatus: string(from), ToStatus: string(to),
		CloseReason: string(reason), Note: note, Public: public,
	})
}

// Event is one entry of a request's history.
type Event struct {
	At          time.Time
	UserID      *int64
	Actor       string
	From, To    Status
	CloseReason CloseReason
	Department  string
	// A reclassification: the service before (none: "") and after.
	FromService, ToService string
	Note                   string
	Public                 bool
}

// History returns a request's events, oldest first. With publicOnly, only
// what the public may see: status changes and public notes, with no names.
func (c *Core) History(ctx context.Context, id int64, publicOnly bool) ([]Event, error) {
	rows, err := c.q.History(ctx, db.HistoryParams{RequestID: id, PublicOnly: publicOnly})
	if err != nil {
		return nil, dbErr(err)
	}
	evs := make([]Event, 0, len(rows))
	for _, e := range rows {
		evs = append(evs, Event{At: e.At, UserID: e.UserID, Actor: e.Actor, From: Status(e.FromStatus),
			To: Status(e.ToStatus), CloseReason: CloseReason(e.CloseReason), Department: e.DepartmentCode,
			FromService: e.FromService, ToService: e.ToService, Note: e.Note, Public: e.Public})
	}
	if publicOnly {
		for i := range evs {
			evs[i].UserID, evs[i].Actor = nil, ""
			if !evs[i].Public {
				evs[i].Note = ""
			}
		}
	}
	return evs, nil
}

// PublicHistories is History(id, true) for many requests in one query.
func (c *Core) PublicHistories(ctx context.Context, ids []int64) (map[int64][]Event, error) {
	rows, err := c.q.PublicHistories(ctx, ids)
	if err != nil {
		return nil, dbErr(err)
	}
	out := make(map[int64][]Event, len(ids))
	for _, e := range rows {
		out[e.RequestID] = append(out[e.RequestID], Event{At: e.At, To: Status(e.ToStatus),
			CloseReason: CloseReason(e.CloseReason), Department: e.DepartmentCode, Note: e.Note, Public: e.Public})
	}
	return out, nil
}
