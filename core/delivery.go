package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// ErrRecipientOptedOut is what a Sender wraps (with Permanent) when the
// provider refuses a message because the recipient unsubscribed: the
// contact is then marked opted out for good.
var ErrRecipientOptedOut = errors.New("the recipient has opted out")

// deliveryRank orders provider receipts, which arrive in any order: a
// late "sent" must not undo "delivered".
var deliveryRank = map[string]int{
	"accepted": 1, "scheduled": 1, "queued": 1, "sending": 2, "sent": 3,
	"partially_delivered": 3, "delivered": 4, "read": 5, "undelivered": 4, "failed": 4, "canceled": 4,
	"receiving": 0, "received": 0, // inbound statuses Twilio may post to the same callback
}

// deliveryState maps a provider's receipt onto a message state.
func deliveryState(status string) string {
	switch status {
	case "delivered", "read":
		return "delivered"
	case "undelivered", "failed", "canceled":
		return "failed"
	}
	return "sent"
}

// RecordDelivery records a provider's delivery receipt for an outbound
// message. The same receipt twice changes nothing; receipts out of order
// never move a message backwards; a receipt that beats the send's own
// bookkeeping waits and is applied when the message id is known.
func (c *Core) RecordDelivery(ctx context.Context, ch Channel, providerID, status, errorCode string) error {
	status = strings.ToLower(strings.TrimSpace(status))
	if providerID == "" || len(providerID) > 200 {
		return invalid("MessageSid", "is missing or too long")
	}
	if _, ok := deliveryRank[status]; !ok {
		return invalid("MessageStatus", "%q is not a delivery status", status)
	}
	if len(errorCode) > 20 {
		return invalid("ErrorCode", "is too long")
	}
	err := c.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO delivery_events (channel, provider_id, status, error_code)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, ch, providerID, status, errorCode)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return applyDelivery(ctx, tx, ch, providerID)
	})
	if err != nil {
		return fmt.Errorf("delivery receipt %s: %w", providerID, err)
	}
	return nil
}

// applyDelivery brings a message to the furthest state its receipts show.
func applyDelivery(ctx context.Context, tx pgx.Tx, ch Channel, providerID string) error {
	var msgID, contactID int64
	var state string
	err := tx.QueryRow(ctx, `SELECT id, COALESCE(contact_id, 0), state FROM messages
		WHERE channel = $1 AND provider_id = $2 AND direction = 'out' FOR UPDATE`, ch, providerID).Scan(&msgID, &contactID, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the send has not recorded its id yet; it applies this then
	}
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT status, error_code FROM delivery_events WHERE channel = $1 AND provider_id = $2`, ch, providerID)
	if err != nil {
		return err
	}
	best, bestCode, optedOut := "", "", false
	for rows.Next() {
		var s, code string
		if err := rows.Scan(&s, &code); err != nil {
			rows.Close()
			return err
		}
		if deliveryRank[s] > deliveryRank[best] {
			best, bestCode = s, code
		}
		optedOut = optedOut || code == "21610"
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if optedOut && contactID != 0 {
		if _, err := tx.Exec(ctx, `UPDATE contacts SET opted_out_at = COALESCE(opted_out_at, now()) WHERE id = $1`, contactID); err != nil {
			return err
		}
	}
	stateRank := map[string]int{"sending": 1, "sent": 2, "delivered": 3, "failed": 3}
	next := deliveryState(best)
	if deliveryRank[best] == 0 || stateRank[next] <= stateRank[state] {
		return nil
	}
	errText := ""
	if bestCode != "" {
		errText = "provider error " + bestCode
	}
	_, err = tx.Exec(ctx, `UPDATE messages SET state = $2, error = CASE WHEN $3 = '' THEN error ELSE $3 END WHERE id = $1`,
		msgID, next, errText)
	return err
}

// expireDraftsArgs is the periodic job that files drafts nobody completed.
type expireDraftsArgs struct{}

func (expireDraftsArgs) Kind() string { return "expire_drafts" }

type expireDraftsWorker struct {
	river.WorkerDefaults[expireDraftsArgs]
	core *Core
}

func (w *expireDraftsWorker) Work(ctx context.Context, job *river.Job[expireDraftsArgs]) error {
	c := w.core
	for {
		var created []createdRequest
		var ch Channel
		done := false
		err := c.tx(ctx, func(tx pgx.Tx) error {
			var contactID int64
			err := tx.QueryRow(ctx, `SELECT contact_id, channel FROM conversations
				WHERE draft IS NOT NULL AND expires_at < now() ORDER BY expires_at LIMIT 1
				FOR UPDATE SKIP LOCKED`).Scan(&contactID, &ch)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			conv, err := c.lockConversation(ctx, tx, contactID, ch, nil)
			if err != nil {
				return err
			}
			if err := c.fileExpired(ctx, tx, conv, &created); err != nil {
				return err
			}
			return saveConversation(ctx, tx, conv)
		})
		if err != nil || done {
			return err
		}
		for _, r := range created {
			c.created(r.id, ch, r.service, r.dept)
		}
	}
}

func saveConversation(ctx context.Context, tx pgx.Tx, conv *conversation) error {
	_, err := tx.Exec(ctx, `UPDATE conversations SET draft = NULL, expires_at = NULL,
		request_id = NULLIF($2, 0), updated_at = now() WHERE id = $1`, conv.ID, conv.LastRequest)
	return err
}

// sweepBlobsArgs is the hourly clean-up: stored files no row refers to
// (uploads whose request was refused after the file was written, downloads
// whose job gave up; an hour's grace covers work in flight), and the state
// of calls abandoned a day ago.
type sweepBlobsArgs struct{}

func (sweepBlobsArgs) Kind() string { return "sweep_blobs" }

type sweepBlobsWorker struct {
	river.WorkerDefaults[sweepBlobsArgs]
	core *Core
}

func (w *sweepBlobsWorker) Work(ctx context.Context, job *river.Job[sweepBlobsArgs]) error {
	// Calls whose end Twilio never reported leave their state behind too.
	if n, err := w.core.SweepChannelState(ctx, "voice:call:", 24*time.Hour); err != nil {
		return err
	} else if n > 0 {
		w.core.log.Info("removed the state of abandoned calls", "count", n)
	}
	return w.core.SweepBlobs(ctx)
}

// SweepBlobs removes stored files older than an hour that no row refers to.
func (c *Core) SweepBlobs(ctx context.Context) error {
	removed := 0
	err := c.blobs.Walk(func(sha string, mod time.Time) error {
		if time.Since(mod) < time.Hour || len(sha) != 64 {
			return nil
		}
		var known bool
		if err := c.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)`, sha).Scan(&known); err != nil {
			return dbErr(err)
		}
		if known {
			return nil
		}
		removed++
		return c.blobs.Remove(sha)
	})
	if removed > 0 {
		c.log.Info("removed unreferenced files", "count", removed)
	}
	return err
}

// periodicJobs are the jobs the elected leader runs on a schedule.
func periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return expireDraftsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return sweepBlobsArgs{}, nil }, nil),
	}
}
