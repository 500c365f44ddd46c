package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// A report that lands near an open request of its kind, but farther away
// than SameIssueRadius, may or may not be the same issue: its reporter,
// who saw the place, is asked ("#1230, a Pothole 120 m away, may be the
// same: reply YES to follow it instead, NO to keep yours"). Staff see the
// request among the nearby ones either way.

// SameOffer returns the open request a report's reporter was offered to
// follow instead and has not answered about: its id and how far it is.
// The id is 0 when there is none (or it has closed since).
func (c *Core) SameOffer(ctx context.Context, id int64) (parent int64, meters int, err error) {
	o, err := c.q.SameOffer(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, dbErr(err)
	}
	return o.ParentID, int(o.Meters), nil
}

// AnswerSameOffer takes a reporter's answer to the offer on request id:
// follow closes it as a duplicate of the request offered, and from then
// on its reporter hears that one's updates; not following keeps it a
// report of its own. An offer is answered once: a second answer, or one
// to no offer, changes nothing and returns false.
func (c *Core) AnswerSameOffer(ctx context.Context, id int64, follow bool, by Actor) (bool, error) {
	var answered bool
	err := c.tx(ctx, func(t *txn) error {
		var err error
		answered, err = c.answerSameOffer(ctx, t, id, follow, by)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("request %d: %w", id, err)
	}
	return answered, nil
}

func (c *Core) answerSameOffer(ctx context.Context, t *txn, id int64, follow bool, by Actor) (bool, error) {
	parent, err := t.q.TakeSameOffer(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil || !follow {
		return err == nil, err
	}
	return true, c.markDuplicate(ctx, t, id, parent, by)
}
