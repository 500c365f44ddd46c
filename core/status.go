package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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
	err := c.tx(ctx, func(tx pgx.Tx) error {
		var from Status
		err := tx.QueryRow(ctx, `SELECT status FROM requests WHERE id = $1 FOR UPDATE`, id).Scan(&from)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := CheckTransition(from, ch.To, ch.Reason); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE requests SET status = $2, close_reason = NULLIF($3, ''), updated_at = now(),
				closed_at = CASE WHEN $2 = 'closed' THEN now() END
			WHERE id = $1`, id, ch.To, ch.Reason); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, id, ch.By, from, ch.To, ch.Reason, ch.Note, ch.Public); err != nil {
			return err
		}
		return c.notifyIssue(ctx, tx, id, "status", ch.publicNote())
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
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
	err := c.tx(ctx, func(tx pgx.Tx) error {
		// Lock both in id order so two staff merging crosswise cannot deadlock.
		rows, err := tx.Query(ctx, `SELECT id, status, duplicate_of FROM requests
			WHERE id = ANY($1) ORDER BY id FOR UPDATE`, []int64{id, parent})
		if err != nil {
			return err
		}
		type row struct {
			ID     int64
			Status Status
			DupOf  *int64
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
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
		if par.DupOf != nil {
			return fmt.Errorf("%w: %d is itself a duplicate of %d; use that one", ErrTransition, parent, *par.DupOf)
		}
		if child.Status == StatusClosed {
			return fmt.Errorf("%w: request %d is already closed", ErrTransition, id)
		}
		// Children of the new duplicate follow it to the parent.
		if _, err := tx.Exec(ctx, `UPDATE requests SET duplicate_of = $2, updated_at = now()
			WHERE duplicate_of = $1`, id, parent); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE requests SET status = 'closed', close_reason = 'duplicate',
			duplicate_of = $2, closed_at = now(), updated_at = now() WHERE id = $1`, id, parent); err != nil {
			return err
		}
		note := fmt.Sprintf("Same issue as request #%d.", parent)
		if err := insertEvent(ctx, tx, id, by, child.Status, StatusClosed, ReasonDuplicate, note, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE requests SET updated_at = now() WHERE id = $1`, parent); err != nil {
			return err
		}
		return c.notifyIssue(ctx, tx, id, "duplicate", nil)
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
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
	err := c.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE requests SET updated_at = now() WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if err := insertEvent(ctx, tx, id, by, "", "", "", note, public); err != nil {
			return err
		}
		if public {
			return c.notifyIssue(ctx, tx, id, "note", &note)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

func insertEvent(ctx context.Context, tx pgx.Tx, id int64, by Actor, from, to Status, reason CloseReason, note string, public bool) error {
	if by.Name == "" {
		by.Name = "system"
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO request_events (request_id, user_id, actor, from_status, to_status, close_reason, note, public)
		VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), $7, $8)`,
		id, by.UserID, by.Name, from, to, reason, note, public)
	return err
}

// Event is one entry of a request's history.
type Event struct {
	At          time.Time
	UserID      *int64
	Actor       string
	From, To    Status
	CloseReason CloseReason
	Department  string
	Note        string
	Public      bool
}

// History returns a request's events, oldest first. With publicOnly, only
// what the public may see: status changes and public notes, with no names.
func (c *Core) History(ctx context.Context, id int64, publicOnly bool) ([]Event, error) {
	rows, err := c.pool.Query(ctx, `
		SELECT at, user_id, actor, COALESCE(from_status, ''), COALESCE(to_status, ''),
			COALESCE(close_reason, ''), COALESCE(department_code, ''), note, public
		FROM request_events
		WHERE request_id = $1 AND (NOT $2 OR public OR to_status IS NOT NULL)
		ORDER BY at, id`, id, publicOnly)
	if err != nil {
		return nil, dbErr(err)
	}
	evs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Event])
	if err != nil {
		return nil, dbErr(err)
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
	rows, err := c.pool.Query(ctx, `
		SELECT request_id, at, COALESCE(to_status, ''), COALESCE(close_reason, ''), COALESCE(department_code, ''),
			CASE WHEN public THEN note ELSE '' END, public
		FROM request_events
		WHERE request_id = ANY($1) AND (public OR to_status IS NOT NULL)
		ORDER BY request_id, at, id`, ids)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := make(map[int64][]Event, len(ids))
	for rows.Next() {
		var id int64
		var e Event
		if err := rows.Scan(&id, &e.At, &e.To, &e.CloseReason, &e.Department, &e.Note, &e.Public); err != nil {
			return nil, err
		}
		out[id] = append(out[id], e)
	}
	return out, dbErr(rows.Err())
}
